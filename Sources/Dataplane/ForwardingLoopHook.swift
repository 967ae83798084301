import SLBCore
import SLBWire

/// Work another component does on the forwarding thread once per loop iteration (the control
/// socket answering `show`/`clear`, reloads, metrics). The loop owns the engine, so this is the
/// one place outside the loop where the engine may be touched while `slb run` forwards.
///
/// Keep it short: the loop does not receive while a hook runs (the ring absorbs about
/// `blockSize × blockCount` bytes of backlog).
public protocol ForwardingLoopHook: AnyObject {
    /// Called once per iteration on the forwarding thread, after the batch, probes and timers.
    func loopIteration(engine: Engine, now: MonotonicTime, control: ForwardingLoopControl)
    /// Every engine event, on the forwarding thread, after the event log wrote it.
    func engineEvent(_ event: EngineEvent, now: MonotonicTime)
}

extension ForwardingLoopHook {
    public func engineEvent(_ event: EngineEvent, now: MonotonicTime) {}
}

/// What a hook may ask of the loop from inside `loopIteration` (forwarding thread only).
public final class ForwardingLoopControl {
    let forwarder: Forwarder
    private let reportBody: (MonotonicTime) -> String

    init(forwarder: Forwarder, report: @escaping (MonotonicTime) -> String) {
        self.forwarder = forwarder
        self.reportBody = report
    }

    /// Rebuilds the per-real forwarding table (addresses, dispatched/directed, reply map) from
    /// the engine's current configuration. Call after reconfiguring the engine in place.
    public func refreshForwarding() { forwarder.refreshForwarding() }

    /// Forwards with `engine` from now on (a reload that builds a new engine); also refreshes
    /// the forwarding table. Held fragments keep their old real IDs until they expire.
    public func replaceEngine(_ engine: Engine) { forwarder.replaceEngine(engine) }

    /// The forwarder's counters (received, forwarded, replies, drops by reason).
    public var counters: ForwarderCounters { forwarder.counters }

    /// The text a SIGUSR1 report prints (counters, backend statistics, IOS tables).
    public func report(now: MonotonicTime) -> String { reportBody(now) }
}
