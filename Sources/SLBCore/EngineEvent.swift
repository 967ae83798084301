import SLBWire

/// Something an operator should hear about. The edge logs each as a structured event
/// (`slb.real.down`, `slb.real.up`, `slb.purge`, `slb.farm.no_real`) and counts it.
public enum EngineEvent: Hashable, Sendable {
    case realDown(real: RealID, address: IPv4Address, farm: String, reason: String, at: MonotonicTime)
    case realUp(real: RealID, address: IPv4Address, farm: String, at: MonotonicTime)
    case purge(real: RealID, address: IPv4Address, farm: String, connections: Int, at: MonotonicTime)
    /// A new flow found no eligible real in the farm (nor a backup). Reported once per
    /// transition into that condition, not per packet.
    case farmNoReal(farm: String, vserver: String, at: MonotonicTime)

    /// When the engine raised the event (the `now:` of the call that raised it).
    public var at: MonotonicTime {
        switch self {
        case .realDown(_, _, _, _, let at), .realUp(_, _, _, let at), .purge(_, _, _, _, let at),
             .farmNoReal(_, _, let at):
            at
        }
    }

    /// The dotted event name used in logs and metrics.
    public var name: String {
        switch self {
        case .realDown: "slb.real.down"
        case .realUp: "slb.real.up"
        case .purge: "slb.purge"
        case .farmNoReal: "slb.farm.no_real"
        }
    }
}
