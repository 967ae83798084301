import SLBConfig
import SLBWire

/// The SLB decision engine: pure, single-threaded (one owner), every call takes `now:`.
/// `now` must not go backwards between calls: the idle and sticky lists are kept in time
/// order by appending, so a clock that steps back delays expiry (it never corrupts state).
///
/// A façade over the pieces in this target: the connection table, the sticky table, the
/// farm schedulers and the real-server state. The per-packet call is `decide`; timers are
/// driven by `expire`, health by `probeResult`, the CLI by `clearConnections`,
/// `clearCounters` and `snapshot`. See README.md for the IOS semantics it follows.
public final class Engine {
    /// Replaced as a whole by `reconfigure(to:now:)` (reload, `slb configure`).
    public internal(set) var configuration: SLBConfiguration

    // The engine has one owner and no re-entrant paths, so the per-packet state skips the
    // runtime exclusivity checks (a third of an established decision's time otherwise);
    // static enforcement still applies.
    @exclusivity(unchecked) var reals: [RealServerRuntime] = []
    @exclusivity(unchecked) var farms: [ServerFarmRuntime] = []
    @exclusivity(unchecked) var vservers: [VirtualServerRuntime] = []
    /// Vservers in match priority: exact port before `any`, then configuration order
    /// (out-of-service ones only match their existing connections).
    @exclusivity(unchecked) var matchers: [VServerMatcher] = []
    var stickyDomains: [StickyDomain] = []
    var probeStates: [ProbeInstance] = []
    @exclusivity(unchecked) var connections: ConnectionTable
    @exclusivity(unchecked) var sticky: StickyTable
    @exclusivity(unchecked) var counters = EngineCounters()
    var pendingEvents: [EngineEvent] = []
    /// Bumped by each `reconfigure`: the tables were rebuilt, so slot cursors of incremental
    /// walks (`connectionRows(after:)`, state export) taken before no longer apply.
    public internal(set) var tableGeneration = 0
    var targets: [ProbeTarget]

    /// Builds farms/reals/vservers/sticky groups from a configuration that SLBConfig has
    /// already validated. Reals and vservers start in their configured admin state
    /// (`inService`); a real in service with probes starts OPERATIONAL (IOS: probes only fail it).
    public convenience init(configuration: SLBConfiguration) {
        self.init(configuration: configuration, hashSeed: UInt64.random(in: UInt64.min...UInt64.max))
    }

    /// `hashSeed` keys the table hashes (so clients cannot aim flows at one bucket chain); it
    /// changes nothing observable. Fixed seeds make benchmarks repeatable.
    public init(configuration: SLBConfiguration, hashSeed: UInt64) {
        self.configuration = configuration

        var reals: [RealServerRuntime] = []
        var farms: [ServerFarmRuntime] = []
        var probeStates: [ProbeInstance] = []
        var targets: [ProbeTarget] = []
        var farmIndex: [String: Int] = [:]
        for farm in configuration.farms {
            guard farmIndex[farm.name] == nil else { continue }
            let probeIndices = farm.probes.compactMap { name in
                configuration.probes.firstIndex { $0.name == name }
            }
            let start = reals.count
            for real in farm.reals {
                let id = RealID(Int32(truncatingIfNeeded: reals.count))
                reals.append(RealServerRuntime(
                    address: real.address, port: real.port, farm: farms.count, weight: real.weight,
                    maxConns: real.maxConns, retry: real.retry, inService: real.inService,
                    probeStart: probeStates.count, probeCount: probeIndices.count))
                probeStates.append(contentsOf: probeIndices.map { ProbeInstance(probe: $0) })
                targets.append(ProbeTarget(real: id, address: real.address, farm: farm.name,
                                           probes: probeIndices.map { configuration.probes[$0] }))
            }
            farmIndex[farm.name] = farms.count
            farms.append(ServerFarmRuntime(farm, reals: start..<reals.count))
        }

        // A group's timer is the largest `sticky` among its vservers (spec §2.5 leaves it
        // open; the largest never cuts a binding another buddied vserver still relies on).
        var groupTimeout: [UInt8: UInt16] = [:]
        for vserver in configuration.vservers {
            guard let settings = vserver.sticky, settings.seconds > 0, settings.group > 0 else { continue }
            groupTimeout[settings.group] = max(groupTimeout[settings.group] ?? 0, settings.seconds)
        }
        var domains: [StickyDomain] = []
        var groupDomain: [UInt8: Int] = [:]
        var vservers: [VirtualServerRuntime] = []
        for (index, vserver) in configuration.vservers.enumerated() {
            var domain: Int?
            if let settings = vserver.sticky, settings.seconds > 0 {
                if settings.group > 0 {
                    if let existing = groupDomain[settings.group] {
                        domain = existing
                    } else {
                        domain = domains.count
                        groupDomain[settings.group] = domains.count
                        let seconds = UInt64(groupTimeout[settings.group] ?? settings.seconds)
                        domains.append(StickyDomain(displayGroup: Int(settings.group),
                                                    timeout: seconds * 1_000_000_000))
                    }
                } else {
                    domain = domains.count
                    domains.append(StickyDomain(displayGroup: Engine.privateStickyGroupBase + index,
                                                timeout: UInt64(settings.seconds) * 1_000_000_000))
                }
            }
            let port: UInt16? = switch vserver.service {
            case .udp(let port): port
            case .esp: nil
            }
            vservers.append(VirtualServerRuntime(
                name: vserver.name, address: vserver.address.value & vserver.mask.value,
                mask: vserver.mask.value, ipProtocol: vserver.service.ipProtocol.rawValue, port: port,
                clients: vserver.clients, inService: vserver.inService,
                farm: vserver.farm.flatMap { farmIndex[$0] },
                backupFarm: vserver.backupFarm.flatMap { farmIndex[$0] }, backupSticky: vserver.backupSticky,
                idle: UInt64(vserver.idle) * 1_000_000_000, stickyDomain: domain,
                stickyMask: vserver.sticky?.netmask.value ?? IPv4Mask.host.value))
        }
        // The connection key holds the vserver in 16 bits; configurations beyond that are
        // not matched rather than aliased.
        // Out-of-service vservers stay in the list so their existing connections drain.
        let keyable = vservers.indices.filter { $0 <= Int(UInt16.max) }
        let exact = keyable.filter { vservers[$0].port != nil }
        let wildcard = keyable.filter { vservers[$0].port == nil }
        matchers = (exact + wildcard).map { VServerMatcher(vservers[$0], index: $0) }

        self.reals = reals
        self.farms = farms
        self.vservers = vservers
        self.stickyDomains = domains
        self.probeStates = probeStates
        self.targets = targets
        connections = ConnectionTable(limit: configuration.entries.connections, reals: reals.count,
                                      vservers: vservers.count, seed: hashSeed)
        sticky = StickyTable(limit: configuration.entries.sticky, domains: domains.count,
                             seed: FlatHash.mix(hashSeed))
    }

    /// IOS shows a group-0 vserver's private sticky objects under an internal group id
    /// above the 1...255 configurable range; ours is this base plus the vserver's index.
    public static let privateStickyGroupBase = 4097

    /// How to rewrite packets for a real (dispatched: MAC only; directed: IP [+port]).
    /// An unknown RealID gets a dispatched rewrite to 0.0.0.0, which the dataplane cannot
    /// resolve and so drops; it never traps.
    public func forwarding(for real: RealID) -> Forwarding {
        let index = Int(real.index)
        guard reals.indices.contains(index), farms.indices.contains(reals[index].farm) else {
            return Forwarding(real: real, address: IPv4Address(0), mode: .dispatched)
        }
        let state = reals[index]
        switch farms[state.farm].nat {
        case .none: return Forwarding(real: real, address: state.address, mode: .dispatched)
        case .server: return Forwarding(real: real, address: state.address, mode: .directed(port: state.port))
        }
    }

    /// All reals in engine order (RealID(0) ...), with the probes that watch each:
    /// the prober's work list.
    public var probeTargets: [ProbeTarget] { targets }

    /// Events raised inside `decide` (e.g. slb.farm.no_real), drained by the owner.
    public func takeEvents() -> [EngineEvent] {
        guard !pendingEvents.isEmpty else { return [] }
        let events = pendingEvents
        pendingEvents = []
        return events
    }

    /// Live entries and the memory the two tables hold (reserved capacity included).
    public var tableFootprint: TableFootprint {
        TableFootprint(connections: connections.count, connectionTableBytes: connections.footprintBytes,
                       connectionSlotBytes: MemoryLayout<ConnectionEntry>.stride,
                       sticky: sticky.count, stickyTableBytes: sticky.footprintBytes,
                       stickySlotBytes: MemoryLayout<StickyEntry>.stride)
    }
}

/// What the connection and sticky tables cost, for `slb-bench` and capacity planning.
public struct TableFootprint: Hashable, Sendable {
    public var connections: Int
    public var connectionTableBytes: Int
    /// Size of one connection slot (bucket head and growth slack not included).
    public var connectionSlotBytes: Int
    public var sticky: Int
    public var stickyTableBytes: Int
    public var stickySlotBytes: Int

    public var bytesPerConnection: Double {
        connections == 0 ? 0 : Double(connectionTableBytes) / Double(connections)
    }
    public var bytesPerStickyObject: Double {
        sticky == 0 ? 0 : Double(stickyTableBytes) / Double(sticky)
    }
}

/// A vserver's match fields as plain integers, so the per-packet scan touches no
/// reference-counted storage.
struct VServerMatcher {
    let address: UInt32
    let mask: UInt32
    let ipProtocol: UInt8
    let hasPort: Bool
    let port: UInt16
    let hasClients: Bool
    let inService: Bool
    let vserver: Int

    init(_ runtime: VirtualServerRuntime, index: Int) {
        address = runtime.address
        mask = runtime.mask
        ipProtocol = runtime.ipProtocol
        hasPort = runtime.port != nil
        port = runtime.port ?? 0
        hasClients = !runtime.clients.isEmpty
        inService = runtime.inService
        vserver = index
    }

    @inline(__always)
    func matches(vip: UInt32, ipProtocol: UInt8, port: UInt16) -> Bool {
        vip & mask == address && ipProtocol == self.ipProtocol && (!hasPort || port == self.port)
    }
}
