/// What a UDP/4500 payload carries (RFC 3948 §2.2 and §2.3).
public enum NATTPayload: Hashable, Sendable {
    /// Four zero octets (the non-ESP marker) then an IKE message; `ikeOffset` is the IKE
    /// header's offset from the start of the UDP payload (always 4).
    case ike(ikeOffset: Int)
    /// The single octet 0xFF (NAT-keepalive, RFC 3948 §2.3).
    case keepalive
    /// UDP-encapsulated ESP: a non-zero SPI and a sequence number.
    case esp(ESPHeader)
    /// None of the above (RFC 3948 §2.2: such a packet is dropped): empty, 1–7 bytes other
    /// than a keepalive, or a marker-less payload too short for an ESP header.
    case invalid

    /// Non-ESP marker length (RFC 3948 §2.2).
    public static let nonESPMarkerLength = 4
    /// Bytes needed to tell the cases apart: SPI + sequence number.
    public static let classifyingLength = ESPHeader.length
    /// RFC 3948 §2.3.
    public static let keepaliveOctet: UInt8 = 0xFF

    @inlinable
    public static func classify(_ payload: UnsafeRawBufferPointer) -> NATTPayload {
        let count = payload.count
        if count == 1 { return payload[0] == keepaliveOctet ? .keepalive : .invalid }
        guard count >= nonESPMarkerLength else { return .invalid }
        let firstWord = payload.wireUInt32(at: 0)
        if firstWord == 0 { return .ike(ikeOffset: nonESPMarkerLength) }
        guard count >= ESPHeader.length else { return .invalid }
        return .esp(ESPHeader(spi: firstWord, sequenceNumber: payload.wireUInt32(at: 4)))
    }

    @inlinable
    public static func classify(_ payload: [UInt8]) -> NATTPayload {
        payload.withUnsafeBytes { classify($0) }
    }
}
