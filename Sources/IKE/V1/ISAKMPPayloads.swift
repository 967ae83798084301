import SLBWire

/// Identification payload body (RFC 2407 §4.6.2): `ID Type (1) | Protocol ID (1) | Port (2) | data`.
public struct ISAKMPIdentification: Hashable, Sendable, CustomStringConvertible {
    public var type: UInt8
    public var protocolID: UInt8
    public var port: UInt16
    public var data: [UInt8]

    public init(type: UInt8, protocolID: UInt8 = 0, port: UInt16 = 0, data: [UInt8]) {
        self.type = type
        self.protocolID = protocolID
        self.port = port
        self.data = data
    }

    /// ID_IPV4_ADDR, the phase-1 identity of a PSK peer (RFC 2409 §5.4 main mode PSK).
    public static func ipv4(_ a: IPv4Address, protocolID: UInt8 = 0, port: UInt16 = 0) -> ISAKMPIdentification {
        ISAKMPIdentification(type: IPsecDOI.idIPv4Address, protocolID: protocolID, port: port, data: a.value.bigEndianBytes)
    }

    /// ID_IPV4_ADDR_SUBNET, a phase-2 client identity (RFC 2407 §4.6.2.1).
    public static func ipv4(_ n: IPv4Network, protocolID: UInt8 = 0, port: UInt16 = 0) -> ISAKMPIdentification {
        ISAKMPIdentification(type: IPsecDOI.idIPv4Subnet, protocolID: protocolID, port: port,
                             data: n.address.value.bigEndianBytes + n.mask.value.bigEndianBytes)
    }

    static func parse(_ body: ArraySlice<UInt8>) throws -> ISAKMPIdentification {
        var r = WireReader(body)
        let type = try r.u8("ID type")
        let proto = try r.u8("ID protocol")
        let port = try r.u16("ID port")
        return ISAKMPIdentification(type: type, protocolID: proto, port: port, data: r.remainder())
    }

    func serialize() -> [UInt8] {
        var out: [UInt8] = [type, protocolID]
        out.appendU16(port)
        return out + data
    }

    /// The IPv4 range this identity names, for the traffic selectors of a Child SA; nil for
    /// names (FQDN) and malformed data.
    public var ipv4Range: ClosedRange<UInt32>? {
        func u32(_ s: ArraySlice<UInt8>) -> UInt32 { s.reduce(0) { $0 << 8 | UInt32($1) } }
        switch type {
        case IPsecDOI.idIPv4Address:
            guard data.count == 4 else { return nil }
            let a = u32(data[...])
            return a...a
        case IPsecDOI.idIPv4Subnet:
            guard data.count == 8 else { return nil }
            let mask = u32(data[4...])
            let net = u32(data[..<4]) & mask
            return net...(net | ~mask)
        case IPsecDOI.idIPv4Range:
            guard data.count == 8 else { return nil }
            let lo = u32(data[..<4]), hi = u32(data[4...])
            return lo <= hi ? lo...hi : nil
        default:
            return nil
        }
    }

    public var description: String {
        if let r = ipv4Range {
            return r.lowerBound == r.upperBound ? "\(IPv4Address(r.lowerBound))" : "\(IPv4Address(r.lowerBound))-\(IPv4Address(r.upperBound))"
        }
        return "id(type \(type), \(data.count) octets)"
    }
}

/// Notification payload body (RFC 2408 §3.14): `DOI (4) | Protocol-ID (1) | SPI Size (1) |
/// Notify Message Type (2) | SPI | Notification Data`.
public struct ISAKMPNotification: Hashable, Sendable {
    public var doi: UInt32
    public var protocolID: UInt8
    public var type: ISAKMPNotifyType
    public var spi: [UInt8]
    public var data: [UInt8]

    public init(_ type: ISAKMPNotifyType, protocolID: UInt8 = ISAKMPProtocolID.isakmp, spi: [UInt8] = [], data: [UInt8] = [],
                doi: UInt32 = IPsecDOI.doi) {
        self.doi = doi
        self.protocolID = protocolID
        self.type = type
        self.spi = spi
        self.data = data
    }

    static func parse(_ body: ArraySlice<UInt8>) throws -> ISAKMPNotification {
        var r = WireReader(body)
        let doi = try r.u32("DOI")
        let proto = try r.u8("protocol")
        let spiSize = Int(try r.u8("SPI size"))
        let type = try r.u16("notify type")
        let spi = try r.array(spiSize, "SPI")
        return ISAKMPNotification(ISAKMPNotifyType(rawValue: type), protocolID: proto, spi: spi, data: r.remainder(), doi: doi)
    }

    func serialize() -> [UInt8] {
        var out: [UInt8] = []
        out.appendU32(doi)
        out.append(protocolID)
        out.append(UInt8(truncatingIfNeeded: spi.count))
        out.appendU16(type.rawValue)
        return out + spi + data
    }
}

/// Delete payload body (RFC 2408 §3.15): `DOI (4) | Protocol-Id (1) | SPI Size (1) | # of SPIs (2) | SPIs`.
public struct ISAKMPDelete: Hashable, Sendable {
    public var doi: UInt32
    public var protocolID: UInt8
    public var spiSize: UInt8
    public var spis: [[UInt8]]

    public init(protocolID: UInt8, spiSize: UInt8, spis: [[UInt8]], doi: UInt32 = IPsecDOI.doi) {
        self.doi = doi
        self.protocolID = protocolID
        self.spiSize = spiSize
        self.spis = spis
    }

    static func parse(_ body: ArraySlice<UInt8>) throws -> ISAKMPDelete {
        var r = WireReader(body)
        let doi = try r.u32("DOI")
        let proto = try r.u8("protocol")
        let size = try r.u8("SPI size")
        let count = Int(try r.u16("SPI count"))
        // The count is checked against the octets present before anything is allocated.
        guard count * Int(size) == r.count else { throw IKEError(.invalidLength, "\(count) SPIs of \(size) in \(r.count) octets") }
        var spis: [[UInt8]] = []
        for _ in 0..<(size == 0 ? 0 : count) { spis.append(try r.array(Int(size), "SPI")) }
        return ISAKMPDelete(protocolID: proto, spiSize: size, spis: spis, doi: doi)
    }

    func serialize() -> [UInt8] {
        var out: [UInt8] = []
        out.appendU32(doi)
        out.append(protocolID)
        out.append(spiSize)
        out.appendU16(UInt16(truncatingIfNeeded: spis.count))
        for s in spis { out += s }
        return out
    }
}

/// NAT-OA payload body (RFC 3947 §5.2): `ID Type (1) | RESERVED (3) | IPv4 address (4)`.
public struct NATOriginalAddress: Hashable, Sendable {
    public var address: IPv4Address
    public init(_ address: IPv4Address) { self.address = address }

    static func parse(_ body: ArraySlice<UInt8>) throws -> NATOriginalAddress {
        var r = WireReader(body)
        let type = try r.u8("NAT-OA ID type")
        _ = try r.bytes(3, "NAT-OA reserved")
        guard type == IPsecDOI.idIPv4Address, r.count == 4 else { throw IKEError(.invalidSyntax, "NAT-OA type \(type)") }
        return NATOriginalAddress(IPv4Address(try r.u32()))
    }

    func serialize() -> [UInt8] { [IPsecDOI.idIPv4Address, 0, 0, 0] + address.value.bigEndianBytes }
}

/// One ISAKMP payload, typed. Proposal and transform payloads live only inside an SA payload.
public enum ISAKMPPayload: Hashable, Sendable {
    case securityAssociation(ISAKMPSecurityAssociation)
    case keyExchange([UInt8])
    case identification(ISAKMPIdentification)
    case hash([UInt8])
    case nonce([UInt8])
    case notification(ISAKMPNotification)
    case delete(ISAKMPDelete)
    case vendorID([UInt8])
    case natDiscovery([UInt8])
    case natOriginalAddress(NATOriginalAddress)
    /// Certificates, signatures and unknown types: kept as octets and ignored by the exchanges
    /// (RFC 2408 §5.2 lets the receiver reject them; we only use PSK, so they carry nothing).
    case other(type: UInt8, body: [UInt8])

    public var type: UInt8 {
        switch self {
        case .securityAssociation: ISAKMPPayloadType.securityAssociation
        case .keyExchange: ISAKMPPayloadType.keyExchange
        case .identification: ISAKMPPayloadType.identification
        case .hash: ISAKMPPayloadType.hash
        case .nonce: ISAKMPPayloadType.nonce
        case .notification: ISAKMPPayloadType.notification
        case .delete: ISAKMPPayloadType.delete
        case .vendorID: ISAKMPPayloadType.vendorID
        case .natDiscovery: ISAKMPPayloadType.natDiscovery
        case .natOriginalAddress: ISAKMPPayloadType.natOriginalAddress
        case .other(let t, _): t
        }
    }

    static func parse(type: UInt8, body: ArraySlice<UInt8>) throws -> ISAKMPPayload {
        switch type {
        case ISAKMPPayloadType.securityAssociation: return .securityAssociation(try .parse(body))
        case ISAKMPPayloadType.keyExchange: return .keyExchange(Array(body))
        case ISAKMPPayloadType.identification: return .identification(try .parse(body))
        case ISAKMPPayloadType.hash: return .hash(Array(body))
        case ISAKMPPayloadType.nonce:
            guard ISAKMPLimits.nonceLengths.contains(body.count) else { throw IKEError(.invalidLength, "nonce of \(body.count)") }
            return .nonce(Array(body))
        case ISAKMPPayloadType.notification: return .notification(try .parse(body))
        case ISAKMPPayloadType.delete: return .delete(try .parse(body))
        case ISAKMPPayloadType.vendorID: return .vendorID(Array(body))
        case ISAKMPPayloadType.natDiscovery: return .natDiscovery(Array(body))
        case ISAKMPPayloadType.natOriginalAddress: return .natOriginalAddress(try .parse(body))
        case ISAKMPPayloadType.proposal, ISAKMPPayloadType.transform, ISAKMPPayloadType.none:
            throw IKEError(.invalidSyntax, "payload type \(type) outside an SA")
        default: return .other(type: type, body: Array(body))
        }
    }

    func serializeBody() -> [UInt8] {
        switch self {
        case .securityAssociation(let s): s.serialize()
        case .keyExchange(let b), .hash(let b), .nonce(let b), .vendorID(let b), .natDiscovery(let b): b
        case .identification(let i): i.serialize()
        case .notification(let n): n.serialize()
        case .delete(let d): d.serialize()
        case .natOriginalAddress(let o): o.serialize()
        case .other(_, let b): b
        }
    }
}
