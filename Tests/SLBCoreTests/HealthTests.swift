import SLBConfig
import SLBCore
import SLBWire
import Testing

/// Real-server health from probes (spec §2.6) and `failaction purge` (spec §2.7).
@Suite struct HealthTests {
    @Test("faildetect consecutive misses of one probe fail the real; one success clears the misses")
    func faildetectCountsConsecutiveMisses() {
        let engine = makeEngine(ipsecConfiguration())
        let real = RealID(0)
        #expect(engine.probeResult(real: real, probe: "PING", success: false, rtt: nil, now: t(1)).isEmpty)
        #expect(engine.probeResult(real: real, probe: "PING", success: false, rtt: nil, now: t(2)).isEmpty)
        #expect(engine.probeResult(real: real, probe: "PING", success: true, rtt: .milliseconds(2), now: t(3)).isEmpty)
        #expect(engine.probeResult(real: real, probe: "PING", success: false, rtt: nil, now: t(4)).isEmpty)
        #expect(engine.probeResult(real: real, probe: "PING", success: false, rtt: nil, now: t(5)).isEmpty)
        let events = engine.probeResult(real: real, probe: "PING", success: false, rtt: nil, now: t(6))
        #expect(events.map(\.name) == ["slb.real.down"])
        #expect(engine.snapshot(now: t(6), connections: .none).reals[0].state == .probeFailed)
        let up = engine.probeResult(real: real, probe: "PING", success: true, rtt: nil, now: t(16))
        #expect(up == [.realUp(real: real, address: gateway(1), farm: "GW", at: t(16))])
        let snapshot = engine.snapshot(now: t(16), connections: .none)
        #expect(snapshot.reals[0].state == .operational)
        #expect(snapshot.reals[0].serverFailures == 1)
        let ping = snapshot.probes.first { $0.probe == "PING" && $0.real == gateway(1) }
        #expect(ping?.outages == 1)
        #expect(ping?.cumulativeOutage == .seconds(10))
        #expect(ping?.currentOutage == nil)
        #expect(ping?.state == .operational)
    }

    @Test("misses of different probes do not add up; the real is up only when no probe fails")
    func probesAreIndependent() {
        let engine = makeEngine(ipsecConfiguration())
        let real = RealID(1)
        // PING faildetect 3, IKE faildetect 2 in the fixture.
        _ = engine.probeResult(real: real, probe: "PING", success: false, rtt: nil, now: t(1))
        _ = engine.probeResult(real: real, probe: "PING", success: false, rtt: nil, now: t(1))
        #expect(engine.probeResult(real: real, probe: "IKE", success: false, rtt: nil, now: t(1)).isEmpty)
        #expect(engine.probeResult(real: real, probe: "IKE", success: false, rtt: nil, now: t(2)).map(\.name)
            == ["slb.real.down"])
        #expect(engine.probeResult(real: real, probe: "PING", success: false, rtt: nil, now: t(3)).isEmpty)
        #expect(engine.probeResult(real: real, probe: "IKE", success: true, rtt: nil, now: t(4)).isEmpty)
        #expect(engine.snapshot(now: t(4), connections: .none).reals[1].state == .probeFailed)
        #expect(engine.probeResult(real: real, probe: "PING", success: true, rtt: nil, now: t(5)).map(\.name)
            == ["slb.real.up"])
        let probes = engine.snapshot(now: t(5), connections: .none).probes
        #expect(probes.count == 6)   // one row per (probe, real)
        #expect(probes.filter { $0.real == gateway(3) }.allSatisfy { $0.state == .testing })
    }

    @Test("an unknown real or probe is ignored")
    func unknownIgnored() {
        let engine = makeEngine(ipsecConfiguration())
        #expect(engine.probeResult(real: RealID(99), probe: "PING", success: false, rtt: nil, now: t(1)).isEmpty)
        #expect(engine.probeResult(real: RealID(0), probe: "NOPE", success: false, rtt: nil, now: t(1)).isEmpty)
        #expect(engine.probeResult(real: RealID(-1), probe: "PING", success: false, rtt: nil, now: t(1)).isEmpty)
    }

    @Test("an out-of-service real raises no events and stays OUTOFSERVICE")
    func outOfServiceRealIsQuiet() {
        var configuration = ipsecConfiguration()
        configuration.farms[0].reals[2].inService = false
        let engine = makeEngine(configuration)
        #expect(failReal(engine, 2, at: t(1)).isEmpty)
        #expect(engine.snapshot(now: t(1), connections: .none).reals[2].state == .outOfService)
    }

    struct PurgeCase: CustomTestStringConvertible, Sendable {
        let purge: Bool
        let events: [String]
        let connectionsLeft: Int
        let nextISAKMPReal: Int
        var testDescription: String { purge ? "failaction purge" : "no failaction purge" }
    }

    @Test("a failed real's connections with and without failaction purge", arguments: [
        PurgeCase(purge: true, events: ["slb.real.down", "slb.purge"], connectionsLeft: 0, nextISAKMPReal: 1),
        PurgeCase(purge: false, events: ["slb.real.down"], connectionsLeft: 3, nextISAKMPReal: 0),
    ])
    func purge(_ c: PurgeCase) {
        let engine = makeEngine(ipsecConfiguration(weights: [1, 1], purge: c.purge))
        let a = client(10)
        _ = engine.decide(.udp(a, 500, to: vip, 500), now: t(0))
        _ = engine.decide(.esp(a, to: vip), now: t(0))
        _ = engine.decide(.udp(client(11), 500, to: vip, 500), now: t(0))   // real 1
        _ = engine.decide(.udp(client(12), 500, to: vip, 500), now: t(0))   // real 0
        let events = failReal(engine, 0, at: t(5))
        #expect(events.map(\.name) == c.events)
        if c.purge {
            #expect(events.last == .purge(real: RealID(0), address: gateway(1), farm: "GW", connections: 3, at: t(5)))
        }
        var snapshot = engine.snapshot(now: t(5), connections: .all)
        #expect(snapshot.reals[0].connections == c.connectionsLeft)
        #expect(snapshot.stats.connectionsPurged == (c.purge ? 3 : 0))
        #expect(snapshot.stats.connectionsDestroyed == (c.purge ? 3 : 0))
        // The client's next IKE packet: re-balanced after a purge, black-holed without.
        #expect(engine.decide(.udp(a, 500, to: vip, 500), now: t(6)).real == c.nextISAKMPReal)
        // Either way its new NAT-T connection follows the (re)bound sticky object to a live real.
        #expect(engine.decide(.udp(a, 4500, to: vip, 4500), now: t(6)).real == 1)
        snapshot = engine.snapshot(now: t(6), connections: .client(a))
        #expect(snapshot.sticky.map(\.real) == [gateway(2)])
        // No new connections go to the failed real.
        #expect(placements(engine, count: 3, firstClient: 50, at: t(6)) == [1, 1, 1])
    }

    @Test("purge timers: purged connections start their sticky objects' timers")
    func purgeStartsStickyTimer() {
        let engine = makeEngine(ipsecConfiguration(weights: [1, 1], purge: true, sticky: 120))
        _ = engine.decide(.udp(client(10), 500, to: vip, 500), now: t(0))
        failReal(engine, 0, at: t(5))
        let sticky = engine.snapshot(now: t(5), connections: .all).sticky
        #expect(sticky.map(\.expiresIn) == [.seconds(120)])
        _ = engine.expire(now: t(125))
        #expect(engine.snapshot(now: t(125), connections: .all).sticky.isEmpty)
    }
}
