import SLBConfig
@testable import SLBCore
import SLBWire
import Testing

/// A reload that changes only the reals remaps RealIDs in the tables in place
/// (`TableCarry.remapped`); it must leave exactly what export + import leaves. Each case
/// loads two identical engines, reloads one each way, and compares reports, `show` rows,
/// exported state and what happens to every client afterwards.
@Suite("Engine reconfiguration: RealID remap equals export + import")
struct ReconfigureRemapTests {
    static let vip1 = IPv4Address(203, 0, 113, 100)
    static let vip2 = IPv4Address(203, 0, 113, 101)

    static let text = """
        ip slb probe PING ping
         faildetect 2
        ip slb serverfarm GW
         probe PING
         real 198.51.100.11
          inservice
         real 198.51.100.12
          inservice
         real 198.51.100.13
          inservice
        ip slb serverfarm PURGE
         failaction purge
         probe PING
         real 198.51.100.21
          inservice
         real 198.51.100.22
          inservice
         real 198.51.100.23
          inservice
        ip slb vserver ISAKMP
         virtual 203.0.113.100 udp isakmp
         serverfarm GW
         sticky 600 group 1
         idle 60
         inservice
        ip slb vserver ESP
         virtual 203.0.113.100 esp
         serverfarm GW
         sticky 600 group 1
         idle 60
         inservice
        ip slb vserver P-ISAKMP
         virtual 203.0.113.101 udp isakmp
         serverfarm PURGE
         sticky 600 group 2
         idle 60
         inservice
        ip slb vserver P-ESP
         virtual 203.0.113.101 esp
         serverfarm PURGE
         sticky 600 group 2
         idle 60
         inservice
        """

    static func base() throws -> SLBConfiguration {
        let result = ConfigParser.parse(text, file: "remap.cfg")
        return try #require(result.configuration, "\(result.errors)")
    }

    static func real(_ last: UInt8) -> IPv4Address { IPv4Address(198, 51, 100, last) }

    /// The state every case starts from, with each kind of entry a remap must handle:
    /// - 18 clients per VIP with ISAKMP + ESP (six per real);
    /// - .12 PROBE_FAILED (GW does not purge), and its first client's new ISAKMP flow from
    ///   port 1500 rebound that client's sticky object to another real, `rebound`;
    /// - `rebound`'s own clients and the port-1500 flow fell silent and expired: `rebound`
    ///   has no connection but sticky objects, one of them still referenced by the .12
    ///   client's connections;
    /// - the PURGE farm's clients on .21 expired too: their objects wait on the sticky timer.
    struct Loaded {
        let engine: Engine
        let rebound: IPv4Address
        let clients: [(IPv4Address, IPv4Address)]
    }

    static func load() throws -> Loaded {
        let engine = Engine(configuration: try base(), hashSeed: 11)
        var clients: [(IPv4Address, IPv4Address)] = []
        var placed: [IPv4Address: IPv4Address] = [:]
        for (vip, first) in [(vip1, UInt8(10)), (vip2, UInt8(30))] {
            for n in first..<(first + 18) {
                let c = client(n)
                clients.append((c, vip))
                guard let r = engine.decide(.udp(c, 500, to: vip, 500), now: t(1)).real else { continue }
                _ = engine.decide(.esp(c, to: vip), now: t(1))
                placed[c] = engine.probeTargets[r].address
            }
        }
        let failed = try #require(engine.probeTargets.firstIndex { $0.address == real(12) })
        for _ in 0..<2 { _ = engine.probeResult(real: RealID(Int32(failed)), probe: "PING", success: false, rtt: nil, now: t(2)) }
        let moved = try #require(clients.first { placed[$0.0] == real(12) }?.0)
        let to = try #require(engine.decide(.udp(moved, 1500, to: vip1, 500), now: t(2)).real)
        let rebound = engine.probeTargets[to].address
        #expect(rebound != real(12))
        // Everyone else stays active; `rebound`'s clients and .21's go silent.
        for (c, vip) in clients where placed[c] != rebound && placed[c] != real(21) {
            _ = engine.decide(.udp(c, 500, to: vip, 500), now: t(50))
            _ = engine.decide(.esp(c, to: vip), now: t(50))
        }
        _ = engine.expire(now: t(65))
        let after = engine.snapshot(now: t(65), connections: .all)
        #expect(after.reals.first { $0.address == rebound }?.connections == 0)
        #expect(after.sticky.contains { $0.real == rebound && $0.connections > 0 }, "an object bound to `rebound` held by .12's connections")
        #expect(after.sticky.contains { $0.real == real(21) && $0.expiresIn != nil })
        return Loaded(engine: engine, rebound: rebound, clients: clients)
    }

    enum Change: String, CaseIterable, Sendable, CustomTestStringConvertible {
        case addFront, addMiddle, addEnd, removeIdle, removeWithConnectionsDrain, removeWithConnectionsPurge,
             reorder, addRemoveAndReorder
        var testDescription: String { rawValue }

        func apply(_ configuration: inout SLBConfiguration, rebound: IPv4Address) {
            func index(_ farm: Int, _ address: IPv4Address) -> Int {
                configuration.farms[farm].reals.firstIndex { $0.address == address } ?? 0
            }
            let new = { (last: UInt8) in RealServer(address: ReconfigureRemapTests.real(last), inService: true) }
            switch self {
            case .addFront:
                configuration.farms[0].reals.insert(new(10), at: 0)
            case .addMiddle:
                configuration.farms[0].reals.insert(new(15), at: 1)
                configuration.farms[1].reals.insert(new(25), at: 2)
            case .addEnd:
                configuration.farms[0].reals.append(new(16))
                configuration.farms[1].reals.append(new(26))
            case .removeIdle:
                configuration.farms[0].reals.remove(at: index(0, rebound))
            case .removeWithConnectionsDrain:
                configuration.farms[0].reals.remove(at: index(0, ReconfigureRemapTests.real(12)))
            case .removeWithConnectionsPurge:
                configuration.farms[1].reals.remove(at: index(1, ReconfigureRemapTests.real(22)))
                configuration.farms[1].reals.remove(at: index(1, ReconfigureRemapTests.real(21)))
            case .reorder:
                configuration.farms[0].reals.reverse()
                configuration.farms[1].reals.swapAt(0, 2)
            case .addRemoveAndReorder:
                configuration.farms[0].reals.remove(at: index(0, rebound))
                configuration.farms[0].reals.insert(new(10), at: 0)
                configuration.farms[0].reals.reverse()
                configuration.farms[1].reals.remove(at: index(1, ReconfigureRemapTests.real(22)))
                configuration.farms[1].reals.append(new(27))
            }
        }
    }

    /// The exported tables without slot order: connections with their real and binding by
    /// identity.
    struct Row: Hashable {
        var connection: ConnectionRecord
        var real: RealIdentity
        var sticky: StickyRecord?
    }

    static func rows(_ engine: Engine, now: MonotonicTime) -> (Set<Row>, Set<StickyRecord>, [RealIdentity]) {
        let state = engine.exportState(now: now)
        var rows: Set<Row> = []
        for var record in state.connections {
            let sticky = record.sticky.map { state.sticky[$0] }
            let real = state.reals[record.real]
            record.real = 0
            record.sticky = nil
            rows.insert(Row(connection: record, real: real, sticky: sticky.map { var s = $0; s.real = 0; return s }))
        }
        // Sticky records keep their index into `state.reals`: the callers compare those lists too.
        return (rows, Set(state.sticky), state.reals)
    }

    static func sorted(_ snapshot: SLBSnapshot) -> SLBSnapshot {
        var s = snapshot
        s.connections.sort { "\($0)" < "\($1)" }
        s.sticky.sort { "\($0)" < "\($1)" }
        return s
    }

    @Test("remap in place leaves what export + import leaves", arguments: Change.allCases)
    func remapEqualsReimport(change: Change) throws {
        let remapped = try Self.load(), reimported = try Self.load()
        #expect(remapped.rebound == reimported.rebound, "same seed, same placement")
        var target = try Self.base()
        change.apply(&target, rebound: remapped.rebound)
        let now = t(66)
        let a = remapped.engine.reconfigure(to: target, now: now)
        let b = reimported.engine.reconfigure(to: target, now: now, remapInPlace: false)

        #expect(a.tables == .remapped)
        #expect(b.tables == .reimported)
        #expect(a.realsRenumbered && b.realsRenumbered)
        #expect(a.restore == b.restore)
        #expect(a.draining == b.draining)
        #expect(a.purgedConnections == b.purgedConnections)
        #expect(remapped.engine.realIdentities == reimported.engine.realIdentities)
        // Each case does what it is named for (so the comparison is not between two no-ops).
        let dropsObjects = a.restore.stickyDropped[.realMismatch, default: 0] > 0
        switch change {
        case .addFront, .addMiddle, .addEnd, .reorder:
            #expect(a.restore.totalConnectionsDropped == 0 && a.restore.totalStickyDropped == 0 && a.draining.isEmpty)
        case .removeIdle:
            #expect(dropsObjects && a.purgedConnections == 0 && a.draining.isEmpty)
        case .removeWithConnectionsDrain:
            #expect(a.draining == [RealIdentity(farm: "GW", address: Self.real(12), port: nil)] && a.purgedConnections == 0)
        case .removeWithConnectionsPurge, .addRemoveAndReorder:
            #expect(a.purgedConnections > 0 && a.restore.connectionsDropped[.realMismatch] == a.purgedConnections && dropsObjects)
        }
        #expect(remapped.engine.probeTargets == reimported.engine.probeTargets)

        #expect(Self.sorted(remapped.engine.snapshot(now: now, connections: .all))
                == Self.sorted(reimported.engine.snapshot(now: now, connections: .all)))
        let (rowsA, stickyA, realsA) = Self.rows(remapped.engine, now: now)
        let (rowsB, stickyB, realsB) = Self.rows(reimported.engine, now: now)
        #expect(realsA == realsB)
        #expect(rowsA == rowsB)
        #expect(stickyA == stickyB)

        // Afterwards: every known client and some new ones land alike, expiry runs alike.
        for step in 0..<2 {
            let at = t(UInt64(67 + step))
            for (c, vip) in remapped.clients + (100..<110).map({ (client(UInt8($0)), Self.vip1) }) {
                for flow in [Flow.udp(c, 500, to: vip, 500), .esp(c, to: vip), .udp(c, 1500, to: vip, 500)] {
                    let x = remapped.engine.decide(flow, now: at), y = reimported.engine.decide(flow, now: at)
                    #expect(x.real.map { remapped.engine.probeTargets[$0].address }
                            == y.real.map { reimported.engine.probeTargets[$0].address }, "\(change) \(flow)")
                }
            }
        }
        for seconds in [UInt64(130), 700, 2000] {
            _ = remapped.engine.expire(now: t(seconds))
            _ = reimported.engine.expire(now: t(seconds))
            #expect(Self.sorted(remapped.engine.snapshot(now: t(seconds), connections: .all))
                    == Self.sorted(reimported.engine.snapshot(now: t(seconds), connections: .all)), "after expire at \(seconds) s")
        }
        #expect(remapped.engine.tableFootprint.connections == 0 && remapped.engine.tableFootprint.sticky == 0)
    }

    @Test("a change of more than the reals (a sticky timer) still exports and imports")
    func otherChangesReimport() throws {
        let loaded = try Self.load()
        var target = try Self.base()
        Change.addFront.apply(&target, rebound: loaded.rebound)
        // Group 1's timer is the largest of its vservers': change both.
        target.vservers[0].sticky?.seconds = 599
        target.vservers[1].sticky?.seconds = 599
        #expect(loaded.engine.reconfigure(to: target, now: t(66)).tables == .reimported)
    }
}
