import Testing
import SLBWire

/// A frame from a real exchange (scripts/make-strongswan-fixture, strongSwan 5.9.8 between
/// two namespaces over veth; Tests/IKETests/Fixtures/strongswan/exchange.pcap, frame 4): the
/// IKE_AUTH response on UDP 4500. veth TX offload left its UDP checksum CHECKSUM_PARTIAL —
/// tcpdump 4.99.3 reports "bad udp cksum 0xff7c -> 0x1648!" — which is exactly the case
/// notes/testbed.md warns a forwarder about.
@Suite struct CapturedFrameTests {
    static let ikeAuthResponse = hex("""
        2297a213f9f8c2bb78f13715080045000110e97b4000401151f2cb007164c000020a1194119400fcff7c000000006f01
        b73fea6073dbec7591a1394cea3c2e20232000000001000000f0240000d4fea9da597b6d3f87afac33ad1ba15350b620
        5d9dcf2e21f32443b4feccf387621c7203c0369798377a1277d40a857891077dd3a6d3e4e90271ef3886ff07d8f544e4
        bfe58e4184633acbf85142e80a3b95f667d89c62cafa565541bb651ccba0f52beab5d5230dc75357a629c82de64392f0
        d5cd39e3878645e708d3181b639e321e70d4d1b82b11d35c503442d0d6d95eb3189d02c6a3cf02540109b7c4d84d5d92
        8adaf0a1b41a57a75a0560a1bbde38c9c58c96e4b79f19142df794b2466b5067acb83b2f0feae60bfb0250d299f2
        """)

    @Test func parsesAsNATTraversalIKE() {
        #expect(Self.ikeAuthResponse.count == 286)
        #expect(describe(PacketView.parse(Self.ikeAuthResponse, verifyIPChecksum: true))
                == "UDP 203.0.113.100:4500 > 192.0.2.10:4500 id 59771 ttl 64 len 252 nat-t ike@4")
    }

    @Test func checksumFieldHoldsOnlyThePseudoHeaderSum() throws {
        let packet = try #require(PacketView.parse(Self.ikeAuthResponse).packet)
        guard case .udp(let udp) = packet.transport else { Issue.record("not UDP"); return }
        var pseudo = InternetChecksum()
        pseudo.addPseudoHeader(source: packet.source, destination: packet.destination, protocol: .udp,
                               length: UInt16(udp.length))
        #expect(udp.checksum == 0xFF7C)
        #expect(udp.checksum == pseudo.folded)
    }

    /// Both ways of finishing it give tcpdump's answer, 0x1648.
    @Test func completingGivesTcpdumpsChecksum() throws {
        var viaOffsets = Self.ikeAuthResponse
        #expect(ChecksumOffload.completePartial(&viaOffsets, checksumStart: 34, checksumOffset: UDPHeader.checksumOffset))
        var viaRecompute = Self.ikeAuthResponse
        var packet = try #require(PacketView.parse(viaRecompute).packet)
        #expect(ChecksumOffload.recomputeTransportChecksum(&viaRecompute, packet: &packet))
        #expect(viaOffsets == viaRecompute)
        #expect(viaRecompute[40] == 0x16 && viaRecompute[41] == 0x48)
        var sum = InternetChecksum()
        sum.addPseudoHeader(source: packet.source, destination: packet.destination, protocol: .udp, length: 252)
        sum.add(Array(viaRecompute[34...]))
        #expect(sum.verifies)
    }
}
