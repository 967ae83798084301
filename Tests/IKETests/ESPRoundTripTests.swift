import ESP
import IKE
import SLBWire
import Testing

@Suite("CHILD_SA keys drive the ESP target")
struct ESPRoundTripTests {
    /// An ICMP echo request from the client's side to the gateway's service address.
    static let innerPacket: [UInt8] = [0x45, 0, 0, 28, 0, 1, 0, 0, 64, 1, 0, 0, 198, 51, 100, 129, 203, 0, 113, 1,
                                       8, 0, 0xF7, 0xFF, 0, 0, 0, 0]

    @Test("ESP round trip with the keys both sides derived", arguments: AlgorithmSet.all)
    func roundTrip(_ set: AlgorithmSet) throws {
        var lab = Ladder(initiator: initiatorConfiguration(ike: set.ike, group: set.group, esp: set.esp))
        lab.establish()
        let client = try #require(lab.initiatorActions.installed.first)
        let gateway = try #require(lab.responderActions.installed.first)
        var clientOut = try client.outboundSA(now: lab.now)
        var gatewayIn = try gateway.inboundSA(now: lab.now)
        var gatewayOut = try gateway.outboundSA(now: lab.now)
        var clientIn = try client.inboundSA(now: lab.now)

        let packet = try clientOut.seal(Self.innerPacket, now: lab.now, crypto: openSSL)
        let opened = try gatewayIn.open(packet, now: lab.now, crypto: openSSL)
        #expect(opened.payload == Self.innerPacket)
        let reply = try gatewayOut.seal(Self.innerPacket, now: lab.now, crypto: openSSL)
        #expect(try clientIn.open(reply, now: lab.now, crypto: openSSL).payload == Self.innerPacket)
        // A replay of the same packet is refused by the gateway's window.
        #expect(throws: ESPError.self) { try gatewayIn.open(packet, now: lab.now, crypto: openSSL) }
    }

    @Test func rekeyedChildSAWithPFSCarriesTraffic() throws {
        var lab = Ladder()
        lab.establish()
        let old = try #require(lab.initiator.childSAs.first)
        lab.pump(lab.initiator.rekeyChildSA(inboundSPI: old.inboundSPI, pfs: .ecp256, now: lab.now))
        let client = try #require(lab.initiatorActions.installed.last)
        let gateway = try #require(lab.responderActions.installed.last)
        var out = try client.outboundSA(now: lab.now)
        var inbound = try gateway.inboundSA(now: lab.now)
        #expect(try inbound.open(try out.seal(Self.innerPacket, now: lab.now, crypto: openSSL), now: lab.now, crypto: openSSL).payload
                == Self.innerPacket)
    }
}
