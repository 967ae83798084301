import SLBConfig
import SLBCore
import SLBWire
import Testing

/// Connection states and removal (spec §2.3, §2.8): INIT on the first packet, ESTAB on the
/// next packet of the same flow, removed by the vserver's idle timer, purge or clear.
@Suite struct ConnectionLifecycleTests {
    @Test("UDP and ESP connections go INIT then ESTAB", arguments: [
        Flow.udp(client(10), 500, to: vip, 500),
        Flow.udp(client(10), 31_000, to: vip, 4500),
        Flow.esp(client(10), to: vip),
    ])
    func initThenEstablished(flow: Flow) {
        let engine = makeEngine(ipsecConfiguration())
        _ = engine.decide(flow, now: t(0))
        var row = engine.snapshot(now: t(0), connections: .all).connections
        #expect(row.map(\.state) == [.initial])
        #expect(row.first?.packets == 1)
        _ = engine.decide(flow, now: t(5))
        let snapshot = engine.snapshot(now: t(5), connections: .all)
        row = snapshot.connections
        #expect(row.map(\.state) == [.established])
        #expect(row.first?.created == t(0))
        #expect(row.first?.lastSeen == t(5))
        #expect(row.first?.packets == 2)
        #expect(snapshot.stats.connectionsCreated == 1)
        #expect(snapshot.stats.connectionsEstablished == 1)
        #expect(snapshot.stats.packetsBalanced == 2)
    }

    @Test("ESP is keyed without ports, shown as port 0")
    func espKeyedWithoutPorts() {
        let engine = makeEngine(ipsecConfiguration())
        let odd = Flow(ipProtocol: .esp, client: client(10), clientPort: 7, vip: vip, vipPort: 9)
        _ = engine.decide(odd, now: t(0))
        _ = engine.decide(.esp(client(10), to: vip), now: t(1))
        let rows = engine.snapshot(now: t(1), connections: .all).connections
        #expect(rows.count == 1)
        #expect(rows.first.map { ($0.clientPort, $0.vipPort, $0.state) } ?? (1, 1, .initial) == (0, 0, .established))
    }

    @Test("idle is measured from the last packet")
    func idleFromLastSeen() {
        let engine = makeEngine(ipsecConfiguration(idle: 60))
        let flow = Flow.udp(client(10), 500, to: vip, 500)
        _ = engine.decide(flow, now: t(0))
        _ = engine.decide(.esp(client(11), to: vip), now: t(0))
        _ = engine.decide(flow, now: t(50))
        _ = engine.expire(now: t(60))
        var rows = engine.snapshot(now: t(60), connections: .all).connections
        #expect(rows.map(\.client) == [client(10)])
        _ = engine.expire(now: t(109))
        rows = engine.snapshot(now: t(109), connections: .all).connections
        #expect(rows.count == 1)
        _ = engine.expire(now: t(110))
        let snapshot = engine.snapshot(now: t(110), connections: .all)
        #expect(snapshot.connections.isEmpty)
        #expect(snapshot.stats.connectionsDestroyed == 2)
        #expect(snapshot.stats.connectionsPurged == 0)
        #expect(snapshot.reals.allSatisfy { $0.connections == 0 })
    }

    /// The idle list is reordered once per second of activity, so a connection may go up
    /// to a second late, never early.
    @Test("idle expiry is never early and at most one second late")
    func idleResolution() {
        let engine = makeEngine(ipsecConfiguration(idle: 10))
        let a = Flow.udp(client(10), 500, to: vip, 500)
        let b = Flow.udp(client(11), 500, to: vip, 500)
        _ = engine.decide(a, now: .milliseconds(100))
        _ = engine.decide(b, now: .milliseconds(200))
        _ = engine.decide(a, now: .milliseconds(900))       // same second: not requeued
        _ = engine.expire(now: .milliseconds(10_199))
        #expect(engine.snapshot(now: .zero, connections: .all).connections.count == 2)
        _ = engine.expire(now: .milliseconds(10_200))       // b is due but behind a
        #expect(engine.snapshot(now: .zero, connections: .all).connections.count == 2)
        _ = engine.expire(now: .milliseconds(10_900))
        #expect(engine.snapshot(now: .zero, connections: .all).connections.isEmpty)
    }

    @Test("a MAXCONNS real is OPERATIONAL again once below the limit")
    func maxConnsClears() {
        let engine = makeEngine(SLBConfiguration(farms: [farm(weights: [1], maxConns: 2)],
                                                 vservers: [isakmp(idle: 60)]))
        #expect(placements(engine, count: 3, at: t(0)) == [0, 0, nil])
        #expect(engine.snapshot(now: t(0), connections: .none).reals.first?.state == .maxConns)
        _ = engine.decide(.udp(client(10), 500, to: vip, 500), now: t(30))
        _ = engine.expire(now: t(60))
        #expect(engine.snapshot(now: t(60), connections: .none).reals.first?.state == .operational)
        #expect(placements(engine, count: 1, firstClient: 40, at: t(60)) == [0])
    }

    struct ClearCase: CustomTestStringConvertible, Sendable {
        let scope: ClearScope
        /// nil: no vserver or serverfarm of that name.
        let cleared: Int?
        let left: [String]
        var testDescription: String { "\(scope)" }
    }

    @Test("clear ip slb connections", arguments: [
        ClearCase(scope: .all, cleared: 4, left: []),
        ClearCase(scope: .vserver("ESP"), cleared: 1, left: ["ISAKMP", "ISAKMP", "OTHER"]),
        ClearCase(scope: .serverfarm("GW"), cleared: 3, left: ["OTHER"]),
        ClearCase(scope: .serverfarm("NOPE"), cleared: nil, left: ["ISAKMP", "ISAKMP", "ESP", "OTHER"]),
        ClearCase(scope: .vserver("NOPE"), cleared: nil, left: ["ISAKMP", "ISAKMP", "ESP", "OTHER"]),
    ])
    func clearConnections(_ c: ClearCase) {
        let other = VirtualServer(name: "OTHER", address: IPv4Address(203, 0, 113, 200),
                                  service: .udp(port: 500), farm: "B", inService: true)
        let engine = makeEngine(SLBConfiguration(farms: [farm(weights: [1, 1]), farm("B", weights: [1])],
                                                 vservers: [isakmp(), esp(), other]))
        _ = engine.decide(.udp(client(10), 500, to: vip, 500), now: t(0))
        _ = engine.decide(.udp(client(11), 500, to: vip, 500), now: t(0))
        _ = engine.decide(.esp(client(10), to: vip), now: t(0))
        _ = engine.decide(.udp(client(10), 500, to: IPv4Address(203, 0, 113, 200), 500), now: t(0))
        #expect(engine.clearConnections(c.scope, now: t(1)) == c.cleared)
        let snapshot = engine.snapshot(now: t(1), connections: .all)
        #expect(snapshot.connections.map(\.vserver) == c.left)
        #expect(snapshot.stats.connectionsPurged == UInt64(c.cleared ?? 0))
        #expect(snapshot.stats.connectionsDestroyed == UInt64(c.cleared ?? 0))
    }

    @Test("clear ip slb counters restarts statistics, not state")
    func clearCounters() {
        let engine = makeEngine(ipsecConfiguration())
        _ = placements(engine, count: 3)
        _ = engine.decide(.udp(client(10), 500, to: vip, 500), now: t(1))
        _ = engine.decide(.udp(client(10), 500, to: IPv4Address(203, 0, 113, 9), 500), now: t(1))
        engine.clearCounters()
        let snapshot = engine.snapshot(now: t(1), connections: .all)
        #expect(snapshot.stats == EngineStatsZero.value)
        #expect(snapshot.reals.allSatisfy { $0.totalConnections == 0 && $0.packets == 0 })
        #expect(snapshot.vservers.allSatisfy { $0.totalConnections == 0 && $0.packets == 0 })
        #expect(snapshot.connections.count == 3)
        #expect(snapshot.reals.map(\.connections) == [3, 0, 0])
    }
}

enum EngineStatsZero {
    static var value: StatsSnapshot {
        var stats = StatsSnapshot()
        for reason in DropReason.allCases { stats.drops[reason.rawValue] = 0 }
        return stats
    }
}
