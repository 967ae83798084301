/// An IPv4 address held as a host-order `UInt32`, so comparisons, masking and hashing are
/// integer operations on the hot path. Parse once at the boundary (config, CLI); never carry
/// dotted strings into the core.
public struct IPv4Address: Hashable, Comparable, Sendable, CustomStringConvertible, Codable {
    /// Host byte order: 192.0.2.1 is 0xC000_0201.
    public var value: UInt32

    @inlinable public init(_ value: UInt32) { self.value = value }

    @inlinable public init(_ a: UInt8, _ b: UInt8, _ c: UInt8, _ d: UInt8) {
        value = UInt32(a) << 24 | UInt32(b) << 16 | UInt32(c) << 8 | UInt32(d)
    }

    /// Strict dotted-quad: four decimal octets 0...255, no leading `+`, no empty parts,
    /// at most three digits each (so `0300.1.1.1` and `1.2.3` are rejected, unlike inet_aton).
    public init?<S: StringProtocol>(_ text: S) {
        var result: UInt32 = 0
        var octet: UInt32 = 0
        var digits = 0
        var dots = 0
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"):
                digits += 1
                guard digits <= 3 else { return nil }
                octet = octet * 10 + UInt32(byte - UInt8(ascii: "0"))
                guard octet <= 255 else { return nil }
            case UInt8(ascii: "."):
                guard digits > 0, dots < 3 else { return nil }
                result = result << 8 | octet
                octet = 0; digits = 0; dots += 1
            default:
                return nil
            }
        }
        guard dots == 3, digits > 0 else { return nil }
        value = result << 8 | octet
    }

    public var octets: (UInt8, UInt8, UInt8, UInt8) {
        (UInt8(truncatingIfNeeded: value >> 24), UInt8(truncatingIfNeeded: value >> 16),
         UInt8(truncatingIfNeeded: value >> 8), UInt8(truncatingIfNeeded: value))
    }

    public var description: String {
        let o = octets
        return "\(o.0).\(o.1).\(o.2).\(o.3)"
    }

    @inlinable public static func < (lhs: IPv4Address, rhs: IPv4Address) -> Bool { lhs.value < rhs.value }

    @inlinable public func masked(by mask: IPv4Mask) -> IPv4Address { IPv4Address(value & mask.value) }

    public init(from decoder: Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let address = IPv4Address(text) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath,
                                                    debugDescription: "not an IPv4 address: \(text)"))
        }
        self = address
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}

/// A contiguous IPv4 netmask (255.255.255.0). IOS writes masks in dotted form; a
/// non-contiguous mask is a configuration error, so this type cannot hold one.
public struct IPv4Mask: Hashable, Sendable, CustomStringConvertible, Codable {
    public let value: UInt32

    public static let host = IPv4Mask(prefixLength: 32)!
    public static let any = IPv4Mask(prefixLength: 0)!

    public init?(prefixLength: Int) {
        guard (0...32).contains(prefixLength) else { return nil }
        value = prefixLength == 0 ? 0 : UInt32.max << UInt32(32 - prefixLength)
    }

    /// nil when the bits are not contiguous ones followed by zeros.
    public init?(_ value: UInt32) {
        guard value == 0 || (~value & (~value &+ 1)) == 0 else { return nil }
        self.value = value
    }

    public init?<S: StringProtocol>(_ text: S) {
        guard let address = IPv4Address(text) else { return nil }
        self.init(address.value)
    }

    public var prefixLength: Int { value.nonzeroBitCount }
    public var description: String { IPv4Address(value).description }

    public init(from decoder: Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let mask = IPv4Mask(text) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath,
                                                    debugDescription: "not a contiguous IPv4 mask: \(text)"))
        }
        self = mask
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}

/// An address with a mask, as IOS writes `client 192.0.2.0 255.255.255.0`.
public struct IPv4Network: Hashable, Sendable, CustomStringConvertible, Codable {
    public let address: IPv4Address   // always stored masked
    public let mask: IPv4Mask

    public init(address: IPv4Address, mask: IPv4Mask) {
        self.address = address.masked(by: mask)
        self.mask = mask
    }

    @inlinable public func contains(_ host: IPv4Address) -> Bool {
        host.value & mask.value == address.value
    }

    /// True when the two networks share at least one address.
    public func overlaps(_ other: IPv4Network) -> Bool {
        let common = mask.value & other.mask.value
        return address.value & common == other.address.value & common
    }

    public var description: String { "\(address)/\(mask.prefixLength)" }
}

/// An IP protocol number (RFC 790 / IANA). A struct, not an enum, so any byte off the wire
/// is representable and unknown protocols are counted rather than trapping.
public struct IPProtocol: RawRepresentable, Hashable, Sendable, CustomStringConvertible, Codable {
    public let rawValue: UInt8
    @inlinable public init(rawValue: UInt8) { self.rawValue = rawValue }

    public static let icmp = IPProtocol(rawValue: 1)
    public static let tcp = IPProtocol(rawValue: 6)
    public static let udp = IPProtocol(rawValue: 17)
    public static let gre = IPProtocol(rawValue: 47)
    public static let esp = IPProtocol(rawValue: 50)

    /// The names IOS prints in the `prot` column of `show ip slb conns` / `vservers`.
    public var description: String {
        switch rawValue {
        case 1: "ICMP"
        case 6: "TCP"
        case 17: "UDP"
        case 47: "GRE"
        case 50: "ESP"
        default: String(rawValue)
        }
    }
}
