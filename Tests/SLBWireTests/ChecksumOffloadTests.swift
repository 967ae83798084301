import Testing
import SLBWire

/// CHECKSUM_PARTIAL frames (notes/testbed.md: veth TX offload): the field holds only the
/// folded pseudo-header sum, as the Linux stack leaves it for the NIC.
@Suite struct ChecksumOffloadTests {
    /// What the kernel hands a packet socket for an offloaded datagram.
    static func partial(_ frame: [UInt8]) -> [UInt8] {
        guard let packet = PacketView.parse(frame).packet else { return frame }
        var copy = frame
        var sum = InternetChecksum()
        let (ipProtocol, field): (IPProtocol, Int) = {
            if case .tcp = packet.transport { return (.tcp, TCPHeader.checksumOffset) }
            return (.udp, UDPHeader.checksumOffset)
        }()
        sum.addPseudoHeader(source: packet.source, destination: packet.destination, protocol: ipProtocol,
                            length: UInt16(packet.ip.payloadLength))
        copy[packet.transportOffset + field] = UInt8(sum.folded >> 8)
        copy[packet.transportOffset + field + 1] = UInt8(sum.folded & 0xFF)
        return copy
    }

    static let frames: [(String, [UInt8])] = [
        ("ISAKMP", Lab.isakmpFrame), ("NAT-T IKE", Lab.natTIKEFrame), ("ESP-in-UDP", Lab.natTESPFrame),
        ("keepalive", FrameBuilder.udpFrame(Lab.toSLB, Lab.ip(), sourcePort: 4500, destinationPort: 4500,
                                            payload: FrameBuilder.natKeepalive)),
        ("TCP", Lab.tcpFrame), ("VLAN", Lab.vlanFrame), ("options", Lab.optionsFrame),
    ]

    @Test(arguments: frames)
    func completingWithCsumStartAndOffset(name: String, frame: [UInt8]) throws {
        var partial = Self.partial(frame)
        #expect(partial != frame)
        let packet = try #require(PacketView.parse(partial).packet)
        let offset = { if case .tcp = packet.transport { TCPHeader.checksumOffset } else { UDPHeader.checksumOffset } }()
        #expect(ChecksumOffload.completePartial(&partial, checksumStart: packet.transportOffset, checksumOffset: offset,
                                                end: packet.ipEnd))
        #expect(partial == frame)
    }

    @Test(arguments: frames)
    func recomputingWhenOnlyTold(name: String, frame: [UInt8]) throws {
        var partial = Self.partial(frame)
        var packet = try #require(PacketView.parse(partial).packet)
        #expect(ChecksumOffload.recomputeTransportChecksum(&partial, packet: &packet))
        #expect(partial == frame)
        #expect(PacketView.parse(partial).packet == packet)
    }

    /// The dataplane must complete the checksum before a directed rewrite: RFC 1624 updates
    /// assume the field holds a finished (complemented) checksum.
    @Test func completeThenRewriteGivesTheRealAFinishedChecksum() throws {
        var frame = Self.partial(Lab.isakmpFrame)
        var packet = try #require(PacketView.parse(frame).packet)
        #expect(ChecksumOffload.recomputeTransportChecksum(&frame, packet: &packet))
        #expect(PacketRewrite.rewriteDestination(in: &frame, packet: &packet, address: Lab.real1) == nil)
        #expect(frame == FrameBuilder.udpFrame(Lab.toSLB, Lab.ip(Lab.client, Lab.real1), sourcePort: 500,
                                               destinationPort: 500, payload: Lab.ikeHeader))
    }

    @Test func refusesWhatItCannotFinish() throws {
        var frame = Lab.isakmpFrame
        #expect(!ChecksumOffload.completePartial(&frame, checksumStart: 40, checksumOffset: 100))
        #expect(!ChecksumOffload.completePartial(&frame, checksumStart: -1, checksumOffset: 6))
        #expect(!ChecksumOffload.completePartial(&frame, checksumStart: 34, checksumOffset: 6, end: frame.count + 1))
        #expect(frame == Lab.isakmpFrame)
        var fragment = Lab.bigISAKMPFragments[0]
        var packet = try #require(PacketView.parse(fragment).packet)
        #expect(!ChecksumOffload.recomputeTransportChecksum(&fragment, packet: &packet))
        var esp = Lab.espFrame
        var espPacket = try #require(PacketView.parse(esp).packet)
        #expect(!ChecksumOffload.recomputeTransportChecksum(&esp, packet: &espPacket))
    }
}
