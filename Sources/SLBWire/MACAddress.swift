/// A 48-bit IEEE 802 MAC address, held in the low 48 bits of a `UInt64` so it hashes and
/// compares as an integer (the dataplane keys per-real neighbour state on it).
public struct MACAddress: Hashable, Sendable, CustomStringConvertible {
    public let value: UInt64

    @inlinable public init(_ value: UInt64) { self.value = value & 0xFFFF_FFFF_FFFF }

    @inlinable public init(_ a: UInt8, _ b: UInt8, _ c: UInt8, _ d: UInt8, _ e: UInt8, _ f: UInt8) {
        value = UInt64(a) << 40 | UInt64(b) << 32 | UInt64(c) << 24 | UInt64(d) << 16
            | UInt64(e) << 8 | UInt64(f)
    }

    public static let zero = MACAddress(0)
    public static let broadcast = MACAddress(0xFFFF_FFFF_FFFF)

    /// `aa:bb:cc:dd:ee:ff` (also accepts `-` separators); exactly six two-digit hex groups.
    public init?<S: StringProtocol>(_ text: S) {
        var result: UInt64 = 0
        var groups = 0
        var digits = 0
        for byte in text.utf8 {
            let nibble: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): nibble = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): nibble = byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): nibble = byte - UInt8(ascii: "A") + 10
            case UInt8(ascii: ":"), UInt8(ascii: "-"):
                guard digits == 2, groups < 5 else { return nil }
                groups += 1; digits = 0
                continue
            default: return nil
            }
            digits += 1
            guard digits <= 2 else { return nil }
            result = result << 4 | UInt64(nibble)
        }
        guard groups == 5, digits == 2 else { return nil }
        value = result
    }

    public var isBroadcast: Bool { value == 0xFFFF_FFFF_FFFF }
    /// The I/G bit of the first octet (IEEE 802-2014 §8.2).
    public var isMulticast: Bool { value & 0x0100_0000_0000 != 0 }

    public var description: String {
        let hex: [Character] = Array("0123456789abcdef")
        var text = ""
        text.reserveCapacity(17)
        for index in 0..<6 {
            let octet = Int((value >> UInt64(40 - 8 * index)) & 0xFF)
            if index > 0 { text.append(":") }
            text.append(hex[octet >> 4])
            text.append(hex[octet & 0xF])
        }
        return text
    }

    @inlinable static func read(_ bytes: UnsafeRawBufferPointer, at offset: Int) -> MACAddress {
        var value: UInt64 = 0
        for index in 0..<6 { value = value << 8 | UInt64(bytes[offset + index]) }
        return MACAddress(value)
    }

    @inlinable func write(to bytes: UnsafeMutableRawBufferPointer, at offset: Int) {
        for index in 0..<6 {
            bytes[offset + index] = UInt8(truncatingIfNeeded: value >> UInt64(40 - 8 * index))
        }
    }

    @usableFromInline func append(to bytes: inout [UInt8]) {
        for index in 0..<6 { bytes.append(UInt8(truncatingIfNeeded: value >> UInt64(40 - 8 * index))) }
    }
}
