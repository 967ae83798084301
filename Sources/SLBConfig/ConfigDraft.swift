import SLBWire

/// What `virtual IP [MASK] PROTOCOL [PORT]` sets.
public struct VirtualAddress: Hashable, Sendable {
    public var address: IPv4Address
    public var mask: IPv4Mask
    public var service: VirtualService

    public init(address: IPv4Address, mask: IPv4Mask = .host, service: VirtualService) {
        self.address = address
        self.mask = mask
        self.service = service
    }
}

/// A vserver while it is being configured: IOS lets `ip slb vserver X` exist before its
/// `virtual` line, which `VirtualServer` (whose address is not optional) cannot express.
public struct VirtualServerDraft: Hashable, Sendable {
    public var name: String
    public var virtual: VirtualAddress?
    public var farm: String?
    public var backupFarm: String?
    public var backupSticky = false
    public var sticky: StickySettings?
    public var idle: UInt32 = VirtualServer.defaultIdle
    public var clients: [IPv4Network] = []
    public var inService = false

    public init(name: String) { self.name = name }

    public init(_ vserver: VirtualServer) {
        name = vserver.name
        virtual = VirtualAddress(address: vserver.address, mask: vserver.mask, service: vserver.service)
        farm = vserver.farm
        backupFarm = vserver.backupFarm
        backupSticky = vserver.backupSticky
        sticky = vserver.sticky
        idle = vserver.idle
        clients = vserver.clients
        inService = vserver.inService
    }

    public var vserver: VirtualServer? {
        guard let virtual else { return nil }
        return VirtualServer(name: name, address: virtual.address, mask: virtual.mask, service: virtual.service,
                             farm: farm, backupFarm: backupFarm, backupSticky: backupSticky, sticky: sticky, idle: idle,
                             clients: clients, inService: inService)
    }
}

/// The configuration a `ConfigSession` edits. Identical to `SLBConfiguration` except that a
/// vserver may still lack its `virtual`.
public struct ConfigDraft: Hashable, Sendable {
    public var probes: [Probe] = []
    public var farms: [ServerFarm] = []
    public var vservers: [VirtualServerDraft] = []
    public var entries = TableLimits()

    public init() {}

    public init(_ configuration: SLBConfiguration) {
        probes = configuration.probes
        farms = configuration.farms
        vservers = configuration.vservers.map(VirtualServerDraft.init)
        entries = configuration.entries
    }

    /// The finished model; vservers without a `virtual` are left out (the validator reports them).
    public var configuration: SLBConfiguration {
        SLBConfiguration(probes: probes, farms: farms, vservers: vservers.compactMap(\.vserver), entries: entries)
    }

    func probeIndex(_ name: String) -> Int? { probes.firstIndex { $0.name == name } }
    func farmIndex(_ name: String) -> Int? { farms.firstIndex { $0.name == name } }
    func vserverIndex(_ name: String) -> Int? { vservers.firstIndex { $0.name == name } }
}

/// Where each object and reference was configured, so semantic checks that run after the whole
/// text is read can still point at the right line and word.
public struct SourceMap: Hashable, Sendable {
    public enum Key: Hashable, Sendable {
        case probe(String)
        case probeAddress(String)
        case farm(String)
        case farmProbe(farm: String, probe: String)
        case real(farm: String, RealKey)
        case vserver(String)
        case virtual(String)
        case farmReference(vserver: String)
        case backupReference(vserver: String)
        case sticky(String)
        case entries
    }

    public var locations: [Key: SourceLocation] = [:]

    public init() {}

    public subscript(key: Key) -> SourceLocation? {
        get { locations[key] }
        set { locations[key] = newValue }
    }
}
