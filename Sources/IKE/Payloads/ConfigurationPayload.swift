/// Configuration payload body (RFC 7296 §3.15).
/// ```
/// |   CFG Type    |                    RESERVED                   |
/// ~                   Configuration Attributes                    ~
///
/// Attribute (§3.15.1):
/// |R|         Attribute Type      |            Length             |
/// ~                             Value                             ~
/// ```
public struct ConfigurationPayload: Hashable, Sendable {
    public struct ConfigType: RawRepresentable, Hashable, Sendable {
        public let rawValue: UInt8
        public init(rawValue: UInt8) { self.rawValue = rawValue }
        public static let request = ConfigType(rawValue: 1)
        public static let reply = ConfigType(rawValue: 2)
        public static let set = ConfigType(rawValue: 3)
        public static let ack = ConfigType(rawValue: 4)
    }

    public struct Attribute: Hashable, Sendable {
        public static let internalIP4Address: UInt16 = 1
        public static let internalIP4Netmask: UInt16 = 2
        public static let internalIP4DNS: UInt16 = 3
        public static let internalIP6Address: UInt16 = 8

        public var type: UInt16
        public var value: [UInt8]
        public init(type: UInt16, value: [UInt8]) { self.type = type & 0x7FFF; self.value = value }
    }

    public var type: ConfigType
    public var attributes: [Attribute]

    public init(type: ConfigType, attributes: [Attribute]) {
        self.type = type
        self.attributes = attributes
    }

    public static func parse(_ body: ArraySlice<UInt8>) throws -> ConfigurationPayload {
        var r = WireReader(body)
        let type = ConfigType(rawValue: try r.u8("CFG type"))
        _ = try r.bytes(3, "CFG reserved")
        var attributes: [Attribute] = []
        while !r.isEmpty {
            let t = try r.u16("CP attribute type")
            let length = Int(try r.u16("CP attribute length"))
            attributes.append(Attribute(type: t, value: try r.array(length, "CP attribute value")))
        }
        return ConfigurationPayload(type: type, attributes: attributes)
    }

    public func serialize(into out: inout [UInt8]) {
        out.append(type.rawValue)
        out += [0, 0, 0]
        for a in attributes {
            out.appendU16(a.type)
            out.appendU16(UInt16(truncatingIfNeeded: a.value.count))
            out += a.value
        }
    }
}
