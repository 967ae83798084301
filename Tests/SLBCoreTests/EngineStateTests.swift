import SLBConfig
import SLBCore
import SLBWire
import Testing

/// Export/import of the tables by identity: the state file and reload both rest on it.
@Suite("Engine state export and import")
struct EngineStateTests {
    static func loaded(_ configuration: SLBConfiguration = ipsecConfiguration()) -> (Engine, [IPv4Address: Int]) {
        let engine = Engine(configuration: configuration, hashSeed: 3)
        var placed: [IPv4Address: Int?] = [:]
        for n in 1...30 {
            let c = client(UInt8(n))
            placed[c] = engine.decide(.udp(c, 500, to: vip, 500), now: t(10)).real
            _ = engine.decide(.esp(c, to: vip), now: t(10))
            _ = engine.decide(.esp(c, to: vip), now: t(11))
        }
        return (engine, placed.compactMapValues { $0 })
    }

    @Test("a round trip into a fresh engine restores every connection, binding and placement")
    func roundTrip() throws {
        let (engine, placed) = Self.loaded()
        let state = engine.exportState(now: t(20))
        #expect(state.connections.count == 60)
        #expect(state.sticky.count == 30)
        let restored = Engine(configuration: ipsecConfiguration(), hashSeed: 99)
        let report = try restored.importState(state, now: t(500))
        #expect(report.connectionsRestored == 60 && report.stickyRestored == 30)
        #expect(report.totalConnectionsDropped == 0 && report.totalStickyDropped == 0)
        // Established state, packet counts and idle times came along (times relative to now).
        let rows = restored.snapshot(now: t(500), connections: .all).connections
        #expect(rows.filter { $0.ipProtocol == .esp }.allSatisfy { $0.state == .established && $0.packets == 2 })
        #expect(rows.filter { $0.ipProtocol == .esp }.allSatisfy { t(500) - $0.lastSeen == .seconds(9) })
        for (c, real) in placed {
            #expect(restored.decide(.udp(c, 500, to: vip, 500), now: t(501)).real == real)
            #expect(restored.decide(.udp(c, 4500, to: vip, 4500), now: t(501)).real == real)
        }
        #expect(restored.snapshot(now: t(501), connections: .none).reals.map(\.connections)
            == engine.snapshot(now: t(20), connections: .none).reals.map { $0.connections + $0.connections / 2 })
    }

    @Test("idle timers continue: a restored connection expires idle seconds after its last packet")
    func idleContinues() throws {
        let (engine, _) = Self.loaded(ipsecConfiguration(idle: 60))
        let restored = Engine(configuration: ipsecConfiguration(idle: 60), hashSeed: 1)
        _ = try restored.importState(engine.exportState(now: t(40)), now: t(1000))
        // ISAKMP last seen at 10 (30 s before export), ESP at 11: gone 60 s after.
        _ = restored.expire(now: t(1029))
        #expect(restored.tableFootprint.connections == 60)
        _ = restored.expire(now: t(1030))
        #expect(restored.tableFootprint.connections == 30)
        _ = restored.expire(now: t(1031))
        #expect(restored.tableFootprint.connections == 0)
    }

    @Test("an unreferenced sticky object keeps its remaining time")
    func stickyTimerContinues() throws {
        let (engine, _) = Self.loaded(ipsecConfiguration(sticky: 100))
        _ = engine.clearConnections(.all, now: t(50))   // sticky timers start: expire at 150
        let restored = Engine(configuration: ipsecConfiguration(sticky: 100), hashSeed: 5)
        let report = try restored.importState(engine.exportState(now: t(60)), now: t(2000))
        #expect(report.stickyRestored == 30 && report.connectionsRestored == 0)
        _ = restored.expire(now: t(2089))
        #expect(restored.tableFootprint.sticky == 30)
        _ = restored.expire(now: t(2090))
        #expect(restored.tableFootprint.sticky == 0)
    }

    enum Mismatch: String, CaseIterable { case realRemoved, vipChanged, stickyGroupChanged }

    @Test("entries the new configuration cannot hold are dropped and counted by reason", arguments: Mismatch.allCases)
    func mismatches(_ mismatch: Mismatch) throws {
        let (engine, placed) = Self.loaded()
        var configuration = ipsecConfiguration()
        switch mismatch {
        case .realRemoved: configuration.farms[0].reals.remove(at: 0)
        case .vipChanged: configuration.vservers[2].address = IPv4Address(203, 0, 113, 101)
        case .stickyGroupChanged: for i in configuration.vservers.indices { configuration.vservers[i].sticky?.group = 2 }
        }
        let restored = Engine(configuration: configuration, hashSeed: 5)
        let report = try restored.importState(engine.exportState(now: t(20)), now: t(20))
        let onFirst = placed.values.filter { $0 == 0 }.count
        switch mismatch {
        case .realRemoved:
            #expect(report.connectionsDropped == [.realMismatch: onFirst * 2])
            #expect(report.stickyDropped == [.realMismatch: onFirst])
        case .vipChanged:
            #expect(report.connectionsDropped == [.vserverMismatch: 30])
            #expect(report.connectionsRestored == 30)
        case .stickyGroupChanged:
            #expect(report.stickyDropped == [.stickyDomainMismatch: 30])
            #expect(report.connectionsRestored == 60)
            // Connections stay; with no binding they are no longer marked sticky.
            #expect(restored.snapshot(now: t(20), connections: .all).connections.allSatisfy { !$0.sticky })
        }
    }

    @Test("records pointing outside the state are dropped, never trapped on")
    func invalidRecords() throws {
        var state = Self.loaded().0.exportState(now: t(20))
        state.connections[0].real = 999
        state.connections[1].vserver = -1
        state.connections[2].sticky = 12345
        state.sticky[0].real = -5
        let restored = Engine(configuration: ipsecConfiguration(), hashSeed: 5)
        let report = try restored.importState(state, now: t(20))
        #expect(report.connectionsDropped[.invalidRecord] == 2)
        #expect(report.stickyDropped[.invalidRecord] == 1)
    }

    @Test("import needs empty tables")
    func notEmpty() {
        let (engine, _) = Self.loaded()
        #expect(throws: StateImportError.tablesNotEmpty) { try engine.importState(engine.exportState(now: t(20)), now: t(20)) }
    }
}

/// The periodic save copies the tables a page per loop iteration.
@Suite("Engine paged state export")
struct PagedExportTests {
    static func export(_ engine: Engine, limit: Int, now: MonotonicTime, between: (Int) -> Void = { _ in }) -> EngineState {
        var export = engine.beginStateExport()
        var pages = 0
        while !export.isComplete && pages < 100_000 {
            engine.continueStateExport(&export, limit: limit, now: now)
            between(pages)
            pages += 1
        }
        return export.state
    }

    @Test("pages of any size give the one-shot export", arguments: [1, 5, 64, 1 << 20])
    func pagesEqualOneShot(limit: Int) {
        let (engine, _) = EngineStateTests.loaded()
        #expect(Self.export(engine, limit: limit, now: t(20)) == engine.exportState(now: t(20)))
    }

    @Test("a sticky slot reused between pages is never saved as another client's binding")
    func reusedStickySlot() throws {
        let (engine, _) = EngineStateTests.loaded(ipsecConfiguration(sticky: 10, idle: 60))
        // Sticky pass first (30 slots at 64 per page), then churn: every client's connections
        // idle out, their objects expire, new clients take the freed sticky slots.
        let state = Self.export(engine, limit: 31, now: t(20)) { page in
            guard page == 0 else { return }
            _ = engine.expire(now: t(200))
            _ = engine.expire(now: t(211))
            #expect(engine.tableFootprint.sticky == 0)
            for n in 100..<130 { _ = engine.decide(.udp(client(UInt8(n)), 500, to: vip, 500), now: t(211)) }
        }
        for record in state.connections {
            guard let s = record.sticky else { continue }
            #expect(state.sticky[s].client == record.client, "connection \(record.client) saved with \(state.sticky[s].client)'s binding")
        }
        #expect(state.connections.contains { $0.client == client(100) && $0.sticky == nil })
    }

    @Test("a reconfiguration during an export restarts it: no mixed slots")
    func reconfiguredMidExport() {
        let (engine, _) = EngineStateTests.loaded()
        let state = Self.export(engine, limit: 16, now: t(20)) { page in
            if page == 3 { _ = engine.reconfigure(to: ipsecConfiguration(weights: [8, 8, 8, 8]), now: t(20)) }
        }
        #expect(state == engine.exportState(now: t(20)))
        #expect(Set(state.connections.map { "\($0.vserver) \($0.client) \($0.clientPort)" }).count == state.connections.count)
    }
}
