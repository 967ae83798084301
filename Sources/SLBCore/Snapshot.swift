import SLBConfig
import SLBWire

// Read-only copies of the engine's state at one instant. SLBShow renders them as IOS tables
// or JSON (the JSON schema is this Codable shape, documented in SLBShow/README.md); the
// control socket ships them between processes. Taking a snapshot copies; forwarding never
// reads one.

public struct SLBSnapshot: Hashable, Sendable, Codable {
    public var taken: MonotonicTime
    public var reals: [RealSnapshot]
    public var farms: [FarmSnapshot]
    public var vservers: [VServerSnapshot]
    public var connections: [ConnectionSnapshot]
    public var sticky: [StickySnapshot]
    public var probes: [ProbeSnapshot]
    public var stats: StatsSnapshot

    public init(taken: MonotonicTime, reals: [RealSnapshot] = [], farms: [FarmSnapshot] = [],
                vservers: [VServerSnapshot] = [], connections: [ConnectionSnapshot] = [],
                sticky: [StickySnapshot] = [], probes: [ProbeSnapshot] = [],
                stats: StatsSnapshot = StatsSnapshot()) {
        self.taken = taken
        self.reals = reals
        self.farms = farms
        self.vservers = vservers
        self.connections = connections
        self.sticky = sticky
        self.probes = probes
        self.stats = stats
    }
}

/// Which connection (and sticky) rows a snapshot carries: `show ip slb conns` can be asked
/// for one vserver or one client, and large tables should not be copied for `show reals`.
public enum ConnectionFilter: Hashable, Sendable {
    case none
    case all
    case vserver(String)
    case client(IPv4Address)
}

/// IOS `show ip slb reals` STATE strings (MIB SlbRealServerState). UDP/ESP farms only ever
/// see these four: FAILED/READY_TO_TEST/TESTING come from TCP in-band detection.
public enum RealState: String, Hashable, Sendable, Codable, CaseIterable {
    case outOfService = "OUTOFSERVICE"
    case operational = "OPERATIONAL"
    case maxConns = "MAXCONNS"
    case probeFailed = "PROBE_FAILED"
}

public struct RealSnapshot: Hashable, Sendable, Codable {
    public var id: RealID
    public var address: IPv4Address
    public var port: UInt16?
    public var farm: String
    /// Operational weight (equals the configured weight; no DFP here).
    public var weight: UInt8
    public var adminWeight: UInt8
    public var state: RealState
    public var connections: Int
    public var maxConns: UInt32
    /// Connections ever assigned (MIB slbRealTotalConnections).
    public var totalConnections: UInt64
    public var retry: UInt16
    /// WRR credit left for this real in the current cycle (IOS `remainder`).
    public var remainder: Int
    /// Times this real has gone PROBE_FAILED.
    public var serverFailures: UInt64
    /// Packets the engine has sent to this real.
    public var packets: UInt64
    /// True while the real is in least-connections slow start (held to one new connection
    /// per round until it reaches its weighted share); nil otherwise, so the JSON of a
    /// steady farm is unchanged. A VPNSLB addition (IOS documents slow start, not a field).
    public var slowStart: Bool?

    public init(id: RealID, address: IPv4Address, port: UInt16?, farm: String, weight: UInt8,
                adminWeight: UInt8, state: RealState, connections: Int, maxConns: UInt32,
                totalConnections: UInt64, retry: UInt16, remainder: Int, serverFailures: UInt64,
                packets: UInt64, slowStart: Bool? = nil) {
        self.id = id
        self.address = address
        self.port = port
        self.farm = farm
        self.weight = weight
        self.adminWeight = adminWeight
        self.state = state
        self.connections = connections
        self.maxConns = maxConns
        self.totalConnections = totalConnections
        self.retry = retry
        self.remainder = remainder
        self.serverFailures = serverFailures
        self.packets = packets
        self.slowStart = slowStart
    }
}

public struct FarmSnapshot: Hashable, Sendable, Codable {
    public var name: String
    public var predictor: Predictor
    public var nat: NATMode
    public var failactionPurge: Bool
    public var probes: [String]
    public var realCount: Int
    /// Reals currently able to take a new connection.
    public var operationalReals: Int

    public init(name: String, predictor: Predictor, nat: NATMode, failactionPurge: Bool,
                probes: [String], realCount: Int, operationalReals: Int) {
        self.name = name
        self.predictor = predictor
        self.nat = nat
        self.failactionPurge = failactionPurge
        self.probes = probes
        self.realCount = realCount
        self.operationalReals = operationalReals
    }
}

/// MIB SlbVirtualServState strings.
public enum VServerState: String, Hashable, Sendable, Codable, CaseIterable {
    case outOfService = "OUTOFSERVICE"
    case operational = "OPERATIONAL"
    /// In service, but no real of its farm (or backup) is able to take a new connection.
    case inopReal = "INOP_REAL"
}

public struct VServerSnapshot: Hashable, Sendable, Codable {
    public var name: String
    /// 1-based position in the configuration (IOS v_index).
    public var index: Int
    public var address: IPv4Address
    public var mask: IPv4Mask
    public var ipProtocol: IPProtocol
    /// Port as IOS prints it (0 for ESP and `any`).
    public var port: UInt16
    public var state: VServerState
    public var farm: String?
    public var backupFarm: String?
    public var idle: UInt32
    public var stickySeconds: UInt16
    public var stickyGroup: UInt8
    public var stickyNetmask: IPv4Mask
    public var connections: Int
    public var totalConnections: UInt64
    public var packets: UInt64

    public init(name: String, index: Int, address: IPv4Address, mask: IPv4Mask, ipProtocol: IPProtocol,
                port: UInt16, state: VServerState, farm: String?, backupFarm: String?, idle: UInt32,
                stickySeconds: UInt16, stickyGroup: UInt8, stickyNetmask: IPv4Mask, connections: Int,
                totalConnections: UInt64, packets: UInt64) {
        self.name = name
        self.index = index
        self.address = address
        self.mask = mask
        self.ipProtocol = ipProtocol
        self.port = port
        self.state = state
        self.farm = farm
        self.backupFarm = backupFarm
        self.idle = idle
        self.stickySeconds = stickySeconds
        self.stickyGroup = stickyGroup
        self.stickyNetmask = stickyNetmask
        self.connections = connections
        self.totalConnections = totalConnections
        self.packets = packets
    }
}

/// MIB SlbConnectionState strings; UDP and ESP use only these two.
public enum ConnectionState: String, Hashable, Sendable, Codable, CaseIterable {
    /// First packet seen.
    case initial = "INIT"
    /// A later packet of the same flow seen.
    case established = "ESTAB"
}

public struct ConnectionSnapshot: Hashable, Sendable, Codable {
    public var vserver: String
    public var ipProtocol: IPProtocol
    public var client: IPv4Address
    public var clientPort: UInt16
    public var vip: IPv4Address
    public var vipPort: UInt16
    public var real: IPv4Address
    public var realPort: UInt16?
    public var state: ConnectionState
    public var nat: NATMode
    /// Created through, or bound to, a sticky object.
    public var sticky: Bool
    public var created: MonotonicTime
    public var lastSeen: MonotonicTime
    public var packets: UInt64

    public init(vserver: String, ipProtocol: IPProtocol, client: IPv4Address, clientPort: UInt16,
                vip: IPv4Address, vipPort: UInt16, real: IPv4Address, realPort: UInt16?,
                state: ConnectionState, nat: NATMode, sticky: Bool, created: MonotonicTime,
                lastSeen: MonotonicTime, packets: UInt64) {
        self.vserver = vserver
        self.ipProtocol = ipProtocol
        self.client = client
        self.clientPort = clientPort
        self.vip = vip
        self.vipPort = vipPort
        self.real = real
        self.realPort = realPort
        self.state = state
        self.nat = nat
        self.sticky = sticky
        self.created = created
        self.lastSeen = lastSeen
        self.packets = packets
    }
}

public struct StickySnapshot: Hashable, Sendable, Codable {
    /// Client address ANDed with the sticky netmask.
    public var client: IPv4Address
    public var netmask: IPv4Mask
    /// The configured group, or for group-0 (private) vservers an internal id ≥ 4097, as IOS shows.
    public var group: Int
    public var real: IPv4Address
    public var farm: String
    public var connections: Int
    /// Time left once the last connection is gone; nil while connections still reference it.
    public var expiresIn: TimeSpan?

    public init(client: IPv4Address, netmask: IPv4Mask, group: Int, real: IPv4Address, farm: String,
                connections: Int, expiresIn: TimeSpan?) {
        self.client = client
        self.netmask = netmask
        self.group = group
        self.real = real
        self.farm = farm
        self.connections = connections
        self.expiresIn = expiresIn
    }
}

/// One (probe, real) instance, as `show ip slb probe` lists them.
public struct ProbeSnapshot: Hashable, Sendable, Codable {
    public enum State: String, Hashable, Sendable, Codable {
        case operational = "OPERATIONAL"
        case failed = "FAILED"
        /// No result yet since the real went in service.
        case testing = "TESTING"
    }
    public var probe: String
    public var kind: Probe.Kind
    public var real: IPv4Address
    public var port: UInt16
    public var farm: String
    public var state: State
    public var interval: UInt32
    public var faildetect: UInt8
    public var consecutiveMisses: Int
    public var outages: Int
    /// Length of the outage in progress; nil when up ("never" in the table).
    public var currentOutage: TimeSpan?
    public var cumulativeOutage: TimeSpan
    /// Round-trip time of the last successful probe.
    public var lastRTT: TimeSpan?

    public init(probe: String, kind: Probe.Kind, real: IPv4Address, port: UInt16, farm: String,
                state: State, interval: UInt32, faildetect: UInt8, consecutiveMisses: Int, outages: Int,
                currentOutage: TimeSpan?, cumulativeOutage: TimeSpan, lastRTT: TimeSpan?) {
        self.probe = probe
        self.kind = kind
        self.real = real
        self.port = port
        self.farm = farm
        self.state = state
        self.interval = interval
        self.faildetect = faildetect
        self.consecutiveMisses = consecutiveMisses
        self.outages = outages
        self.currentOutage = currentOutage
        self.cumulativeOutage = cumulativeOutage
        self.lastRTT = lastRTT
    }
}

/// The counters behind `show ip slb stats` (MIB slbStatsTable plus drops by reason).
public struct StatsSnapshot: Hashable, Sendable, Codable {
    /// Packets load balanced by the engine (IOS "special switching").
    public var packetsBalanced: UInt64 = 0
    /// Packets for a VIP that no vserver took (IOS "normal switching").
    public var packetsPassed: UInt64 = 0
    public var connectionsCreated: UInt64 = 0
    public var connectionsEstablished: UInt64 = 0
    public var connectionsDestroyed: UInt64 = 0
    /// Of the destroyed, how many by `failaction purge` or `clear`.
    public var connectionsPurged: UInt64 = 0
    public var connectionsReassigned: UInt64 = 0
    public var stickyCreated: UInt64 = 0
    public var stickyDestroyed: UInt64 = 0
    /// Keyed by `DropReason.rawValue`, every reason present (zero included).
    public var drops: [String: UInt64] = [:]

    public init() {}
}
