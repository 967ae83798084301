import SLBCore
#if canImport(Glibc)
import Glibc
#endif
import SLBWire

extension IKEProber {
    /// The IKE prober `slb run` hooks into its loop, or nil when no farm has an `ike` probe.
    /// The probes' source is the inside interface's address (the reals route back to it).
    public static func forRun(engine: Engine, insideInterface: String, sourceMAC: MACAddress,
                              next: (any ForwardingLoopHook)? = nil,
                              log: @escaping @Sendable (String) -> Void) throws -> IKEProber? {
        let targets = engine.probeTargets.filter { $0.probes.contains { $0.kind == .ike } }
        guard !targets.isEmpty else { return nil }
        guard let source = IKEProber.address(of: insideInterface) else {
            throw SystemError("ike probes: \(insideInterface) has no IPv4 address to send from", errno: EADDRNOTAVAIL)
        }
        let prober = try IKEProber(targets: targets, configuration: engine.configuration, insideInterface: insideInterface,
                                   insideAddress: source, sourceMAC: sourceMAC, next: next, now: Clock.now, log: log)
        log("slb.probe.ike probes=\(prober.probeCount) source=\(source):\(IKEProber.defaultPort) interface=\(insideInterface)")
        return prober
    }
}
