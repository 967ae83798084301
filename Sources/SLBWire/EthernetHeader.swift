/// An Ethernet II EtherType (IEEE 802.3 Length/Type field ≥ 0x0600). A struct so any value
/// off the wire is representable.
public struct EtherType: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: UInt16
    @inlinable public init(rawValue: UInt16) { self.rawValue = rawValue }

    public static let ipv4 = EtherType(rawValue: 0x0800)
    public static let arp = EtherType(rawValue: 0x0806)
    /// IEEE 802.1Q customer VLAN tag (C-tag).
    public static let vlan = EtherType(rawValue: 0x8100)
    /// IEEE 802.1ad service VLAN tag (S-tag, "QinQ").
    public static let serviceVLAN = EtherType(rawValue: 0x88A8)
    public static let ipv6 = EtherType(rawValue: 0x86DD)

    public var description: String {
        let hex: [Character] = Array("0123456789abcdef")
        var text = "0x"
        for shift in stride(from: 12, through: 0, by: -4) {
            text.append(hex[Int((rawValue >> UInt16(shift)) & 0xF)])
        }
        return text
    }
}

/// The Ethernet II header of a frame, with up to `maximumVLANTags` 802.1Q/802.1ad tags
/// skipped. `etherType` is the inner type (after the tags); `payloadOffset` is where the
/// network-layer header starts.
public struct EthernetHeader: Hashable, Sendable {
    /// Destination (6) + source (6) + EtherType (2); IEEE 802.3 §3.1.1. No FCS: packet
    /// sockets never hand it to us.
    public static let length = 14
    /// TPID (2) + TCI (2); IEEE 802.1Q §9.
    public static let vlanTagLength = 4
    /// S-tag + C-tag (IEEE 802.1ad). Deeper stacks are dropped rather than walked.
    public static let maximumVLANTags = 2
    /// Offsets of the two MAC addresses, which the dispatched-mode rewrite overwrites.
    public static let destinationOffset = 0
    public static let sourceOffset = 6

    public var destination: MACAddress
    public var source: MACAddress
    public var etherType: EtherType
    /// VLAN ID (12 bits) of the outermost tag, nil when untagged.
    public var vlanID: UInt16?
    public var vlanTagCount: Int
    public var payloadOffset: Int

    public init(destination: MACAddress, source: MACAddress, etherType: EtherType,
                vlanID: UInt16? = nil, vlanTagCount: Int = 0, payloadOffset: Int = EthernetHeader.length) {
        self.destination = destination
        self.source = source
        self.etherType = etherType
        self.vlanID = vlanID
        self.vlanTagCount = vlanTagCount
        self.payloadOffset = payloadOffset
    }

    /// Reads the header and skips VLAN tags. Never traps; fails with the drop reason.
    @inlinable
    public static func parse(_ frame: UnsafeRawBufferPointer) -> Result<EthernetHeader, PacketDropReason> {
        guard frame.count >= length else { return .failure(.truncatedEthernet) }
        var type = EtherType(rawValue: frame.wireUInt16(at: 12))
        var offset = length
        var vlanID: UInt16?
        var tags = 0
        while type == .vlan || type == .serviceVLAN {
            guard tags < maximumVLANTags else { return .failure(.tooManyVLANTags) }
            guard frame.count >= offset + vlanTagLength else { return .failure(.truncatedVLANTag) }
            if vlanID == nil { vlanID = frame.wireUInt16(at: offset) & 0x0FFF }
            type = EtherType(rawValue: frame.wireUInt16(at: offset + 2))
            offset += vlanTagLength
            tags += 1
        }
        return .success(EthernetHeader(destination: MACAddress.read(frame, at: destinationOffset),
                                       source: MACAddress.read(frame, at: sourceOffset),
                                       etherType: type, vlanID: vlanID, vlanTagCount: tags,
                                       payloadOffset: offset))
    }
}
