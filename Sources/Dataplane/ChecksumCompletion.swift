/// Finishes the layer-4 checksum of a frame read from a packet socket before it is forwarded.
///
/// A sender with TX checksum offload (every veth by default) hands the kernel a UDP datagram
/// whose checksum field holds only the pseudo-header sum (CHECKSUM_PARTIAL); a packet socket
/// sees it that way. Forwarded as is, the gateway counts `Udp InCsumErrors` and drops it.
/// Completing it is the RFC 1071 sum over the UDP header and data, the partial field included
/// (it already holds the pseudo-header part), complemented.
public enum ChecksumCompletion {
    static let ethernetHeader = 14
    static let etherTypeIPv4: UInt16 = 0x0800
    static let udp: UInt8 = 17
    /// RFC 768: the checksum field is at offset 6 of the UDP header; 0 means "none sent", so a
    /// computed 0 is sent as 0xFFFF.
    static let udpChecksumOffset = 6

    public enum Outcome: Hashable, Sendable {
        case unchanged
        case completed
        case recomputed
        /// Not an Ethernet/IPv4/UDP frame whose checksum can be worked on (ESP has none; a
        /// fragment's checksum covers the whole datagram).
        case notApplicable
    }

    @discardableResult
    public static func complete(_ frame: UnsafeMutableRawBufferPointer, state: ChecksumState) -> Outcome {
        if state == .complete { return .unchanged }
        guard frame.count >= ethernetHeader + 20,
              UInt16(frame[12]) << 8 | UInt16(frame[13]) == etherTypeIPv4 else { return .notApplicable }
        let ip = ethernetHeader
        let headerLength = Int(frame[ip] & 0x0f) * 4
        let totalLength = Int(UInt16(frame[ip + 2]) << 8 | UInt16(frame[ip + 3]))
        let fragment = UInt16(frame[ip + 6]) << 8 | UInt16(frame[ip + 7])
        guard frame[ip] >> 4 == 4, headerLength >= 20, frame[ip + 9] == udp,
              fragment & 0x3fff == 0,                               // MF clear, offset 0
              totalLength >= headerLength + 8, ip + totalLength <= frame.count else { return .notApplicable }
        let l4 = ip + headerLength
        let l4Length = totalLength - headerLength
        let field = l4 + udpChecksumOffset
        var sum: UInt32
        switch state {
        case .complete:
            return .unchanged
        case .partial:
            sum = 0
        case .unknown:
            // No checksum sent (0): leave it so (RFC 768).
            if frame[field] == 0 && frame[field + 1] == 0 { return .unchanged }
            frame[field] = 0
            frame[field + 1] = 0
            // Pseudo-header: source, destination, zero+protocol, UDP length.
            sum = onesComplementSum(UnsafeRawBufferPointer(rebasing: frame[(ip + 12)..<(ip + 20)]))
            sum &+= UInt32(udp) &+ UInt32(l4Length)
        }
        sum &+= onesComplementSum(UnsafeRawBufferPointer(rebasing: frame[l4..<(l4 + l4Length)]))
        var folded = fold(sum)
        folded = ~folded
        if folded == 0 { folded = 0xffff }
        frame[field] = UInt8(folded >> 8)
        frame[field + 1] = UInt8(truncatingIfNeeded: folded)
        return state == .partial ? .completed : .recomputed
    }

    /// RFC 1071 §4.1, big-endian 16-bit words, an odd last byte padded with zero.
    static func onesComplementSum(_ bytes: UnsafeRawBufferPointer) -> UInt32 {
        var sum: UInt32 = 0
        var index = 0
        let count = bytes.count
        while index + 1 < count {
            sum &+= UInt32(bytes[index]) << 8 | UInt32(bytes[index + 1])
            index += 2
            if sum & 0x8000_0000 != 0 { sum = (sum & 0xffff) + (sum >> 16) }
        }
        if index < count { sum &+= UInt32(bytes[index]) << 8 }
        return sum
    }

    static func fold(_ value: UInt32) -> UInt16 {
        var sum = value
        while sum > 0xffff { sum = (sum & 0xffff) + (sum >> 16) }
        return UInt16(sum)
    }

    /// True when a UDP frame's checksum verifies (or none was sent): what the gateway checks.
    public static func udpChecksumIsValid(_ frame: UnsafeRawBufferPointer) -> Bool? {
        guard frame.count >= ethernetHeader + 28 else { return nil }
        let ip = ethernetHeader
        let headerLength = Int(frame[ip] & 0x0f) * 4
        let totalLength = Int(UInt16(frame[ip + 2]) << 8 | UInt16(frame[ip + 3]))
        guard frame[ip + 9] == udp, headerLength >= 20, ip + totalLength <= frame.count,
              totalLength >= headerLength + 8 else { return nil }
        let l4 = ip + headerLength
        if frame[l4 + 6] == 0 && frame[l4 + 7] == 0 { return true }
        var sum = onesComplementSum(UnsafeRawBufferPointer(rebasing: frame[(ip + 12)..<(ip + 20)]))
        sum &+= UInt32(udp) &+ UInt32(totalLength - headerLength)
        sum &+= onesComplementSum(UnsafeRawBufferPointer(rebasing: frame[l4..<(ip + totalLength)]))
        return fold(sum) == 0xffff
    }
}
