import SLBWire

/// What the gateway does with a decrypted inner packet (tunnel mode, RFC 4303 §3.1.2).
public enum InnerVerdict: Equatable, Sendable {
    /// An ICMP echo reply to send back through the same Child SA.
    case echoReply([UInt8])
    /// Valid traffic the gateway only counts (no routing beyond the tunnel here).
    case other
    /// Not a usable IPv4 packet.
    case malformed
    /// Outside the Child SA's traffic selectors (RFC 4301 §5.2: inbound selector check).
    case selectorMismatch
}

/// Handles inner IPv4 packets: answers ICMP echo addressed to the gateway's own inside
/// addresses (RFC 792: swap addresses, type 0, same identifier/sequence/data), counts the rest.
public enum InnerTraffic {
    /// Reply TTL (RFC 1700's default 64, what Linux uses).
    static let replyTTL: UInt8 = 64

    public static func handle(_ packet: [UInt8], localAddresses: Set<IPv4Address>,
                              allowedSources: [ClosedRange<UInt32>], allowedDestinations: [ClosedRange<UInt32>]) -> InnerVerdict {
        let parsed = packet.withUnsafeBytes { IPv4Header.parse($0, at: 0, verifyChecksum: true) }
        guard case .success(let ip) = parsed else { return .malformed }
        guard allowedSources.contains(where: { $0.contains(ip.source.value) }),
              allowedDestinations.contains(where: { $0.contains(ip.destination.value) }) else {
            return .selectorMismatch
        }
        guard ip.ipProtocol == .icmp, !ip.fragment.isFragment, localAddresses.contains(ip.destination) else { return .other }
        let icmpStart = ip.headerLength
        let icmpEnd = ip.totalLength
        guard icmpEnd - icmpStart >= ICMPMessage.headerLength, packet[icmpStart] == ICMPMessage.echoRequest,
              packet[icmpStart + 1] == 0 else { return .other }
        let icmpValid = packet.withUnsafeBytes { raw -> Bool in
            var sum = InternetChecksum()
            sum.add(UnsafeRawBufferPointer(rebasing: raw[icmpStart..<icmpEnd]))
            return sum.verifies
        }
        guard icmpValid else { return .malformed }

        // Trailing bytes past the IP total length (none expected after ESP) are not echoed.
        var reply = Array(packet[0..<icmpEnd])
        writeAddress(&reply, ip.destination, at: IPv4Header.sourceOffset)
        writeAddress(&reply, ip.source, at: IPv4Header.destinationOffset)
        reply[IPv4Header.ttlOffset] = replyTTL
        reply[icmpStart] = ICMPMessage.echoReply
        reply[icmpStart + ICMPMessage.checksumOffset] = 0
        reply[icmpStart + ICMPMessage.checksumOffset + 1] = 0
        let icmpSum = reply.withUnsafeBytes { InternetChecksum.checksum(UnsafeRawBufferPointer(rebasing: $0[icmpStart..<icmpEnd])) }
        reply[icmpStart + ICMPMessage.checksumOffset] = UInt8(icmpSum >> 8)
        reply[icmpStart + ICMPMessage.checksumOffset + 1] = UInt8(icmpSum & 0xFF)
        reply[IPv4Header.checksumOffset] = 0
        reply[IPv4Header.checksumOffset + 1] = 0
        let ipSum = reply.withUnsafeBytes { InternetChecksum.checksum(UnsafeRawBufferPointer(rebasing: $0[0..<icmpStart])) }
        reply[IPv4Header.checksumOffset] = UInt8(ipSum >> 8)
        reply[IPv4Header.checksumOffset + 1] = UInt8(ipSum & 0xFF)
        return .echoReply(reply)
    }

    static func writeAddress(_ bytes: inout [UInt8], _ a: IPv4Address, at offset: Int) {
        bytes[offset] = UInt8(a.value >> 24)
        bytes[offset + 1] = UInt8((a.value >> 16) & 0xFF)
        bytes[offset + 2] = UInt8((a.value >> 8) & 0xFF)
        bytes[offset + 3] = UInt8(a.value & 0xFF)
    }
}
