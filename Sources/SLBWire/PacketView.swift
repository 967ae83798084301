/// The single entry point of the dataplane's receive path: Ethernet → (VLAN tags) → ARP or
/// IPv4 → UDP / TCP / ESP / ICMP, in place over the receive buffer, no allocation, no
/// copy. Every malformed input ends in `.dropped(reason)`; nothing traps.
public enum PacketView {
    @inlinable
    public static func parse(_ frame: UnsafeRawBufferPointer, verifyIPChecksum: Bool = false) -> PacketParseResult {
        let ethernet: EthernetHeader
        switch EthernetHeader.parse(frame) {
        case .success(let header): ethernet = header
        case .failure(let reason): return .dropped(reason)
        }
        switch ethernet.etherType {
        case .ipv4: break
        case .arp:
            switch ARPPacket.parse(frame, at: ethernet.payloadOffset) {
            case .success(let arp): return .arp(arp, ethernet)
            case .failure(let reason): return .dropped(reason)
            }
        default:
            return .dropped(.notIPv4)
        }
        let ipOffset = ethernet.payloadOffset
        let ip: IPv4Header
        switch IPv4Header.parse(frame, at: ipOffset, verifyChecksum: verifyIPChecksum) {
        case .success(let header): ip = header
        case .failure(let reason): return .dropped(reason)
        }
        let transport = parseTransport(frame, ip: ip, at: ipOffset + ip.headerLength)
        switch transport {
        case .success(let transport):
            return .ipv4(ParsedPacket(ethernet: ethernet, ipOffset: ipOffset, ip: ip, transport: transport))
        case .failure(let reason):
            return .dropped(reason)
        }
    }

    /// Safe convenience for tests and tools.
    public static func parse(_ frame: [UInt8], verifyIPChecksum: Bool = false) -> PacketParseResult {
        frame.withUnsafeBytes { parse($0, verifyIPChecksum: verifyIPChecksum) }
    }

    @inlinable
    static func parseTransport(_ frame: UnsafeRawBufferPointer, ip: IPv4Header,
                               at offset: Int) -> Result<ParsedPacket.Transport, PacketDropReason> {
        if ip.fragmentOffset != 0 { return .success(.laterFragment) }
        let available = ip.payloadLength
        switch ip.ipProtocol {
        case .udp:
            return UDPHeader.parse(frame, at: offset, available: available, wholeDatagram: !ip.moreFragments)
                .map { .udp($0) }
        case .esp:
            return ESPHeader.parse(frame, at: offset, available: available).map { .esp($0) }
        case .icmp:
            return ICMPMessage.parse(frame, at: offset, available: available).map { .icmp($0) }
        case .tcp:
            return TCPHeader.parse(frame, at: offset, available: available).map { .tcp($0) }
        default:
            return .success(.other)
        }
    }
}
