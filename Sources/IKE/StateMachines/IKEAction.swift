import SLBWire

/// An installed ESP Child SA pair, as both peers derived it (RFC 7296 §2.17). This is what the
/// ESP target's SAs are built from: `inboundSPI`/`inboundKeys` decrypt what the peer sends.
public struct ChildSA: Hashable, Sendable {
    public var inboundSPI: UInt32
    public var outboundSPI: UInt32
    public var suite: ESPSuite
    public var inboundKeys: ChildSAKeys
    public var outboundKeys: ChildSAKeys
    /// Our side (TSr for the gateway) and the peer's side (TSi for the gateway).
    public var localSelectors: [TrafficSelector]
    public var remoteSelectors: [TrafficSelector]
    /// ESP-in-UDP (RFC 3948) because a NAT was detected or faked (§2.23).
    public var udpEncapsulation: Bool
}

/// Identifies an IKE SA by its two SPIs as they appear in every header.
public struct IKESAIdentifier: Hashable, Sendable, CustomStringConvertible {
    public var spiI: UInt64
    public var spiR: UInt64
    public init(spiI: UInt64, spiR: UInt64) { self.spiI = spiI; self.spiR = spiR }
    public var description: String {
        func hex(_ v: UInt64) -> String { let s = String(v, radix: 16); return String(repeating: "0", count: 16 - s.count) + s }
        return "\(hex(spiI))_i \(hex(spiR))_r"
    }
}

/// What an established IKE SA looks like to the edge (logging, `show`, metrics).
public struct IKESAInfo: Hashable, Sendable {
    public var id: IKESAIdentifier
    public var local: IKEEndpoint
    public var peer: IKEEndpoint
    public var suite: IKESuite
    public var peerIdentity: IdentificationPayload
    public var virtualAddress: IPv4Address?
    public var udpEncapsulation: Bool
}

/// Why an input was dropped without an answer (for counters; RFC 7296 §2.21 allows silence).
public enum DropReason: String, Hashable, Sendable {
    case malformed, notIKEv2, unknownSPI, unexpectedMessage, outsideWindow
    case integrityCheckFailed, retransmissionMismatch, tableFull, invalidResponse
}

/// Why the initiator gave up.
public enum IKEFailure: Hashable, Sendable {
    case notified(NotifyType)
    case noAcceptableProposal
    case authenticationFailed
    case invalidResponse(String)
    case timeout
}

/// Everything a state machine asks its edge to do. The edge performs them in order.
public enum IKEAction: Hashable, Sendable {
    /// Send a datagram. For port 4500 the edge prepends the non-ESP marker (RFC 3948 §2.2).
    case send([UInt8], to: IKEEndpoint, from: IKEEndpoint)
    case established(IKESAInfo)
    case installChildSA(ChildSA, ike: IKESAIdentifier)
    case deleteChildSA(inboundSPI: UInt32, outboundSPI: UInt32, ike: IKESAIdentifier)
    /// The IKE SA is gone (its Child SAs were deleted or moved before this action).
    case deleteIKESA(IKESAIdentifier)
    /// The IKE SA's keys moved to a new SA (§2.18); Child SAs now belong to `new`.
    case rekeyedIKESA(old: IKESAIdentifier, new: IKESAInfo)
    /// Call `handleTimers(now:)` at (or after) this time; replaces any earlier request.
    case schedule(at: MonotonicTime)
    case failed(IKEFailure)
    case dropped(DropReason)
}
