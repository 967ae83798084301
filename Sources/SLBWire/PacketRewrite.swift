/// In-place rewrites of a parsed frame for forwarding. Each takes the frame and the
/// `ParsedPacket` it was parsed into, changes only the bytes it names, and patches the
/// checksums incrementally (RFC 1624) instead of recomputing them: O(1) per packet.
///
/// A rewrite first checks that the parse still fits the buffer (`parseMismatch`), so a
/// caller bug cannot make it write out of bounds.
public enum PacketRewrite {
    /// Dispatched mode: the real carries the VIP on its loopback; only the next-hop MAC
    /// changes (and the source MAC becomes the SLB's egress interface).
    @inlinable
    public static func setMACs(in frame: UnsafeMutableRawBufferPointer,
                               destination: MACAddress, source: MACAddress? = nil) -> Bool {
        guard frame.count >= EthernetHeader.length else { return false }
        destination.write(to: frame, at: EthernetHeader.destinationOffset)
        source?.write(to: frame, at: EthernetHeader.sourceOffset)
        return true
    }

    /// RFC 1812 §5.3.1: a router decrements TTL and discards (ICMP time exceeded) a packet
    /// whose TTL is ≤ 1 on arrival. Patches the header checksum per RFC 1624 §4 (TTL shares
    /// its 16-bit word with the protocol field). Returns nil on success.
    @inlinable
    public static func decrementTTL(in frame: UnsafeMutableRawBufferPointer,
                                    packet: inout ParsedPacket) -> PacketDropReason? {
        guard fits(packet, frame) else { return .parseMismatch }
        let ttl = packet.ip.ttl
        guard ttl > 1 else { return .ttlExpired }
        let wordOffset = packet.ipOffset + IPv4Header.ttlOffset
        let old = frame.wireUInt16(at: wordOffset)
        let new = old &- 0x0100
        frame[wordOffset] = ttl - 1
        let checksumOffset = packet.ipOffset + IPv4Header.checksumOffset
        let checksum = InternetChecksum.update(frame.wireUInt16(at: checksumOffset), old: old, new: new)
        frame.setWireUInt16(checksum, at: checksumOffset)
        packet.ip.ttl = ttl - 1
        packet.ip.checksum = checksum
        return nil
    }

    /// Directed mode (`nat server`), client → real: destination VIP → real address, and the
    /// destination port when the real has one. Fixes the IP header checksum and the UDP/TCP
    /// checksum (the pseudo-header covers the address). Later fragments carry no port and no
    /// L4 checksum: only their IP header changes, which is consistent because the first
    /// fragment's checksum covers the reassembled datagram.
    @inlinable
    public static func rewriteDestination(in frame: UnsafeMutableRawBufferPointer, packet: inout ParsedPacket,
                                          address: IPv4Address, port: UInt16? = nil) -> PacketDropReason? {
        guard fits(packet, frame) else { return .parseMismatch }
        rewriteAddress(in: frame, packet: &packet, fieldOffset: IPv4Header.destinationOffset, to: address)
        packet.ip.destination = address
        if let port { rewritePort(in: frame, packet: &packet, destination: true, to: port) }
        return nil
    }

    /// Directed mode, real → client: the reply's source (real address) becomes the VIP again,
    /// and its source port the virtual port.
    @inlinable
    public static func rewriteSource(in frame: UnsafeMutableRawBufferPointer, packet: inout ParsedPacket,
                                     address: IPv4Address, port: UInt16? = nil) -> PacketDropReason? {
        guard fits(packet, frame) else { return .parseMismatch }
        rewriteAddress(in: frame, packet: &packet, fieldOffset: IPv4Header.sourceOffset, to: address)
        packet.ip.source = address
        if let port { rewritePort(in: frame, packet: &packet, destination: false, to: port) }
        return nil
    }

    @inlinable
    static func fits(_ packet: ParsedPacket, _ frame: UnsafeMutableRawBufferPointer) -> Bool {
        packet.ipOffset >= EthernetHeader.length
            && packet.ip.headerLength >= IPv4Header.minimumLength
            && packet.ipEnd <= frame.count
            && packet.ip.totalLength >= packet.ip.headerLength
    }

    @inlinable
    static func rewriteAddress(in frame: UnsafeMutableRawBufferPointer, packet: inout ParsedPacket,
                               fieldOffset: Int, to address: IPv4Address) {
        let field = packet.ipOffset + fieldOffset
        let old = frame.wireUInt32(at: field)
        let new = address.value
        frame.setWireUInt32(new, at: field)
        let ipChecksumOffset = packet.ipOffset + IPv4Header.checksumOffset
        let ipChecksum = InternetChecksum.update(frame.wireUInt16(at: ipChecksumOffset), old32: old, new32: new)
        frame.setWireUInt16(ipChecksum, at: ipChecksumOffset)
        packet.ip.checksum = ipChecksum
        switch packet.transport {
        case .udp(var udp):
            guard let offset = transportChecksumOffset(packet, UDPHeader.checksumOffset, UDPHeader.length) else { return }
            udp.checksum = InternetChecksum.updateUDP(frame.wireUInt16(at: offset), old32: old, new32: new)
            frame.setWireUInt16(udp.checksum, at: offset)
            packet.transport = .udp(udp)
        case .tcp(var tcp):
            guard let offset = transportChecksumOffset(packet, TCPHeader.checksumOffset, TCPHeader.minimumLength) else { return }
            tcp.checksum = InternetChecksum.update(frame.wireUInt16(at: offset), old32: old, new32: new)
            frame.setWireUInt16(tcp.checksum, at: offset)
            packet.transport = .tcp(tcp)
        case .esp, .icmp, .laterFragment, .other:
            // ESP has no L4 checksum; ICMP's does not cover a pseudo-header (RFC 792).
            break
        }
    }

    @inlinable
    static func rewritePort(in frame: UnsafeMutableRawBufferPointer, packet: inout ParsedPacket,
                            destination: Bool, to port: UInt16) {
        let portOffset = packet.transportOffset + (destination ? 2 : 0)
        switch packet.transport {
        case .udp(var udp):
            guard let checksumOffset = transportChecksumOffset(packet, UDPHeader.checksumOffset, UDPHeader.length) else { return }
            let old = frame.wireUInt16(at: portOffset)
            frame.setWireUInt16(port, at: portOffset)
            udp.checksum = InternetChecksum.updateUDP(frame.wireUInt16(at: checksumOffset), old: old, new: port)
            frame.setWireUInt16(udp.checksum, at: checksumOffset)
            if destination { udp.destinationPort = port } else { udp.sourcePort = port }
            packet.transport = .udp(udp)
        case .tcp(var tcp):
            guard let checksumOffset = transportChecksumOffset(packet, TCPHeader.checksumOffset, TCPHeader.minimumLength) else { return }
            let old = frame.wireUInt16(at: portOffset)
            frame.setWireUInt16(port, at: portOffset)
            tcp.checksum = InternetChecksum.update(frame.wireUInt16(at: checksumOffset), old: old, new: port)
            frame.setWireUInt16(tcp.checksum, at: checksumOffset)
            if destination { tcp.destinationPort = port } else { tcp.sourcePort = port }
            packet.transport = .tcp(tcp)
        case .esp, .icmp, .laterFragment, .other:
            break
        }
    }

    /// Frame offset of the L4 checksum, nil when the header is not (wholly) in this frame.
    @inlinable
    static func transportChecksumOffset(_ packet: ParsedPacket, _ fieldOffset: Int, _ headerLength: Int) -> Int? {
        guard packet.ip.fragmentOffset == 0, packet.ip.payloadLength >= headerLength else { return nil }
        return packet.transportOffset + fieldOffset
    }
}

extension PacketRewrite {
    /// `[UInt8]` conveniences for tests and tools.
    public static func decrementTTL(in frame: inout [UInt8], packet: inout ParsedPacket) -> PacketDropReason? {
        frame.withUnsafeMutableBytes { decrementTTL(in: $0, packet: &packet) }
    }

    public static func rewriteDestination(in frame: inout [UInt8], packet: inout ParsedPacket,
                                          address: IPv4Address, port: UInt16? = nil) -> PacketDropReason? {
        frame.withUnsafeMutableBytes { rewriteDestination(in: $0, packet: &packet, address: address, port: port) }
    }

    public static func rewriteSource(in frame: inout [UInt8], packet: inout ParsedPacket,
                                     address: IPv4Address, port: UInt16? = nil) -> PacketDropReason? {
        frame.withUnsafeMutableBytes { rewriteSource(in: $0, packet: &packet, address: address, port: port) }
    }

    public static func setMACs(in frame: inout [UInt8], destination: MACAddress, source: MACAddress? = nil) -> Bool {
        frame.withUnsafeMutableBytes { setMACs(in: $0, destination: destination, source: source) }
    }
}
