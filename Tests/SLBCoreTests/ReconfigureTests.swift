import SLBConfig
import SLBCore
import SLBWire
import Testing

/// Reload and `slb configure`: `Engine.reconfigure(to:now:)` keeps what still applies.
@Suite("Engine reconfiguration")
struct ReconfigureTests {
    static let farmText = """
        ip slb probe PING ping
         faildetect 3
        ip slb serverfarm GW
         REPLACE_FAILACTION
         probe PING
         real 198.51.100.11
          inservice
         real 198.51.100.12
          inservice
         real 198.51.100.13
          inservice
        ip slb vserver ISAKMP
         virtual 203.0.113.100 udp isakmp
         serverfarm GW
         sticky 3600 group 1
         inservice
        ip slb vserver ESP
         virtual 203.0.113.100 esp
         serverfarm GW
         sticky 3600 group 1
         inservice
        """

    static func configuration(purge: Bool = false, edit: (inout SLBConfiguration) -> Void = { _ in }) throws -> SLBConfiguration {
        let text = farmText.split(separator: "\n", omittingEmptySubsequences: false)
            .map { $0.contains("REPLACE_FAILACTION") ? (purge ? " failaction purge" : "!") : String($0) }
            .joined(separator: "\n")
        let result = ConfigParser.parse(text, file: "reconfigure.cfg")
        var configuration = try #require(result.configuration, "\(result.diagnostics)")
        edit(&configuration)
        return configuration
    }

    /// Twelve clients with IKE and ESP: four per gateway (round robin, weight 8 blocks of one
    /// client each because the sticky ESP follows IKE).
    static func loaded(_ configuration: SLBConfiguration) -> (Engine, [IPv4Address: IPv4Address]) {
        let engine = Engine(configuration: configuration, hashSeed: 7)
        var placed: [IPv4Address: IPv4Address] = [:]
        for n in 1...12 {
            let c = client(UInt8(10 + n))
            guard let real = engine.decide(.udp(c, 500, to: vip, 500), now: t(1)).real else { continue }
            _ = engine.decide(.esp(c, to: vip), now: t(1))
            placed[c] = engine.probeTargets[real].address
        }
        return (engine, placed)
    }

    static func addressOf(_ engine: Engine, _ verdict: Verdict) -> IPv4Address? {
        verdict.real.map { engine.probeTargets[$0].address }
    }

    @Test("an unchanged farm keeps every connection and sticky object; each client stays on its gateway")
    func unchangedFarmKeepsConnections() throws {
        let (engine, placed) = Self.loaded(try Self.configuration())
        let before = engine.tableFootprint
        let report = engine.reconfigure(to: try Self.configuration { $0.vservers[0].idle = 600 }, now: t(2))
        #expect(report.restore.connectionsRestored == before.connections)
        #expect(report.restore.stickyRestored == before.sticky)
        #expect(report.restore.totalConnectionsDropped == 0)
        #expect(!report.realsRenumbered)
        #expect(!report.tablesRebuilt, "an idle change keeps the tables as they are")
        #expect(engine.configuration.vservers[0].idle == 600)
        for (c, gateway) in placed {
            #expect(Self.addressOf(engine, engine.decide(.udp(c, 500, to: vip, 500), now: t(3))) == gateway)
            #expect(Self.addressOf(engine, engine.decide(.esp(c, to: vip), now: t(3))) == gateway)
        }
    }

    @Test("a real inserted before others renumbers RealIDs; clients still reach the same address")
    func renumberedRealsKeepClients() throws {
        let (engine, placed) = Self.loaded(try Self.configuration())
        let report = engine.reconfigure(to: try Self.configuration {
            $0.farms[0].reals.insert(RealServer(address: IPv4Address(198, 51, 100, 10), inService: true), at: 0)
        }, now: t(2))
        #expect(report.realsRenumbered)
        #expect(report.tablesRebuilt)
        #expect(report.restore.totalConnectionsDropped == 0)
        #expect(engine.probeTargets.map(\.address).first == IPv4Address(198, 51, 100, 10))
        for (c, gateway) in placed {
            #expect(Self.addressOf(engine, engine.decide(.esp(c, to: vip), now: t(3))) == gateway)
        }
    }

    @Test("a removed real of a farm without failaction purge drains: its clients stay, new clients avoid it")
    func removedRealDrains() throws {
        let (engine, placed) = Self.loaded(try Self.configuration())
        let removed = gateway(2)
        let report = engine.reconfigure(to: try Self.configuration { $0.farms[0].reals.remove(at: 1) }, now: t(2))
        #expect(report.draining == [RealIdentity(farm: "GW", address: removed, port: nil)])
        #expect(report.purgedConnections == 0)
        let snapshot = engine.snapshot(now: t(2), connections: .none)
        #expect(snapshot.reals.first { $0.address == removed }?.state == .outOfService)
        for (c, gateway) in placed where gateway == removed {
            #expect(Self.addressOf(engine, engine.decide(.udp(c, 500, to: vip, 500), now: t(3))) == removed)
        }
        for n in 100..<130 {
            let placedNew = Self.addressOf(engine, engine.decide(.udp(client(UInt8(n)), 500, to: vip, 500), now: t(3)))
            #expect(placedNew != nil && placedNew != removed)
        }
    }

    @Test("a removed real of a failaction purge farm is purged: its clients are balanced afresh")
    func removedRealPurged() throws {
        let (engine, placed) = Self.loaded(try Self.configuration(purge: true))
        let removed = gateway(2)
        let moved = placed.filter { $0.value == removed }.map(\.key)
        #expect(!moved.isEmpty)
        let report = engine.reconfigure(to: try Self.configuration(purge: true) { $0.farms[0].reals.remove(at: 1) },
                                        now: t(2))
        #expect(report.draining.isEmpty)
        #expect(report.purgedConnections == moved.count * 2)
        #expect(report.restore.connectionsDropped[.realMismatch] == moved.count * 2)
        #expect(engine.snapshot(now: t(2), connections: .none).reals.allSatisfy { $0.address != removed })
        for c in moved {
            let next = Self.addressOf(engine, engine.decide(.udp(c, 500, to: vip, 500), now: t(3)))
            #expect(next != nil && next != removed)
            // ESP follows the new sticky binding.
            #expect(Self.addressOf(engine, engine.decide(.esp(c, to: vip), now: t(3))) == next)
        }
    }

    @Test("changed weights take effect for new clients (IOS round robin: weight consecutive picks)")
    func weightChange() throws {
        let (engine, _) = Self.loaded(try Self.configuration())
        let report = engine.reconfigure(to: try Self.configuration {
            $0.farms[0].reals[0].weight = 3
            $0.farms[0].reals[1].weight = 1
            $0.farms[0].reals[2].weight = 1
        }, now: t(2))
        let picks = (0..<10).compactMap {
            Self.addressOf(engine, engine.decide(.udp(IPv4Address(192, 0, 2, UInt8(100 + $0)), 500, to: vip, 500), now: t(3)))
        }
        #expect(!report.tablesRebuilt)
        #expect(picks == [gateway(1), gateway(1), gateway(1), gateway(2), gateway(3),
                          gateway(1), gateway(1), gateway(1), gateway(2), gateway(3)])
    }

    @Test("changed maxconns takes effect: the real turns MAXCONNS at its new cap")
    func maxConnsChange() throws {
        let (engine, _) = Self.loaded(try Self.configuration())
        _ = engine.reconfigure(to: try Self.configuration { $0.farms[0].reals[0].maxConns = 2 }, now: t(2))
        let real = engine.snapshot(now: t(2), connections: .none).reals[0]
        #expect(real.maxConns == 2)
        #expect(real.state == .maxConns)
    }

    @Test("`no inservice` on a real drains it; on a vserver it stops new flows while existing ones continue")
    func noInservice() throws {
        let (engine, placed) = Self.loaded(try Self.configuration())
        _ = engine.reconfigure(to: try Self.configuration { $0.farms[0].reals[0].inService = false }, now: t(2))
        let first = gateway(1)
        for (c, placedOn) in placed where placedOn == first {
            #expect(Self.addressOf(engine, engine.decide(.esp(c, to: vip), now: t(3))) == first)
        }
        #expect(Self.addressOf(engine, engine.decide(.udp(client(200), 500, to: vip, 500), now: t(3))) != first)

        _ = engine.reconfigure(to: try Self.configuration {
            $0.farms[0].reals[0].inService = false
            $0.vservers[0].inService = false
        }, now: t(4))
        let existing = try #require(placed.first?.key)
        #expect(engine.decide(.udp(existing, 500, to: vip, 500), now: t(5)).real != nil)
        #expect(engine.decide(.udp(client(201), 500, to: vip, 500), now: t(5)) == .pass)
    }

    @Test("the in-place path and the rebuild path leave the same tables",
          arguments: [false, true])
    func pathsAgree(forceRebuild: Bool) throws {
        let (engine, placed) = Self.loaded(try Self.configuration())
        var target = try Self.configuration { $0.farms[0].reals[2].weight = 2 }
        // A sticky timer change forces the export/import path; compare its tables with the kept ones.
        if forceRebuild { for v in target.vservers.indices { target.vservers[v].sticky?.seconds = 3599 } }
        let report = engine.reconfigure(to: target, now: t(2))
        #expect(report.tablesRebuilt == forceRebuild)
        let rows = engine.snapshot(now: t(2), connections: .all).connections
        #expect(rows.count == 24)
        for row in rows { #expect(placed[row.client] == row.real) }
        _ = engine.expire(now: t(1 + 3600))
        #expect(engine.tableFootprint.connections == 0)
    }

    @Test("probe history carries over: a PROBE_FAILED real stays failed across a reload")
    func probeStateCarriesOver() throws {
        let (engine, _) = Self.loaded(try Self.configuration())
        for _ in 0..<3 { _ = engine.probeResult(real: RealID(2), probe: "PING", success: false, rtt: nil, now: t(2)) }
        #expect(engine.snapshot(now: t(2), connections: .none).reals[2].state == .probeFailed)
        _ = engine.reconfigure(to: try Self.configuration { $0.vservers[1].idle = 900 }, now: t(3))
        let after = engine.snapshot(now: t(3), connections: .none)
        #expect(after.reals[2].state == .probeFailed)
        #expect(after.probes.filter { $0.state == .failed }.count == 1)
        #expect(after.stats.connectionsCreated == 24)
    }
}
