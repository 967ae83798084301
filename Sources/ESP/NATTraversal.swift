// UDP encapsulation of ESP (RFC 3948). Port 4500 carries three things: NAT keepalives, IKE
// behind a 4-byte non-ESP marker, and ESP packets starting at the SPI. Raw ESP (IP protocol
// 50) carries the same ESP bytes with no demux; the ESP packet format is identical in both.

/// RFC 3948 §2.2: four zero octets where an ESP SPI would be.
public let nonESPMarker: [UInt8] = [0, 0, 0, 0]
/// RFC 3948 §2.3: a keepalive is one octet, 0xFF.
public let natKeepaliveByte: UInt8 = 0xFF
/// RFC 7296 §3.1: the fixed IKE header, the least a marked datagram must carry.
let ikeHeaderLength = 28

/// What a UDP/4500 payload is.
public enum NATTDatagram: Hashable, Sendable {
    /// An IKE message; the slice starts after the non-ESP marker.
    case ike(ArraySlice<UInt8>)
    /// An ESP packet: the whole payload, SPI first.
    case esp
    /// A NAT keepalive: drop silently.
    case keepalive
    /// None of the above (too short, a one-byte datagram that is not 0xFF, marker without an
    /// IKE header): drop and count.
    case invalid
}

/// Demultiplexes a UDP/4500 payload (RFC 3948 §2.2, §2.3). SPI 0 is never ESP (RFC 4303 §2.1
/// reserves it), which is what makes the marker unambiguous.
public func classifyNATTDatagram(_ payload: [UInt8]) -> NATTDatagram {
    if payload.count == 1 {
        return payload[0] == natKeepaliveByte ? .keepalive : .invalid
    }
    guard payload.count >= nonESPMarker.count else { return .invalid }
    if payload[0] == 0 && payload[1] == 0 && payload[2] == 0 && payload[3] == 0 {
        guard payload.count >= nonESPMarker.count + ikeHeaderLength else { return .invalid }
        return .ike(payload[nonESPMarker.count...])
    }
    return payload.count >= espHeaderLength ? .esp : .invalid
}

/// An IKE message ready to send from/to port 4500: prefixed with the non-ESP marker.
public func markedIKEDatagram(_ ikeMessage: [UInt8]) -> [UInt8] {
    var datagram: [UInt8] = []
    datagram.reserveCapacity(nonESPMarker.count + ikeMessage.count)
    datagram.append(contentsOf: nonESPMarker)
    datagram.append(contentsOf: ikeMessage)
    return datagram
}
