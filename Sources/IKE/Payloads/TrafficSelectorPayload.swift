import SLBWire

/// Traffic Selector payload body, TSi and TSr (RFC 7296 §3.13).
/// ```
/// | Number of TSs |                 RESERVED                      |
/// ~                       <Traffic Selectors>                     ~
///
/// Traffic selector (§3.13.1):
/// |   TS Type     |IP Protocol ID*|       Selector Length         |
/// |           Start Port*         |           End Port*           |
/// ~                         Starting Address*                     ~
/// ~                         Ending Address*                       ~
/// ```
public struct TrafficSelectorPayload: Hashable, Sendable {
    public var selectors: [TrafficSelector]
    public init(selectors: [TrafficSelector]) { self.selectors = selectors }

    public static func parse(_ body: ArraySlice<UInt8>) throws -> TrafficSelectorPayload {
        var r = WireReader(body)
        let count = Int(try r.u8("TS count"))
        _ = try r.bytes(3, "TS reserved")
        var selectors: [TrafficSelector] = []
        for _ in 0..<count {
            let type = try r.u8("TS type")
            let proto = try r.u8("TS protocol")
            let length = Int(try r.u16("TS length"))
            guard length >= TrafficSelector.headerLength else { throw IKEError(.invalidLength, "TS length \(length)") }
            var s = WireReader(try r.bytes(length - 4, "traffic selector"))
            let startPort = try s.u16()
            let endPort = try s.u16()
            let addressLength: Int
            switch type {
            case TrafficSelector.ipv4Type: addressLength = 4
            case TrafficSelector.ipv6Type: addressLength = 16
            default: addressLength = s.count / 2
            }
            guard s.count == 2 * addressLength else {
                throw IKEError(.invalidLength, "TS type \(type) with \(s.count) address octets")
            }
            let start = try s.array(addressLength)
            let end = try s.array(addressLength)
            selectors.append(TrafficSelector(type: type, ipProtocol: proto, startPort: startPort,
                                             endPort: endPort, startAddress: start, endAddress: end))
        }
        guard r.isEmpty else { throw IKEError(.invalidLength, "TS payload has trailing octets") }
        guard !selectors.isEmpty else { throw IKEError(.invalidSyntax, "TS payload with no selectors") }
        return TrafficSelectorPayload(selectors: selectors)
    }

    public func serialize(into out: inout [UInt8]) {
        out.append(UInt8(truncatingIfNeeded: selectors.count))
        out += [0, 0, 0]
        for s in selectors {
            out.append(s.type)
            out.append(s.ipProtocol)
            out.appendU16(UInt16(truncatingIfNeeded: TrafficSelector.headerLength + s.startAddress.count + s.endAddress.count))
            out.appendU16(s.startPort)
            out.appendU16(s.endPort)
            out += s.startAddress
            out += s.endAddress
        }
    }
}

/// One selector: an address range, a port range and an IP protocol (0 = any).
public struct TrafficSelector: Hashable, Sendable, CustomStringConvertible {
    public static let ipv4Type: UInt8 = 7
    public static let ipv6Type: UInt8 = 8
    static let headerLength = 8

    public var type: UInt8
    public var ipProtocol: UInt8
    public var startPort: UInt16
    public var endPort: UInt16
    public var startAddress: [UInt8]
    public var endAddress: [UInt8]

    public init(type: UInt8, ipProtocol: UInt8, startPort: UInt16, endPort: UInt16,
                startAddress: [UInt8], endAddress: [UInt8]) {
        self.type = type
        self.ipProtocol = ipProtocol
        self.startPort = startPort
        self.endPort = endPort
        self.startAddress = startAddress
        self.endAddress = endAddress
    }

    public init(ipv4 start: IPv4Address, _ end: IPv4Address, ipProtocol: UInt8 = 0,
                ports: ClosedRange<UInt16> = 0...65535) {
        self.init(type: Self.ipv4Type, ipProtocol: ipProtocol, startPort: ports.lowerBound,
                  endPort: ports.upperBound, startAddress: start.value.bigEndianBytes,
                  endAddress: end.value.bigEndianBytes)
    }

    public init(network: IPv4Network, ipProtocol: UInt8 = 0) {
        let end = IPv4Address(network.address.value | ~network.mask.value)
        self.init(ipv4: network.address, end, ipProtocol: ipProtocol)
    }

    public static func host(_ address: IPv4Address) -> TrafficSelector { TrafficSelector(ipv4: address, address) }
    public static let anyIPv4 = TrafficSelector(ipv4: IPv4Address(0), IPv4Address(UInt32.max))

    public var ipv4Range: ClosedRange<UInt32>? {
        guard type == Self.ipv4Type, let s = UInt32(bigEndianBytes: startAddress),
              let e = UInt32(bigEndianBytes: endAddress), s <= e else { return nil }
        return s...e
    }

    public var description: String {
        guard let r = ipv4Range else { return "TS(type \(type))" }
        let proto = ipProtocol == 0 ? "" : "/\(ipProtocol)"
        return "\(IPv4Address(r.lowerBound))-\(IPv4Address(r.upperBound))\(proto)[\(startPort)-\(endPort)]"
    }
}
