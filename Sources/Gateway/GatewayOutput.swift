import IKE
import SLBWire

/// A datagram the gateway core wants on the wire. The loop picks the socket bound to the
/// `from` address (and port for UDP); IKE on 4500 already carries the non-ESP marker.
public enum GatewayOutput: Equatable, Sendable {
    case udp([UInt8], from: IKEEndpoint, to: IKEEndpoint)
    case rawESP([UInt8], from: IPv4Address, to: IPv4Address)
}

/// How a Child SA's ESP packets travel (RFC 3948 or plain IP protocol 50).
public enum ESPFraming: Hashable, Sendable {
    case raw
    case udp(peerPort: UInt16)
}

/// Named drop and event counters. Only touched off the happy path (drops, keepalives), so
/// a dictionary keyed by string is fine.
public struct GatewayCounters: Sendable {
    public private(set) var values: [String: UInt64] = [:]
    public init() {}
    public mutating func count(_ name: String) { values[name, default: 0] &+= 1 }
    public subscript(name: String) -> UInt64 { values[name] ?? 0 }
}

/// Something an operator wants in the log (never per packet).
public enum GatewayEvent: Equatable, Sendable {
    case ikeEstablished(IKESAIdentifier, peer: IKEEndpoint, identity: String, tunnelID: Int)
    case ikeDeleted(IKESAIdentifier)
    case ikeRekeyed(old: IKESAIdentifier, new: IKESAIdentifier)
    case childInstalled(inboundSPI: UInt32, outboundSPI: UInt32, udpEncapsulation: Bool, ike: IKESAIdentifier)
    case childDeleted(inboundSPI: UInt32)
    case childExpired(inboundSPI: UInt32)
    /// The gateway started a CREATE_CHILD_SA rekey at the soft lifetime.
    case childRekeyStarted(inboundSPI: UInt32)
    /// The IKE SA reached `ikeLifetime` without a rekey; D(IKE) sent.
    case ikeExpired(IKESAIdentifier)
    case ikeFailed(String)
    /// IKEv1 (GatewayCore+IKEv1.swift).
    case ikev1Event(IKEv1LogEvent)
}

extension GatewayEvent {
    /// An IKEv1 event: message plus dotted metadata (`isakmp.cookies`, `esp.spi_in`, …);
    /// `notice` for refusals, failures and dead peers.
    public static func ikev1(_ message: String, _ metadata: [String: String], notice: Bool = false) -> GatewayEvent {
        .ikev1Event(IKEv1LogEvent(message: message, metadata: metadata, notice: notice))
    }
}

public struct IKEv1LogEvent: Equatable, Sendable {
    public var message: String
    public var metadata: [String: String]
    public var notice: Bool
}
