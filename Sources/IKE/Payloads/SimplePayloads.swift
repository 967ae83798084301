// Payloads with a small fixed header and one data field (RFC 7296 §3.4, §3.5, §3.8, §3.9,
// §3.12). Each parse/serialize pair sits under its diagram.

/// Key Exchange payload body (§3.4).
/// ```
/// |   Diffie-Hellman Group Num    |           RESERVED            |
/// ~                       Key Exchange Data                       ~
/// ```
public struct KeyExchangePayload: Hashable, Sendable {
    public var group: UInt16
    public var data: [UInt8]
    public init(group: UInt16, data: [UInt8]) { self.group = group; self.data = data }

    public static func parse(_ body: ArraySlice<UInt8>) throws -> KeyExchangePayload {
        var r = WireReader(body)
        let group = try r.u16("DH group")
        _ = try r.u16("KE reserved")
        return KeyExchangePayload(group: group, data: r.remainder())
    }

    public func serialize(into out: inout [UInt8]) {
        out.appendU16(group)
        out.appendU16(0)
        out += data
    }
}

/// Identification payload body, IDi and IDr (§3.5).
/// ```
/// |   ID Type     |                 RESERVED                      |
/// ~                   Identification Data                         ~
/// ```
/// The reserved octets are kept as received: AUTH is computed over the body "as received"
/// (§2.15), so re-serialising must reproduce it bit for bit.
public struct IdentificationPayload: Hashable, Sendable {
    public struct IDType: RawRepresentable, Hashable, Sendable {
        public let rawValue: UInt8
        public init(rawValue: UInt8) { self.rawValue = rawValue }
        public static let ipv4Address = IDType(rawValue: 1)
        public static let fqdn = IDType(rawValue: 2)
        public static let rfc822Address = IDType(rawValue: 3)
        public static let ipv6Address = IDType(rawValue: 5)
        public static let derASN1DN = IDType(rawValue: 9)
        public static let keyID = IDType(rawValue: 11)
    }

    public var type: IDType
    public var reserved: [UInt8]
    public var data: [UInt8]

    public init(type: IDType, data: [UInt8]) {
        self.type = type
        self.reserved = [0, 0, 0]
        self.data = data
    }

    public static func ipv4(_ address: IPv4AddressBytes) -> IdentificationPayload {
        IdentificationPayload(type: .ipv4Address, data: address)
    }
    public static func fqdn(_ name: String) -> IdentificationPayload {
        IdentificationPayload(type: .fqdn, data: Array(name.utf8))
    }

    public static func parse(_ body: ArraySlice<UInt8>) throws -> IdentificationPayload {
        var r = WireReader(body)
        let type = IDType(rawValue: try r.u8("ID type"))
        let reserved = try r.array(3, "ID reserved")
        var id = IdentificationPayload(type: type, data: r.remainder())
        id.reserved = reserved
        if type == .ipv4Address, id.data.count != 4 {
            throw IKEError(.invalidSyntax, "ID_IPV4_ADDR with \(id.data.count) octets")
        }
        return id
    }

    public func serialize(into out: inout [UInt8]) {
        out.append(type.rawValue)
        out += reserved.count == 3 ? reserved : [0, 0, 0]
        out += data
    }

    /// "RestOfInitIDPayload" / "RestOfRespIDPayload" of §2.15.
    public var body: [UInt8] { var b: [UInt8] = []; serialize(into: &b); return b }
}

/// Four octets of an IPv4 address in network order.
public typealias IPv4AddressBytes = [UInt8]

/// Authentication payload body (§3.8).
/// ```
/// | Auth Method   |                RESERVED                       |
/// ~                      Authentication Data                      ~
/// ```
public struct AuthenticationPayload: Hashable, Sendable {
    /// §3.8: 2 = Shared Key Message Integrity Code.
    public static let sharedKeyMIC: UInt8 = 2
    public var method: UInt8
    public var data: [UInt8]
    public init(method: UInt8, data: [UInt8]) { self.method = method; self.data = data }

    public static func parse(_ body: ArraySlice<UInt8>) throws -> AuthenticationPayload {
        var r = WireReader(body)
        let method = try r.u8("auth method")
        _ = try r.bytes(3, "auth reserved")
        return AuthenticationPayload(method: method, data: r.remainder())
    }

    public func serialize(into out: inout [UInt8]) {
        out.append(method)
        out += [0, 0, 0]
        out += data
    }
}

/// Nonce payload body (§3.9): the nonce itself.
public struct NoncePayload: Hashable, Sendable {
    /// §3.9: "at least 128 bits in size, and at most 2048 bits".
    public static let minimumLength = 16
    public static let maximumLength = 256
    public var data: [UInt8]
    public init(data: [UInt8]) { self.data = data }

    public static func parse(_ body: ArraySlice<UInt8>) throws -> NoncePayload {
        guard (minimumLength...maximumLength).contains(body.count) else {
            throw IKEError(.invalidSyntax, "nonce of \(body.count) octets")
        }
        return NoncePayload(data: Array(body))
    }

    public func serialize(into out: inout [UInt8]) { out += data }
}

/// Notify payload body (§3.10).
/// ```
/// |  Protocol ID  |   SPI Size    |      Notify Message Type      |
/// ~                Security Parameter Index (SPI)                 ~
/// ~                       Notification Data                       ~
/// ```
public struct NotifyPayload: Hashable, Sendable {
    public var protocolID: ProtocolID
    public var spi: [UInt8]
    public var type: NotifyType
    public var data: [UInt8]

    public init(_ type: NotifyType, protocolID: ProtocolID = ProtocolID(rawValue: 0), spi: [UInt8] = [], data: [UInt8] = []) {
        self.protocolID = protocolID
        self.spi = spi
        self.type = type
        self.data = data
    }

    public static func parse(_ body: ArraySlice<UInt8>) throws -> NotifyPayload {
        var r = WireReader(body)
        let proto = ProtocolID(rawValue: try r.u8("notify protocol"))
        let spiSize = Int(try r.u8("notify SPI size"))
        let type = NotifyType(rawValue: try r.u16("notify type"))
        let spi = try r.array(spiSize, "notify SPI")
        return NotifyPayload(type, protocolID: proto, spi: spi, data: r.remainder())
    }

    public func serialize(into out: inout [UInt8]) {
        out.append(protocolID.rawValue)
        out.append(UInt8(truncatingIfNeeded: spi.count))
        out.appendU16(type.rawValue)
        out += spi
        out += data
    }
}

/// Delete payload body (§3.11).
/// ```
/// | Protocol ID   |   SPI Size    |          Num of SPIs          |
/// ~               Security Parameter Index(es) (SPI)              ~
/// ```
public struct DeletePayload: Hashable, Sendable {
    public var protocolID: ProtocolID
    public var spiSize: UInt8
    public var spis: [[UInt8]]

    public init(protocolID: ProtocolID, spiSize: UInt8, spis: [[UInt8]]) {
        self.protocolID = protocolID
        self.spiSize = spiSize
        self.spis = spis
    }

    /// §3.11: deleting the IKE SA itself carries protocol 1, SPI size 0, no SPIs.
    public static let ikeSA = DeletePayload(protocolID: .ike, spiSize: 0, spis: [])
    public static func esp(_ spis: [UInt32]) -> DeletePayload {
        DeletePayload(protocolID: .esp, spiSize: 4, spis: spis.map { $0.bigEndianBytes })
    }

    public static func parse(_ body: ArraySlice<UInt8>) throws -> DeletePayload {
        var r = WireReader(body)
        let proto = ProtocolID(rawValue: try r.u8("delete protocol"))
        let size = try r.u8("delete SPI size")
        let count = Int(try r.u16("delete SPI count"))
        guard Int(size) * count == r.count else {
            throw IKEError(.invalidLength, "delete: \(count) SPIs of \(size) octets in \(r.count)")
        }
        var spis: [[UInt8]] = []
        for _ in 0..<count { spis.append(try r.array(Int(size))) }
        return DeletePayload(protocolID: proto, spiSize: size, spis: spis)
    }

    public func serialize(into out: inout [UInt8]) {
        out.append(protocolID.rawValue)
        out.append(spiSize)
        out.appendU16(UInt16(truncatingIfNeeded: spis.count))
        for s in spis { out += s }
    }
}
