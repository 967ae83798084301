import SLBConfig
import SLBCore
import SLBWire

/// How long a reload that renumbers the reals holds the forwarding thread (the runtime calls
/// `Engine.reconfigure` between batches; packets wait in the RX ring meanwhile), with `clients`
/// sticky clients (ISAKMP + ESP each) in the tables. The change adds one real at the front of
/// the ISAKMP vserver's farm, so every RealID moves: remapped in place. The same change plus a
/// one-second longer sticky timer on every vserver needs new sticky domains, which forces the
/// export + import path: that is the pause every renumbering reload had before the remap.
public enum ReloadPause {
    public struct Result: Codable, Sendable, Hashable {
        public var connections: Int
        public var stickyObjects: Int
        /// `TableCarry` of each reload (`remapped`, `reimported`).
        public var remapCarry: String
        public var remapSeconds: Double
        public var reimportCarry: String
        public var reimportSeconds: Double
        /// Both reloads kept every connection.
        public var keptAll: Bool
    }

    public static func measure(configuration base: SLBConfiguration, clients: Int, seed: UInt64) throws -> Result {
        guard let isakmp = base.vservers.first(where: { $0.inService && $0.service == .udp(port: 500) }),
              let farmName = isakmp.farm, let farm = base.farms.firstIndex(where: { $0.name == farmName }) else {
            throw BenchError("reload pause: needs an in-service ISAKMP (udp 500) vserver with a farm")
        }
        var configuration = base
        configuration.entries = TableLimits(connections: max(configuration.entries.connections, 2 * clients),
                                            sticky: max(configuration.entries.sticky, clients))
        let taken = Set(configuration.farms[farm].reals.map(\.address))
        guard let added = (1...254).reversed().map({ IPv4Address(198, 51, 100, UInt8($0)) }).first(where: { !taken.contains($0) })
        else { throw BenchError("reload pause: no free 198.51.100.0/24 address for the added real") }
        var renumbered = configuration
        renumbered.farms[farm].reals.insert(RealServer(address: added, weight: 1, inService: true), at: 0)
        var rebuilt = renumbered
        for v in rebuilt.vservers.indices { rebuilt.vservers[v].sticky?.seconds += 1 }

        let now = MonotonicTime(nanoseconds: 10_000_000_000)
        func loaded() -> Engine {
            let engine = Engine(configuration: configuration, hashSeed: seed)
            let vip = isakmp.address
            let esp = configuration.vservers.contains { $0.inService && $0.service == .esp && $0.address == vip }
            for client in 0..<clients {
                let address = SyntheticClients.address(client)
                _ = engine.decide(.udp(address, 500, to: vip, 500), now: now)
                if esp { _ = engine.decide(.esp(address, to: vip), now: now) }
            }
            return engine
        }
        let first = loaded()
        let connections = first.tableFootprint.connections
        let stickyObjects = first.tableFootprint.sticky
        var start = Measure.seconds()
        let remap = first.reconfigure(to: renumbered, now: now + .seconds(1))
        let remapSeconds = Measure.seconds() - start
        let second = loaded()
        start = Measure.seconds()
        let reimport = second.reconfigure(to: rebuilt, now: now + .seconds(1))
        let reimportSeconds = Measure.seconds() - start
        return Result(connections: connections, stickyObjects: stickyObjects,
                      remapCarry: remap.tables.rawValue, remapSeconds: remapSeconds,
                      reimportCarry: reimport.tables.rawValue, reimportSeconds: reimportSeconds,
                      keptAll: remap.restore.connectionsRestored == connections
                          && reimport.restore.connectionsRestored == connections)
    }
}
