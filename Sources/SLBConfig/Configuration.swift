import SLBWire

// The typed model of an IOS `ip slb` configuration. The parser produces it, the canonical
// renderer prints it, and SLBCore builds its engine from it. Defaults are IOS's (CISCO-SLB-MIB
// DEFVALs, see README.md of this target); objects keep configuration order because IOS's
// round robin walks reals in the order `show running-config` lists them.

/// A whole `ip slb` configuration.
public struct SLBConfiguration: Hashable, Sendable, Codable {
    public var probes: [Probe]
    public var farms: [ServerFarm]
    public var vservers: [VirtualServer]
    public var entries: TableLimits

    public init(probes: [Probe] = [], farms: [ServerFarm] = [], vservers: [VirtualServer] = [],
                entries: TableLimits = TableLimits()) {
        self.probes = probes
        self.farms = farms
        self.vservers = vservers
        self.entries = entries
    }

    public func probe(named name: String) -> Probe? { probes.first { $0.name == name } }
    public func farm(named name: String) -> ServerFarm? { farms.first { $0.name == name } }
    public func vserver(named name: String) -> VirtualServer? { vservers.first { $0.name == name } }
}

/// `ip slb entries conn N sticky M`: hard caps on the connection and sticky tables. When a table
/// is full a new flow is a counted drop; established entries are never evicted.
public struct TableLimits: Hashable, Sendable, Codable {
    public static let defaultConnections = 2_000_000
    public static let defaultSticky = 1_000_000
    /// Upper bound accepted by the parser (memory, not IOS, sets it).
    public static let maximumEntries = 16_000_000

    public var connections: Int
    public var sticky: Int

    public init(connections: Int = TableLimits.defaultConnections, sticky: Int = TableLimits.defaultSticky) {
        self.connections = connections
        self.sticky = sticky
    }
}

// MARK: probes

/// `ip slb probe NAME ping` (IOS), or `ip slb probe NAME ike` (VPNSLB extension: an IKE_SA_INIT
/// the gateway refuses statelessly, which notices a dead IKE process that still answers pings).
public struct Probe: Hashable, Sendable, Codable {
    public enum Kind: String, Hashable, Sendable, Codable { case ping, ike }

    public static let defaultInterval: UInt32 = 1        // seconds, IOS range 1...65535
    public static let defaultFaildetect: UInt8 = 10      // consecutive misses, IOS range 1...255

    public var name: String                               // IOS: up to 15 characters
    public var kind: Kind
    public var interval: UInt32
    public var faildetect: UInt8
    /// Firewall farms only in IOS; for server farms each real's own address is probed.
    public var address: IPv4Address?

    public init(name: String, kind: Kind = .ping, interval: UInt32 = Probe.defaultInterval,
                faildetect: UInt8 = Probe.defaultFaildetect, address: IPv4Address? = nil) {
        self.name = name
        self.kind = kind
        self.interval = interval
        self.faildetect = faildetect
        self.address = address
    }
}

// MARK: server farms and reals

public enum Predictor: String, Hashable, Sendable, Codable {
    /// IOS weighted round robin: n consecutive picks per real (3,1,2 → A A A B C C).
    case roundRobin
    /// IOS weighted least connections: the real farthest below its weighted share.
    case leastConns
}

/// `nat server` switches a farm from dispatched mode (MAC rewrite) to directed mode
/// (destination IP rewrite, replies translated back to the VIP).
public enum NATMode: String, Hashable, Sendable, Codable {
    case none
    case server
}

public struct ServerFarm: Hashable, Sendable, Codable {
    public var name: String
    public var predictor: Predictor
    /// `failaction purge`: a failed real's connections are removed at once.
    public var failactionPurge: Bool
    /// Probe names, in configuration order; any failing probe fails the real.
    public var probes: [String]
    public var nat: NATMode
    public var reals: [RealServer]

    public init(name: String, predictor: Predictor = .roundRobin, failactionPurge: Bool = false,
                probes: [String] = [], nat: NATMode = .none, reals: [RealServer] = []) {
        self.name = name
        self.predictor = predictor
        self.failactionPurge = failactionPurge
        self.probes = probes
        self.nat = nat
        self.reals = reals
    }
}

/// `real IP [PORT]` inside a server farm.
public struct RealServer: Hashable, Sendable, Codable {
    public static let defaultWeight: UInt8 = 8                 // IOS CLI range 1...255
    public static let defaultMaxConns: UInt32 = 4_294_967_295   // 1...4294967295, i.e. unlimited
    public static let defaultRetry: UInt16 = 60                 // seconds, 1...3600; TCP only

    public var address: IPv4Address
    /// Only meaningful with `nat server` (port translation); nil means "same port".
    public var port: UInt16?
    public var weight: UInt8
    public var maxConns: UInt32
    /// Parsed and shown; it has no effect on UDP/ESP farms (IOS in-band failure detection is TCP only).
    public var retry: UInt16
    /// Reals are out of service until `inservice` (MIB slbRealState DEFVAL outOfService).
    public var inService: Bool

    public init(address: IPv4Address, port: UInt16? = nil, weight: UInt8 = RealServer.defaultWeight,
                maxConns: UInt32 = RealServer.defaultMaxConns, retry: UInt16 = RealServer.defaultRetry,
                inService: Bool = false) {
        self.address = address
        self.port = port
        self.weight = weight
        self.maxConns = maxConns
        self.retry = retry
        self.inService = inService
    }
}

// MARK: virtual servers

/// What a vserver matches on its VIP: `udp PORT|isakmp|any` or `esp`. (`tcp` and `gre` are
/// recognised by the parser and rejected with a diagnostic: VPNSLB balances IPsec only.)
public enum VirtualService: Hashable, Sendable, Codable {
    /// nil port = `any`.
    case udp(port: UInt16?)
    case esp

    public var ipProtocol: IPProtocol {
        switch self {
        case .udp: .udp
        case .esp: .esp
        }
    }

    /// The port IOS prints after the VIP (`:0` for ESP and for `any`).
    public var displayPort: UInt16 {
        switch self {
        case .udp(let port): port ?? 0
        case .esp: 0
        }
    }
}

public struct StickySettings: Hashable, Sendable, Codable {
    public var seconds: UInt16           // 0...65535; 0 means sticky off
    /// 0 = private to this vserver; vservers sharing a non-zero group share client bindings.
    public var group: UInt8              // 0...255
    public var netmask: IPv4Mask         // default 255.255.255.255

    public init(seconds: UInt16, group: UInt8 = 0, netmask: IPv4Mask = .host) {
        self.seconds = seconds
        self.group = group
        self.netmask = netmask
    }
}

public struct VirtualServer: Hashable, Sendable, Codable {
    public static let defaultIdle: UInt32 = 3600     // seconds, IOS range 10...65535

    public var name: String
    public var address: IPv4Address
    /// The `[network-mask]` of `virtual IP MASK ...`; /32 unless given.
    public var mask: IPv4Mask
    public var service: VirtualService
    public var farm: String?
    /// `serverfarm PRIMARY backup BACKUP`: used when no primary real can take a new flow.
    public var backupFarm: String?
    /// `serverfarm PRIMARY backup BACKUP sticky`: connections placed on the backup farm create
    /// and honour sticky objects. Without it a backup placement is not sticky, so a client's
    /// next connection goes back to the primary farm as soon as it can take it (spec §1.5).
    public var backupSticky: Bool
    public var sticky: StickySettings?
    public var idle: UInt32
    /// `client IP MASK`: source ranges allowed to use this vserver; empty = all.
    public var clients: [IPv4Network]
    public var inService: Bool

    public init(name: String, address: IPv4Address, mask: IPv4Mask = .host, service: VirtualService,
                farm: String? = nil, backupFarm: String? = nil, backupSticky: Bool = false, sticky: StickySettings? = nil,
                idle: UInt32 = VirtualServer.defaultIdle, clients: [IPv4Network] = [], inService: Bool = false) {
        self.name = name
        self.address = address
        self.mask = mask
        self.service = service
        self.farm = farm
        self.backupFarm = backupFarm
        self.backupSticky = backupSticky
        self.sticky = sticky
        self.idle = idle
        self.clients = clients
        self.inService = inService
    }
}
