import SLBConfig
import SLBCore
import SLBWire
import Testing

/// `failaction purge` whatever the real's admin state (spec header: purge on PROBE_FAILED,
/// `no inservice` drains; §2.7; §0 item 4). Operator story: drain a gateway with
/// `no inservice`, power it off: its clients must not stay black-holed for `idle`.
@Suite("Purge of failed reals in any admin state")
struct PurgeAdminStateTests {
    /// Real 0 holds client 10's ISAKMP + ESP and client 12's ISAKMP; real 1 client 11's.
    static func loaded(purge: Bool) -> Engine {
        let engine = makeEngine(ipsecConfiguration(weights: [1, 1], purge: purge))
        _ = engine.decide(.udp(client(10), 500, to: vip, 500), now: t(0))
        _ = engine.decide(.esp(client(10), to: vip), now: t(0))
        _ = engine.decide(.udp(client(11), 500, to: vip, 500), now: t(0))
        _ = engine.decide(.udp(client(12), 500, to: vip, 500), now: t(0))
        return engine
    }

    static func edited(purge: Bool, realZeroInService: Bool = true) -> SLBConfiguration {
        var configuration = ipsecConfiguration(weights: [1, 1], purge: purge)
        configuration.farms[0].reals[0].inService = realZeroInService
        return configuration
    }

    struct FailCase: CustomTestStringConvertible, Sendable {
        let purge: Bool
        let inService: Bool
        let events: [String]
        let connectionsLeft: Int
        let state: RealState
        var testDescription: String {
            "\(purge ? "failaction purge" : "no failaction"), \(inService ? "inservice" : "no inservice (draining)")"
        }
    }

    @Test("a real failing its probes is purged in a purge farm, in service or draining", arguments: [
        FailCase(purge: true, inService: true, events: ["slb.real.down", "slb.purge"], connectionsLeft: 0,
                 state: .probeFailed),
        // Admin state wins the state column (spec §2.6), but the flows go.
        FailCase(purge: true, inService: false, events: ["slb.purge"], connectionsLeft: 0, state: .outOfService),
        FailCase(purge: false, inService: true, events: ["slb.real.down"], connectionsLeft: 3, state: .probeFailed),
        FailCase(purge: false, inService: false, events: [], connectionsLeft: 3, state: .outOfService),
    ])
    func failure(_ c: FailCase) {
        let engine = Self.loaded(purge: c.purge)
        let report = engine.reconfigure(to: Self.edited(purge: c.purge, realZeroInService: c.inService), now: t(1))
        #expect(report.tables == .kept)
        #expect(report.purgedConnections == 0)
        // Draining: real 0 keeps its flows while it answers probes.
        #expect(engine.snapshot(now: t(1), connections: .none).reals[0].connections == 3)

        let events = failReal(engine, 0, at: t(5))
        #expect(events.map(\.name) == c.events)
        if c.purge {
            #expect(events.last == .purge(real: RealID(0), address: gateway(1), farm: "GW", connections: 3, at: t(5)))
        }
        let snapshot = engine.snapshot(now: t(5), connections: .none)
        #expect(snapshot.reals[0].state == c.state)
        #expect(snapshot.reals[0].connections == c.connectionsLeft)
        #expect(snapshot.stats.connectionsPurged == UInt64(3 - c.connectionsLeft))
        // Its client's next IKE packet: re-balanced to the live real after a purge.
        let next = engine.decide(.udp(client(10), 500, to: vip, 500), now: t(6)).real
        #expect(next == (c.connectionsLeft == 0 ? 1 : 0))
        // A second failure of the same outage purges nothing more and says nothing.
        #expect(failReal(engine, 0, at: t(7)).isEmpty)
    }

    struct ReloadCase: CustomTestStringConvertible, Sendable {
        let name: String
        let before: (purge: Bool, inService: Bool)
        let after: (purge: Bool, inService: Bool)
        let purged: Int
        var testDescription: String { name }
    }

    @Test("a reload purges a real still PROBE_FAILED once its farm purges", arguments: [
        ReloadCase(name: "failaction purge added", before: (false, true), after: (true, true), purged: 3),
        ReloadCase(name: "failaction purge added while draining", before: (false, false), after: (true, false),
                   purged: 3),
        ReloadCase(name: "put back inservice with failaction purge added", before: (false, false),
                   after: (true, true), purged: 3),
        ReloadCase(name: "put back inservice, no failaction purge", before: (false, false), after: (false, true),
                   purged: 0),
        ReloadCase(name: "unrelated change, no failaction purge", before: (false, true), after: (false, true),
                   purged: 0),
    ])
    func reload(_ c: ReloadCase) {
        let engine = Self.loaded(purge: c.before.purge)
        _ = engine.reconfigure(to: Self.edited(purge: c.before.purge, realZeroInService: c.before.inService), now: t(1))
        failReal(engine, 0, at: t(2))
        _ = engine.takeEvents()
        #expect(engine.snapshot(now: t(2), connections: .none).reals[0].connections == 3)

        let report = engine.reconfigure(to: Self.edited(purge: c.after.purge, realZeroInService: c.after.inService),
                                        now: t(3))
        #expect(report.purgedConnections == c.purged)
        let events = engine.takeEvents()
        if c.purged > 0 {
            #expect(events == [.purge(real: RealID(0), address: gateway(1), farm: "GW", connections: c.purged, at: t(3))])
        } else {
            #expect(events.isEmpty)
        }
        let snapshot = engine.snapshot(now: t(3), connections: .none)
        #expect(snapshot.reals[0].connections == 3 - c.purged)
        #expect(snapshot.reals[0].state == (c.after.inService ? .probeFailed : .outOfService))
        #expect(snapshot.stats.connectionsPurged == UInt64(c.purged))
        // The healthy real is never touched.
        #expect(snapshot.reals[1].connections == 1)
    }

    @Test("a removed real kept draining is purged once it fails and its farm purges")
    func removedDrainingReal() throws {
        let engine = Self.loaded(purge: false)
        var removed = ipsecConfiguration(weights: [1, 1], purge: false)
        removed.farms[0].reals.removeFirst()
        let drain = engine.reconfigure(to: removed, now: t(1))
        #expect(drain.draining.map(\.address) == [gateway(1)])
        let real = try #require(engine.probeTargets.firstIndex { $0.address == gateway(1) })
        // Still probed while it drains; failing in a farm without purge keeps its flows (IOS default).
        #expect(failReal(engine, real, at: t(2)).isEmpty)
        var snapshot = engine.snapshot(now: t(2), connections: .none)
        #expect(snapshot.reals[real].state == .outOfService)
        #expect(snapshot.reals[real].connections == 3)

        var purging = removed
        purging.farms[0].failactionPurge = true
        let report = engine.reconfigure(to: purging, now: t(3))
        #expect(report.purgedConnections == 3)
        snapshot = engine.snapshot(now: t(3), connections: .none)
        #expect(snapshot.reals.map(\.address) == [gateway(2)])
        #expect(snapshot.stats.connectionsPurged == 3)
    }

    @Test("a draining real that fails in a purge farm loses its flows at once")
    func drainingRealInPurgeFarm() throws {
        let engine = Self.loaded(purge: true)
        var removed = ipsecConfiguration(weights: [1, 1], purge: true)
        removed.farms[0].reals[0].inService = false
        _ = engine.reconfigure(to: removed, now: t(1))
        let events = failReal(engine, 0, at: t(2))
        #expect(events == [.purge(real: RealID(0), address: gateway(1), farm: "GW", connections: 3, at: t(2))])
        // Recovery of an out-of-service real raises nothing and it stays out of service.
        let up = engine.probeResult(real: RealID(0), probe: "PING", success: true, rtt: nil, now: t(3))
        #expect(up.isEmpty)
        #expect(engine.snapshot(now: t(3), connections: .none).reals[0].state == .outOfService)
    }
}
