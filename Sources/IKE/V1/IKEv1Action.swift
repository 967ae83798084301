import ESP
import SLBWire

/// IOS-style ISAKMP SA states, as `show crypto isakmp sa` prints them.
public enum ISAKMPSAState: String, Hashable, Sendable {
    /// MM1 sent or received, nothing agreed.
    case mmNoState = "MM_NO_STATE"
    /// Proposal agreed (MM2), key exchange under way.
    case mmSASetup = "MM_SA_SETUP"
    /// Keys derived (MM3/MM4), identities not yet verified.
    case mmKeyExchange = "MM_KEY_EXCH"
    /// Phase 1 complete: ready for quick mode.
    case qmIdle = "QM_IDLE"
}

/// What an ISAKMP SA looks like to the edge (logging, `show crypto isakmp sa`).
public struct ISAKMPSAInfo: Hashable, Sendable {
    public var cookies: ISAKMPCookies
    public var isInitiator: Bool
    public var local: IKEEndpoint
    public var peer: IKEEndpoint
    public var state: ISAKMPSAState
    public var suite: IKEv1Phase1Suite?
    public var peerIdentity: ISAKMPIdentification?
    public var connectionID: Int
    public var nat: NATStatus
    public var peerSupportsDPD: Bool
}

/// NAT detection outcome of main mode (RFC 3947 §3.2).
public struct NATStatus: Hashable, Sendable {
    /// Our address/port was translated on the way (the peer's first NAT-D did not match us).
    public var localBehindNAT: Bool
    /// The peer's address/port was translated (none of its own NAT-D hashes matched).
    public var peerBehindNAT: Bool
    public init(localBehindNAT: Bool = false, peerBehindNAT: Bool = false) {
        self.localBehindNAT = localBehindNAT
        self.peerBehindNAT = peerBehindNAT
    }
    public var detected: Bool { localBehindNAT || peerBehindNAT }
}

/// An ESP SA pair from quick mode, ready for the ESP target (`child.inboundSA(now:lifetime:)`).
public struct IKEv1ChildSA: Hashable, Sendable {
    public var child: ChildSA
    public var isakmp: ISAKMPCookies
    /// Hard limits negotiated in quick mode (RFC 2407 §4.5 life type/duration).
    public var lifetime: ESPLifetime
    /// Encapsulation mode attribute as negotiated (1 tunnel, 3 UDP-encapsulated tunnel).
    public var encapsulationMode: UInt64
}

public enum IKEv1DropReason: String, Hashable, Sendable {
    case malformed, unknownCookies, unexpectedMessage, decryptionFailed, hashMismatch
    case authenticationFailed, noPreSharedKey, tableFull, notSupported, unexpectedAcknowledgement
}

public enum IKEv1Failure: Hashable, Sendable {
    case notified(ISAKMPNotifyType)
    case noAcceptableProposal
    case authenticationFailed
    case timeout
}

public enum IKEv1DeleteReason: String, Hashable, Sendable {
    case expired, deletedByPeer, deletedLocally, peerDead, negotiationTimeout
    /// A new SA from the same peer carried INITIAL-CONTACT: the peer lost this one.
    case replacedByInitialContact
}

/// Everything the IKEv1 machines ask their edge to do, in order.
public enum IKEv1Action: Hashable, Sendable {
    /// Send a datagram. For port 4500 the edge prepends the non-ESP marker (RFC 3948 §2.2).
    case send([UInt8], to: IKEEndpoint, from: IKEEndpoint)
    /// NAT detected in MM3/MM4 (RFC 3947 §3.2); `floatedTo` is our new local endpoint when
    /// this end moves to 4500 (the initiator from MM5 on, RFC 3947 §4).
    case natDetected(ISAKMPCookies, NATStatus, floatedTo: IKEEndpoint?)
    case phase1Established(ISAKMPSAInfo)
    case installChildSA(IKEv1ChildSA)
    case deleteChildSA(inboundSPI: UInt32, outboundSPI: UInt32, isakmp: ISAKMPCookies, reason: IKEv1DeleteReason)
    /// The ISAKMP SA is gone (its ESP SAs were deleted or moved before this action).
    case deleteISAKMPSA(ISAKMPCookies, reason: IKEv1DeleteReason)
    /// Phase 1 expired while the peer's newer ISAKMP SA (same address and identity: its
    /// phase-1 rekey) was up: these ESP SAs now belong to that one (`to`, conn-id) and live
    /// on to their own lifetime, as on IOS; only the old ISAKMP SA is deleted.
    case childSAsMoved(inboundSPIs: [UInt32], from: ISAKMPCookies, to: ISAKMPCookies, connectionID: Int)
    /// An R-U-THERE-ACK matched our outstanding probe (RFC 3706 §5.6).
    case peerAlive(ISAKMPCookies)
    /// DPD retries exhausted (RFC 3706 §5.5); followed by the deletes.
    case peerDead(ISAKMPCookies)
    /// Call `handleTimers(now:)` at (or after) this time; replaces any earlier request.
    case schedule(at: MonotonicTime)
    case failed(IKEv1Failure)
    case dropped(IKEv1DropReason)
}

/// Dead Peer Detection settings (RFC 3706 §5; IOS `crypto isakmp keepalive SECS [RETRY] [periodic]`).
public struct DPDPolicy: Hashable, Sendable {
    /// Idle time after which the peer's liveness is in question.
    public var interval: TimeSpan
    /// Wait between unanswered R-U-THEREs (IOS default 2 s).
    public var retryInterval: TimeSpan
    /// R-U-THEREs sent after the first one before the peer is declared dead (IOS: 5).
    public var retries: Int
    /// Probe after every idle `interval` (IOS `periodic`); otherwise only when we have
    /// outbound traffic and heard nothing for `interval` (RFC 3706 §5.3, IOS on-demand).
    public var periodic: Bool

    public init(interval: TimeSpan, retryInterval: TimeSpan = .seconds(2), retries: Int = 5, periodic: Bool = false) {
        self.interval = interval
        self.retryInterval = retryInterval
        self.retries = retries
        self.periodic = periodic
    }
}
