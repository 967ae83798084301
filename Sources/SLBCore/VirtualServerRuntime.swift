import SLBConfig
import SLBWire

/// A vserver compiled for matching: integers only, so the per-packet match is a few compares.
struct VirtualServerRuntime {
    let name: String
    let address: UInt32
    let mask: UInt32
    let ipProtocol: UInt8
    /// nil = `udp any` or ESP (no port).
    let port: UInt16?
    let clients: [IPv4Network]
    let inService: Bool
    let farm: Int?
    let backupFarm: Int?
    /// `backup BACKUP sticky`: backup placements create and honour sticky objects.
    let backupSticky: Bool
    let idle: UInt64
    /// Index into `Engine.stickyDomains`, nil when sticky is off (`sticky 0` or absent).
    let stickyDomain: Int?
    let stickyMask: UInt32
    var totalConnections: UInt64 = 0
    var packets: UInt64 = 0
    /// Set when a `farmNoReal` event went out; cleared by the next placement, so the event
    /// fires once per transition into "no eligible real".
    var noRealRaised = false

    @inline(__always)
    func admits(client: IPv4Address) -> Bool {
        if clients.isEmpty { return true }
        for network in clients where network.contains(client) { return true }
        return false
    }
}

/// A sticky group as the tables see it: a configured group shared by its vservers, or one
/// group-0 vserver on its own.
struct StickyDomain: Equatable {
    /// The group IOS shows: the configured one, or 4097 + vserver index for group 0.
    let displayGroup: Int
    /// The largest `sticky` among the domain's vservers.
    let timeout: UInt64
}
