/// The Internet checksum (RFC 1071): the 16-bit one's complement of the one's complement sum
/// of the data taken as big-endian 16-bit words, and its incremental update (RFC 1624).
///
/// `InternetChecksum` is the running sum. It accumulates into 64 bits and folds the carries
/// only when read (RFC 1071 §2(B) "deferred carries"), so a 64 KiB datagram cannot overflow.
public struct InternetChecksum: Hashable, Sendable {
    @usableFromInline var accumulator: UInt64

    @inlinable public init() { accumulator = 0 }

    /// Adds bytes as big-endian words. An odd trailing byte is padded with a zero byte
    /// (RFC 1071 §4.1), so only the last chunk of a sum may have odd length.
    @inlinable public mutating func add(_ bytes: UnsafeRawBufferPointer) {
        var index = 0
        let count = bytes.count
        var sum = accumulator
        while index + 1 < count {
            sum &+= UInt64(bytes[index]) << 8 | UInt64(bytes[index + 1])
            index += 2
        }
        if index < count { sum &+= UInt64(bytes[index]) << 8 }
        accumulator = sum
    }

    @inlinable public mutating func add(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { add($0) }
    }

    @inlinable public mutating func add(_ word: UInt16) { accumulator &+= UInt64(word) }

    @inlinable public mutating func add(_ address: IPv4Address) {
        accumulator &+= UInt64(address.value >> 16) &+ UInt64(address.value & 0xFFFF)
    }

    /// Adds the UDP/TCP pseudo-header (RFC 768, RFC 9293 §3.1): source, destination, zero,
    /// protocol, transport length.
    @inlinable public mutating func addPseudoHeader(source: IPv4Address, destination: IPv4Address,
                                                     protocol ipProtocol: IPProtocol, length: UInt16) {
        add(source)
        add(destination)
        add(UInt16(ipProtocol.rawValue))
        add(length)
    }

    /// The one's complement sum folded to 16 bits (not complemented). This is what the
    /// checksum field holds for a CHECKSUM_PARTIAL frame: the pseudo-header sum.
    @inlinable public var folded: UInt16 {
        var sum = accumulator
        while sum > 0xFFFF { sum = (sum & 0xFFFF) &+ (sum >> 16) }
        return UInt16(truncatingIfNeeded: sum)
    }

    /// The value to store in a checksum field.
    @inlinable public var checksum: UInt16 { ~folded }

    /// True when the data summed includes its own correct checksum field (RFC 1071 §1:
    /// the receiver's sum is all ones).
    @inlinable public var verifies: Bool { folded == 0xFFFF }

    /// The checksum of `bytes` in one call.
    @inlinable public static func checksum(_ bytes: UnsafeRawBufferPointer) -> UInt16 {
        var sum = InternetChecksum()
        sum.add(bytes)
        return sum.checksum
    }

    @inlinable public static func checksum(_ bytes: [UInt8]) -> UInt16 {
        bytes.withUnsafeBytes { checksum($0) }
    }

    /// RFC 1624 §3, eqn. 3: HC' = ~(~HC + ~m + m'), for one 16-bit field changing from `old`
    /// to `new`. Eqn. 3 (not RFC 1141's eqn. 2) so a result of +0 is never turned into -0.
    @inlinable public static func update(_ checksum: UInt16, old: UInt16, new: UInt16) -> UInt16 {
        var sum = UInt32(~checksum) &+ UInt32(~old) &+ UInt32(new)
        sum = (sum & 0xFFFF) &+ (sum >> 16)
        sum = (sum & 0xFFFF) &+ (sum >> 16)
        return ~UInt16(truncatingIfNeeded: sum)
    }

    /// RFC 1624 eqn. 3 for a 32-bit field (an IPv4 address), i.e. two 16-bit words at once.
    @inlinable public static func update(_ checksum: UInt16, old32 old: UInt32, new32 new: UInt32) -> UInt16 {
        var sum = UInt64(~checksum)
            &+ UInt64(~UInt16(truncatingIfNeeded: old >> 16)) &+ UInt64(~UInt16(truncatingIfNeeded: old))
            &+ UInt64(new >> 16) &+ UInt64(new & 0xFFFF)
        while sum > 0xFFFF { sum = (sum & 0xFFFF) &+ (sum >> 16) }
        return ~UInt16(truncatingIfNeeded: sum)
    }

    /// The UDP rules on top of RFC 1624 (RFC 768): a zero checksum means "none computed" and
    /// stays zero; a computed zero is sent as all ones.
    @inlinable public static func updateUDP(_ checksum: UInt16, old: UInt16, new: UInt16) -> UInt16 {
        guard checksum != 0 else { return 0 }
        let result = update(checksum, old: old, new: new)
        return result == 0 ? 0xFFFF : result
    }

    @inlinable public static func updateUDP(_ checksum: UInt16, old32 old: UInt32, new32 new: UInt32) -> UInt16 {
        guard checksum != 0 else { return 0 }
        let result = update(checksum, old32: old, new32: new)
        return result == 0 ? 0xFFFF : result
    }
}
