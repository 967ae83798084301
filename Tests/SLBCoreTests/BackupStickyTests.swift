import SLBConfig
import SLBCore
import SLBCoreAllocationCounter
import SLBWire
import Testing

/// `serverfarm PRIMARY backup BACKUP [sticky]` (spec §1.5). The backup farm takes new
/// connections while no primary real can; with `sticky` its placements create and honour
/// sticky objects like the primary's, without it they do not, so a client goes back to the
/// primary farm with its next connection once the primary can take it.
@Suite("backup serverfarm sticky")
struct BackupStickyTests {
    /// PRIMARY: one real (index 0) watched by PING (faildetect 1); BACKUP: reals 1 and 2,
    /// weight 1 each, so two unbound picks in a row land on different reals.
    static func configuration(backupSticky: Bool) -> SLBConfiguration {
        let settings = StickySettings(seconds: 600, group: 1)
        return SLBConfiguration(
            probes: [Probe(name: "PING", faildetect: 1)],
            farms: [farm("PRIMARY", weights: [1], probes: ["PING"]),
                    ServerFarm(name: "BACKUP", reals: [RealServer(address: gateway(8), weight: 1, inService: true),
                                                       RealServer(address: gateway(9), weight: 1, inService: true)])],
            vservers: [
                VirtualServer(name: "ISAKMP", address: vip, service: .udp(port: 500), farm: "PRIMARY",
                              backupFarm: "BACKUP", backupSticky: backupSticky, sticky: settings, inService: true),
                VirtualServer(name: "ESP", address: vip, service: .esp, farm: "PRIMARY",
                              backupFarm: "BACKUP", backupSticky: backupSticky, sticky: settings, inService: true),
            ])
    }

    struct Case: Sendable, CustomTestStringConvertible {
        var backupSticky: Bool
        /// Reals of client A's ISAKMP and ESP while the primary is down.
        var whileDown: [Int?]
        /// Real of client A's next ISAKMP connection after the primary came back.
        var afterRecovery: Int?
        var stickyCreated: UInt64
        var testDescription: String { backupSticky ? "backup BACKUP sticky" : "backup BACKUP" }
    }

    @Test("placements on the backup farm are sticky only with 'sticky'", arguments: [
        // Not sticky: ISAKMP and ESP are two independent picks (reals 1 and 2), no object is
        // made, and the primary takes the client back.
        Case(backupSticky: false, whileDown: [1, 2], afterRecovery: 0, stickyCreated: 0),
        // Sticky: ESP follows ISAKMP's binding, and the binding keeps the client on the backup.
        Case(backupSticky: true, whileDown: [1, 1], afterRecovery: 1, stickyCreated: 1),
    ])
    func backupPlacement(_ c: Case) {
        let engine = makeEngine(Self.configuration(backupSticky: c.backupSticky))
        failReal(engine, 0, at: t(1), misses: 1)
        let a = client(10)
        let down = [engine.decide(.udp(a, 500, to: vip, 500), now: t(2)).real, engine.decide(.esp(a, to: vip), now: t(2)).real]
        #expect(down == c.whileDown)
        let snapshot = engine.snapshot(now: t(2), connections: .all)
        #expect(snapshot.stats.stickyCreated == c.stickyCreated)
        #expect(snapshot.sticky.count == Int(c.stickyCreated))
        #expect(snapshot.connections.allSatisfy { $0.sticky == c.backupSticky })

        _ = engine.probeResult(real: RealID(0), probe: "PING", success: true, rtt: nil, now: t(3))
        #expect(engine.decide(.udp(a, 1500, to: vip, 500), now: t(4)).real == c.afterRecovery)
        // Connections already on the backup keep flowing there either way.
        #expect(engine.decide(.esp(a, to: vip), now: t(4)).real == c.whileDown[1])
    }

    @Test("without 'sticky', a binding to a failed primary real is neither honoured nor moved to the backup",
          arguments: [false, true])
    func bindingSurvivesBackupService(backupSticky: Bool) {
        let engine = makeEngine(Self.configuration(backupSticky: backupSticky))
        let a = client(20)
        #expect(engine.decide(.udp(a, 500, to: vip, 500), now: t(1)).real == 0)
        failReal(engine, 0, at: t(2), misses: 1)
        #expect(engine.decide(.udp(a, 1500, to: vip, 500), now: t(3)).real == 1)
        let bound = engine.snapshot(now: t(3), connections: .all).sticky.first?.real
        // With `sticky` the object follows the client to the backup (spec §2.5 rebind);
        // without it the object still names the primary real.
        #expect(bound == (backupSticky ? gateway(8) : gateway(1)))
        _ = engine.probeResult(real: RealID(0), probe: "PING", success: true, rtt: nil, now: t(4))
        #expect(engine.decide(.udp(a, 2500, to: vip, 500), now: t(5)).real == (backupSticky ? 1 : 0))
    }

    @Test("a binding to a backup real is not honoured by a vserver whose backup is not sticky")
    func bindingToBackupRealIgnoredWithoutSticky() {
        // Bindings made while `sticky` was on survive a reload that removes it.
        let engine = makeEngine(Self.configuration(backupSticky: true))
        failReal(engine, 0, at: t(1), misses: 1)
        let a = client(30)
        #expect(engine.decide(.udp(a, 500, to: vip, 500), now: t(2)).real == 1)
        _ = engine.reconfigure(to: Self.configuration(backupSticky: false), now: t(3))
        #expect(engine.snapshot(now: t(3), connections: .all).sticky.count == 1)
        _ = engine.probeResult(real: RealID(0), probe: "PING", success: true, rtt: nil, now: t(4))
        #expect(engine.decide(.udp(a, 1500, to: vip, 500), now: t(5)).real == 0)
    }

    /// New-flow placement is not allocation-free in the engine as a whole (about one call
    /// per new flow, in the tables' insert path, before this change too), so this counts the
    /// backup path against the primary path: the backup decision adds nothing.
    @Test("placing new flows on the backup farm costs no more allocations than on the primary", arguments: [false, true])
    func backupPlacementAllocations(backupSticky: Bool) throws {
        try #require(slb_allocation_counter_available() == 1)
        func count(primaryDown: Bool) -> (calls: Int, placed: Set<Int>) {
            let engine = makeEngine(Self.configuration(backupSticky: backupSticky))
            if primaryDown { failReal(engine, 0, at: t(1), misses: 1) }
            // Warm-up: lazily instantiated runtime metadata is not what this counts.
            for n in 1...4 { _ = engine.decide(.udp(client(UInt8(n)), 500, to: vip, 500), now: t(2)) }
            var placed: Set<Int> = []
            placed.reserveCapacity(8)
            slb_allocation_counter_start()
            for n in 20..<220 {
                if let real = engine.decide(.udp(client(UInt8(n)), 500, to: vip, 500), now: t(2)).real { placed.insert(real) }
            }
            return (Int(slb_allocation_counter_stop()), placed)
        }
        let primary = count(primaryDown: false)
        let backup = count(primaryDown: true)
        #expect(primary.placed == [0])
        #expect(backup.placed == [1, 2])
        #expect(backup.calls <= primary.calls, "backup \(backup.calls) vs primary \(primary.calls)")
    }
}
