import SLBConfig
import SLBCore
import SLBWire
import Testing

/// The IOS IPsec farm pattern end to end, from configuration text: ISAKMP, NAT-T and ESP
/// vservers in sticky group 1, a ping probe, `failaction purge` (spec §5, §10).
@Suite struct IPsecFarmScenarioTests {
    static let text = """
        ip slb probe GW-PING ping
         interval 1
         faildetect 3
        !
        ip slb serverfarm IPSEC
         failaction purge
         probe GW-PING
         real 198.51.100.11
          weight 2
          inservice
         real 198.51.100.12
          weight 2
          inservice
        !
        ip slb vserver IPSEC-ISAKMP
         virtual 203.0.113.100 udp isakmp
         serverfarm IPSEC
         sticky 600 group 1
         idle 120
         inservice
        ip slb vserver IPSEC-NATT
         virtual 203.0.113.100 udp 4500
         serverfarm IPSEC
         sticky 600 group 1
         idle 120
         inservice
        ip slb vserver IPSEC-ESP
         virtual 203.0.113.100 esp
         serverfarm IPSEC
         sticky 600 group 1
         idle 120
         inservice
        """

    func engine() throws -> Engine {
        let result = ConfigParser.parse(IPsecFarmScenarioTests.text, file: "ipsec.cfg")
        #expect(result.errors.isEmpty, "\(result.diagnostics)")
        return makeEngine(try #require(result.configuration))
    }

    @Test("two clients: blocks of two per gateway, each client's IKE, NAT-T and ESP on one gateway")
    func clientsStayTogether() throws {
        let slb = try engine()
        let alice = client(10), bob = client(11), carol = client(12)
        // IKE_SA_INIT -->
        #expect(slb.decide(.udp(alice, 500, to: vip, 500), now: t(0)).real == 0)
        #expect(slb.decide(.udp(bob, 500, to: vip, 500), now: t(0)).real == 0)     // weight 2: second pick
        #expect(slb.decide(.udp(carol, 500, to: vip, 500), now: t(0)).real == 1)
        // NAT detected: IKE_AUTH moves to 4500; then ESP-in-UDP and plain ESP for the others
        #expect(slb.decide(.udp(carol, 4500, to: vip, 4500), now: t(1)).real == 1)
        #expect(slb.decide(.esp(alice, to: vip), now: t(1)).real == 0)
        #expect(slb.decide(.esp(bob, to: vip), now: t(1)).real == 0)
        let snapshot = slb.snapshot(now: t(1), connections: .all)
        #expect(snapshot.reals.map(\.connections) == [4, 2])
        #expect(snapshot.sticky.map(\.group) == [1, 1, 1])
    }

    @Test("a gateway failure: purge, then the client's next IKE packet and its ESP move together")
    func failover() throws {
        let slb = try engine()
        let alice = client(10)
        _ = slb.decide(.udp(alice, 500, to: vip, 500), now: t(0))
        _ = slb.decide(.esp(alice, to: vip), now: t(1))
        var events: [EngineEvent] = []
        for second in 2...4 {
            events += slb.probeResult(real: RealID(0), probe: "GW-PING", success: false, rtt: nil, now: t(UInt64(second)))
            events += slb.probeResult(real: RealID(1), probe: "GW-PING", success: true, rtt: .milliseconds(1),
                                      now: t(UInt64(second)))
        }
        #expect(events.map(\.name) == ["slb.real.down", "slb.purge"])
        #expect(slb.snapshot(now: t(4), connections: .all).connections.isEmpty)
        // The client retransmits / rekeys: both halves land on the surviving gateway.
        #expect(slb.decide(.udp(alice, 500, to: vip, 500), now: t(5)).real == 1)
        #expect(slb.decide(.esp(alice, to: vip), now: t(5)).real == 1)
        // The dead gateway comes back: the client stays where its binding now points.
        events = slb.probeResult(real: RealID(0), probe: "GW-PING", success: true, rtt: nil, now: t(30))
        #expect(events.map(\.name) == ["slb.real.up"])
        #expect(slb.decide(.udp(alice, 4500, to: vip, 4500), now: t(31)).real == 1)
    }

    @Test("an idle client's binding outlives its connections by the sticky timer")
    func bindingOutlivesConnections() throws {
        let slb = try engine()
        let alice = client(10)
        #expect(slb.decide(.udp(alice, 500, to: vip, 500), now: t(0)).real == 0)
        _ = slb.expire(now: t(120))                               // idle 120 s: connection gone
        #expect(slb.snapshot(now: t(120), connections: .all).connections.isEmpty)
        _ = placements(slb, count: 1, firstClient: 50, at: t(121)) // rotation moves on
        #expect(slb.decide(.udp(alice, 500, to: vip, 500), now: t(700)).real == 0)   // 120 + 600 > 700
    }
}
