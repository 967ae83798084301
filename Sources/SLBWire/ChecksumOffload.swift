/// Completing frames whose transport checksum the sender left to "hardware".
///
/// veth (and virtio) advertise TX checksum offload, so a frame read from a packet socket can
/// be CHECKSUM_PARTIAL: the UDP/TCP checksum field holds only the folded pseudo-header sum
/// and the NIC was meant to finish it. A forwarder that sends such a frame on as is delivers
/// a wrong checksum (the receiver counts `Udp InCsumErrors`). PACKET_AUXDATA reports this as
/// `TP_STATUS_CSUMNOTREADY`; a virtio_net_hdr carries `csum_start`/`csum_offset` too.
public enum ChecksumOffload {
    /// Finishes a CHECKSUM_PARTIAL frame the way the kernel's `skb_checksum_help` does: sum
    /// from `checksumStart` to `end` (the field, seeded with the pseudo-header sum, included),
    /// complement, store at `checksumStart + checksumOffset`; a zero result is stored as
    /// 0xFFFF (RFC 768). Returns false, changing nothing, when the offsets do not fit.
    @inlinable
    public static func completePartial(_ frame: UnsafeMutableRawBufferPointer, checksumStart: Int,
                                       checksumOffset: Int, end: Int? = nil) -> Bool {
        let end = end ?? frame.count
        let field = checksumStart + checksumOffset
        guard checksumStart >= 0, checksumOffset >= 0, end <= frame.count, checksumStart <= end,
              field + 2 <= end else { return false }
        var sum = InternetChecksum()
        sum.add(UnsafeRawBufferPointer(rebasing: frame[checksumStart..<end]))
        let checksum = sum.checksum
        frame.setWireUInt16(checksum == 0 ? 0xFFFF : checksum, at: field)
        return true
    }

    /// Recomputes the UDP or TCP checksum of an unfragmented datagram from scratch: the
    /// answer when all PACKET_AUXDATA says is "checksum not ready". Returns false for
    /// fragments (the data is not all here; the kernel never offloads them) and for other
    /// protocols.
    @inlinable
    public static func recomputeTransportChecksum(_ frame: UnsafeMutableRawBufferPointer,
                                                  packet: inout ParsedPacket) -> Bool {
        guard !packet.fragment.isFragment, packet.ipEnd <= frame.count else { return false }
        let start = packet.transportOffset
        let length = packet.ip.payloadLength
        switch packet.transport {
        case .udp(var udp):
            guard udp.length <= length else { return false }
            let checksum = transportChecksum(frame, start: start, length: udp.length, field: UDPHeader.checksumOffset,
                                             source: packet.source, destination: packet.destination, ipProtocol: .udp)
            udp.checksum = checksum == 0 ? 0xFFFF : checksum
            frame.setWireUInt16(udp.checksum, at: start + UDPHeader.checksumOffset)
            packet.transport = .udp(udp)
            return true
        case .tcp(var tcp):
            tcp.checksum = transportChecksum(frame, start: start, length: length, field: TCPHeader.checksumOffset,
                                             source: packet.source, destination: packet.destination, ipProtocol: .tcp)
            frame.setWireUInt16(tcp.checksum, at: start + TCPHeader.checksumOffset)
            packet.transport = .tcp(tcp)
            return true
        case .esp, .icmp, .laterFragment, .other:
            return false
        }
    }

    @inlinable
    static func transportChecksum(_ frame: UnsafeMutableRawBufferPointer, start: Int, length: Int, field: Int,
                                  source: IPv4Address, destination: IPv4Address, ipProtocol: IPProtocol) -> UInt16 {
        frame.setWireUInt16(0, at: start + field)
        var sum = InternetChecksum()
        sum.addPseudoHeader(source: source, destination: destination, protocol: ipProtocol,
                            length: UInt16(truncatingIfNeeded: length))
        sum.add(UnsafeRawBufferPointer(rebasing: frame[start..<(start + length)]))
        return sum.checksum
    }
}

extension ChecksumOffload {
    public static func completePartial(_ frame: inout [UInt8], checksumStart: Int, checksumOffset: Int,
                                       end: Int? = nil) -> Bool {
        frame.withUnsafeMutableBytes { completePartial($0, checksumStart: checksumStart,
                                                       checksumOffset: checksumOffset, end: end) }
    }

    public static func recomputeTransportChecksum(_ frame: inout [UInt8], packet: inout ParsedPacket) -> Bool {
        frame.withUnsafeMutableBytes { recomputeTransportChecksum($0, packet: &packet) }
    }
}
