import SLBConfig
import SLBCore
import SLBWire
import Testing

/// `ip slb entries conn N sticky M`: a full table turns new flows into counted drops and
/// never evicts what it holds.
@Suite struct TableLimitTests {
    @Test("a full connection table drops new flows and keeps established ones")
    func connectionTableFull() {
        let engine = makeEngine(ipsecConfiguration(weights: [1, 1], idle: 60,
                                                   entries: TableLimits(connections: 2, sticky: 100)))
        #expect(placements(engine, count: 2, at: t(0)) == [0, 1])
        #expect(engine.decide(.udp(client(12), 500, to: vip, 500), now: t(1)) == .drop(.connectionTableFull))
        // The client's buddied ESP needs a connection too: also refused.
        #expect(engine.decide(.esp(client(10), to: vip), now: t(1)) == .drop(.connectionTableFull))
        #expect(engine.decide(.udp(client(10), 500, to: vip, 500), now: t(30)) == .forward(RealID(0)))
        var snapshot = engine.snapshot(now: t(30), connections: .all)
        #expect(snapshot.connections.count == 2)
        #expect(snapshot.stats.drops[DropReason.connectionTableFull.rawValue] == 2)
        #expect(snapshot.stats.stickyCreated == 2)     // the dropped flow bound nothing
        _ = engine.expire(now: t(60))                  // client 11 idles out
        #expect(engine.decide(.udp(client(12), 500, to: vip, 500), now: t(60)) == .forward(RealID(0)))
        snapshot = engine.snapshot(now: t(60), connections: .all)
        #expect(snapshot.connections.map(\.client) == [client(10), client(12)])
    }

    @Test("a full sticky table drops clients needing a new binding; bound clients carry on")
    func stickyTableFull() {
        let engine = makeEngine(ipsecConfiguration(weights: [2, 1], entries: TableLimits(connections: 100, sticky: 1)))
        #expect(engine.decide(.udp(client(10), 500, to: vip, 500), now: t(0)) == .forward(RealID(0)))
        #expect(engine.decide(.udp(client(11), 500, to: vip, 500), now: t(0)) == .drop(.stickyTableFull))
        #expect(engine.decide(.esp(client(10), to: vip), now: t(0)) == .forward(RealID(0)))
        // The refused flow consumed no round-robin turn.
        let snapshot = engine.snapshot(now: t(0), connections: .all)
        #expect(snapshot.reals.map(\.remainder) == [1, 0])
        #expect(snapshot.stats.drops[DropReason.stickyTableFull.rawValue] == 1)
        #expect(snapshot.sticky.count == 1)
        #expect(snapshot.connections.count == 2)
    }

    /// The tables grow from 64 buckets to cover their cap; every flow must still find its
    /// connection and real after growth, removals and slot reuse.
    @Test("many flows: growth, expiry and slot reuse keep every flow on its real")
    func manyFlows() {
        let engine = makeEngine(ipsecConfiguration(weights: [3, 5, 7], idle: 100,
                                                   entries: TableLimits(connections: 20_000, sticky: 20_000)))
        var assigned: [Flow: Int] = [:]
        func flow(_ i: Int) -> Flow {
            .udp(client(UInt8(i % 250 + 1)), UInt16(1024 + i), to: vip, 500)
        }
        for i in 0..<6_000 { assigned[flow(i)] = engine.decide(flow(i), now: t(0)).real }
        for i in stride(from: 0, to: 6_000, by: 2) { _ = engine.decide(flow(i), now: t(50)) }
        _ = engine.expire(now: t(100))               // odd flows idle out
        #expect(engine.tableFootprint.connections == 3_000)
        for i in 6_000..<9_000 { assigned[flow(i)] = engine.decide(flow(i), now: t(101)).real }
        for i in stride(from: 0, to: 6_000, by: 2) {
            #expect(engine.decide(flow(i), now: t(102)).real == assigned[flow(i)])
        }
        for i in 6_000..<9_000 { #expect(engine.decide(flow(i), now: t(102)).real == assigned[flow(i)]) }
        let snapshot = engine.snapshot(now: t(102), connections: .all)
        #expect(snapshot.connections.count == 6_000)
        #expect(snapshot.connections.allSatisfy { $0.state == .established })
        #expect(snapshot.reals.map(\.connections).reduce(0, +) == 6_000)
        #expect(snapshot.stats.connectionsCreated == 9_000)
        #expect(snapshot.stats.connectionsDestroyed == 3_000)
    }

    @Test("tables grow lazily: a small test does not allocate the configured millions")
    func lazyGrowth() {
        let engine = makeEngine(ipsecConfiguration())
        _ = placements(engine, count: 10)
        let footprint = engine.tableFootprint
        #expect(footprint.connections == 10)
        #expect(footprint.connectionTableBytes < 64 * 1024)
        #expect(footprint.stickyTableBytes < 64 * 1024)
        #expect(footprint.connectionSlotBytes <= 128)
        #expect(footprint.stickySlotBytes <= 64)
    }
}
