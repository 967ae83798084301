/// One parsed Ethernet/IPv4 frame: header fields and the offsets a rewrite needs. A plain
/// value (no references), so parsing allocates nothing.
public struct ParsedPacket: Hashable, Sendable {
    /// The transport layer as far as this frame shows it.
    public enum Transport: Hashable, Sendable {
        case udp(UDPHeader)
        case tcp(TCPHeader)
        case esp(ESPHeader)
        case icmp(ICMPMessage)
        /// Offset ≠ 0: the transport header travelled in the first fragment.
        case laterFragment
        /// Another protocol (GRE, AH, ...): no ports.
        case other
    }

    public var ethernet: EthernetHeader
    /// Frame offset of the IPv4 header.
    public var ipOffset: Int
    public var ip: IPv4Header
    public var transport: Transport

    public init(ethernet: EthernetHeader, ipOffset: Int, ip: IPv4Header, transport: Transport) {
        self.ethernet = ethernet
        self.ipOffset = ipOffset
        self.ip = ip
        self.transport = transport
    }

    /// Frame offset of the transport header (or of the fragment's data).
    @inlinable public var transportOffset: Int { ipOffset + ip.headerLength }
    /// Frame offset one past the datagram; bytes after it are Ethernet padding.
    @inlinable public var ipEnd: Int { ipOffset + ip.totalLength }

    @inlinable public var ipProtocol: IPProtocol { ip.ipProtocol }
    @inlinable public var source: IPv4Address { ip.source }
    @inlinable public var destination: IPv4Address { ip.destination }
    @inlinable public var fragment: FragmentInfo { ip.fragment }

    /// Flow key material: UDP/TCP ports, 0 for ESP, ICMP, other protocols and later
    /// fragments (IOS SLB keys ESP on (client, VIP, 50) and shows port 0).
    @inlinable public var sourcePort: UInt16 {
        switch transport {
        case .udp(let udp): udp.sourcePort
        case .tcp(let tcp): tcp.sourcePort
        case .esp, .icmp, .laterFragment, .other: 0
        }
    }

    @inlinable public var destinationPort: UInt16 {
        switch transport {
        case .udp(let udp): udp.destinationPort
        case .tcp(let tcp): tcp.destinationPort
        case .esp, .icmp, .laterFragment, .other: 0
        }
    }

    /// The key the fragment table files this datagram under (RFC 791 §3.2: source,
    /// destination, protocol and identification name a datagram).
    @inlinable public var fragmentKey: FragmentKey {
        FragmentKey(source: ip.source, destination: ip.destination, identification: ip.identification,
                    ipProtocol: ip.ipProtocol)
    }
}

/// What `PacketView.parse` makes of a frame.
public enum PacketParseResult: Hashable, Sendable {
    case ipv4(ParsedPacket)
    case arp(ARPPacket, EthernetHeader)
    case dropped(PacketDropReason)

    @inlinable public var packet: ParsedPacket? {
        if case .ipv4(let packet) = self { return packet }
        return nil
    }

    @inlinable public var dropReason: PacketDropReason? {
        if case .dropped(let reason) = self { return reason }
        return nil
    }
}
