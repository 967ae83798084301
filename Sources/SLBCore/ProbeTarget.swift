import SLBConfig
import SLBWire

/// One real and the probes that watch it: the prober's work list (`Engine.probeTargets`).
public struct ProbeTarget: Hashable, Sendable {
    public var real: RealID
    public var address: IPv4Address
    public var farm: String
    /// From the farm's `probe` lines, resolved, in configuration order.
    public var probes: [Probe]

    public init(real: RealID, address: IPv4Address, farm: String, probes: [Probe]) {
        self.real = real
        self.address = address
        self.farm = farm
        self.probes = probes
    }
}

/// `clear ip slb connections [vserver NAME | serverfarm NAME]`.
public enum ClearScope: Hashable, Sendable {
    case all
    case vserver(String)
    case serverfarm(String)
}
