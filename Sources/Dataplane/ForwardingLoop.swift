import Foundation
import SLBCore
import SLBWire
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// The forwarding thread: receive a batch → `Forwarder` → transmit, probes and timers in
/// between, poll(2) when idle. It runs on its own `Thread`, not the Swift cooperative pool (two
/// threads here, which a busy loop would starve), and owns the engine while it runs.
/// Runtime services that must run on the engine's thread (control requests, metrics, state
/// file). `iteration` is called once per loop pass between batches and returns true when the
/// engine's reals were renumbered (reload), so the loop rebuilds its forwarding and probe
/// tables; `event` receives each engine event instead of the plain log line.
public protocol ForwardingLoopHook: AnyObject {
    func iteration(engine: Engine, now: MonotonicTime) -> Bool
    func event(_ event: EngineEvent, now: MonotonicTime)
    /// Polled with the packet socket, so a control request wakes the loop at once.
    var descriptor: Int32? { get }
    /// Work is in progress (a paged `show`): the loop does not sleep while it is.
    var isBusy: Bool { get }
}

public final class ForwardingLoop<RX: PacketIO, TX: PacketIO>: @unchecked Sendable {
    /// Longest poll sleep, so `stop()` and report requests are seen promptly.
    static var maximumSleep: TimeSpan { .milliseconds(100) }
    /// Least time between two neighbour-table reads after a miss.
    static var neighbourRetry: TimeSpan { .milliseconds(100) }

    public let forwarder: Forwarder
    let receive: RX
    let transmit: TX
    let prober: PingProber?
    let neighbourDevice: String
    /// The public interface, whose neighbour table backs directed-mode replies.
    let publicDevice: String?
    let log: @Sendable (String) -> Void
    let events: EventLine
    /// Renders the engine's state for a report (the executable passes SLBShow's IOS tables).
    let describe: (@Sendable (SLBSnapshot) -> String)?

    /// Set before `start()`; called on the forwarding thread.
    public var hook: (any ForwardingLoopHook)?
    private let stopRequested = Atomic<Bool>(false)
    private let refreshRequested = Atomic<Bool>(false)
    private let reportRequested = Atomic<Bool>(false)
    private let finished = DispatchSemaphore(value: 0)
    private var failure: (any Error)?
    private var probeResults: [PingProber.Result] = []
    /// First and last time a batch arrived: received / window is the rate while busy.
    private var firstBatch: MonotonicTime?
    private var lastBatch = MonotonicTime.zero

    /// `log` is called on the forwarding thread: events (`slb.real.down` ...) and reports.
    public init(forwarder: Forwarder, receive: RX, transmit: TX, prober: PingProber?, neighbourDevice: String,
                publicDevice: String? = nil, describe: (@Sendable (SLBSnapshot) -> String)? = nil,
                log: @escaping @Sendable (String) -> Void) {
        self.publicDevice = publicDevice
        self.describe = describe
        self.forwarder = forwarder
        self.receive = receive
        self.transmit = transmit
        self.prober = prober
        self.neighbourDevice = neighbourDevice
        self.log = log
        events = EventLine(write: log)
    }

    public func start() {
        let thread = Thread { [self] in
            do { try run() } catch { failure = error; log("slb.dataplane.error \(error)") }
            finished.signal()
        }
        thread.name = "slb-forwarding"
        thread.start()
    }

    public func stop() { stopRequested.store(true, ordering: .releasing) }
    public func requestReport() { reportRequested.store(true, ordering: .releasing) }
    /// Any thread: rebuild the forwarding and probe tables from the engine at the next iteration.
    public func requestForwardingRefresh() { refreshRequested.store(true, ordering: .releasing) }

    /// Waits for the thread to end; rethrows what ended it, if anything did.
    public func wait() throws {
        finished.wait()
        if let failure { throw failure }
    }

    func run() throws {
        var nextSecond = Clock.now
        var lastNeighbourRead = MonotonicTime.zero
        refreshNeighbours()
        var descriptors: [pollfd] = []
        if let fd = receive.pollDescriptor { descriptors.append(pollfd(fd: fd, events: Int16(POLLIN), revents: 0)) }
        if let prober { descriptors.append(pollfd(fd: prober.descriptor, events: Int16(POLLIN), revents: 0)) }
        // Directed mode: replies from the reals arrive on the inside interface (`transmit`).
        let insideReceives = transmit.pollDescriptor != nil && !forwarder.replies.isEmpty
        if insideReceives, let fd = transmit.pollDescriptor, fd != receive.pollDescriptor {
            descriptors.append(pollfd(fd: fd, events: Int16(POLLIN), revents: 0))
        }
        if let fd = hook?.descriptor { descriptors.append(pollfd(fd: fd, events: Int16(POLLIN), revents: 0)) }
        forwarder.updateAnsweringVIPs(now: Clock.now)

        while !stopRequested.load(ordering: .acquiring) {
            var now = Clock.now
            let engine = forwarder.engine
            let received = try receive.receive { frames in
                try forwarder.process(frames, now: now, transmit: transmit)
            }
            try forwarder.sendReleasedFragments(now: now, transmit: transmit)
            var replies = 0
            if insideReceives {
                replies = try transmit.receive { frames in
                    try forwarder.processReplies(frames, now: now, transmit: receive)
                }
            }
            try forwarder.sendAnswers(transmit: receive)
            if received > 0 {
                if firstBatch == nil { firstBatch = now }
                lastBatch = now
            }

            if let prober {
                probeResults.removeAll(keepingCapacity: true)
                try prober.readReplies(now: now, into: &probeResults)
                try prober.tick(now: now, into: &probeResults)
                for result in probeResults {
                    for event in engine.probeResult(real: result.real, probe: result.probe, success: result.success,
                                                    rtt: result.rtt, now: now) {
                        record(event, now)
                    }
                }
            }
            if !forwarder.unresolved.isEmpty, now - lastNeighbourRead >= ForwardingLoop.neighbourRetry {
                let addresses = forwarder.realAddresses
                for real in forwarder.unresolved where Int(real.index) < addresses.count {
                    prober?.solicit(addresses[Int(real.index)])
                }
                refreshNeighbours()
                lastNeighbourRead = now
            }
            if now >= nextSecond {
                for event in engine.expire(now: now) { record(event, now) }
                forwarder.expireFragments(now: now)
                forwarder.updateAnsweringVIPs(now: now)
                refreshNeighbours()
                receive.refreshKernelStatistics()
                if insideReceives { transmit.refreshKernelStatistics() }
                nextSecond = now + .seconds(1)
            }
            // The capture filters and the drop table are built at start: a reload that adds
            // VIPs, ports or directed-mode reals needs `slb run` restarted to capture them.
            let reload = hook?.iteration(engine: engine, now: now) == true
            if reload || refreshRequested.exchange(false, ordering: .acquiringAndReleasing) {
                forwarder.reloadForwardingTable()
                prober?.retarget(engine.probeTargets, now: now)
                refreshNeighbours()
            }
            for event in engine.takeEvents() { record(event, now) }
            if reportRequested.exchange(false, ordering: .acquiringAndReleasing) { log(report(now: now)) }

            if received == 0 && replies == 0, hook?.isBusy != true {
                now = Clock.now
                var sleep = ForwardingLoop.maximumSleep
                if let due = prober?.nextDeadline { sleep = min(sleep, due - now) }
                sleep = min(sleep, nextSecond - now)
                let milliseconds = Int32(min(sleep.nanoseconds / 1_000_000, 1000))
                if descriptors.isEmpty {
                    usleep(UInt32(milliseconds) * 1000)
                } else {
                    _ = poll(&descriptors, nfds_t(descriptors.count), milliseconds)
                }
            }
        }
        receive.refreshKernelStatistics()
        log(report(now: Clock.now))
    }

    private func refreshNeighbours() {
        guard let text = ProcFile.read(NeighbourTable.procPath) else { return }
        forwarder.updateNeighbours(NeighbourTable.parse(text, device: neighbourDevice))
        if let publicDevice, !forwarder.replies.isEmpty {
            forwarder.updatePublicNeighbours(NeighbourTable.parse(text, device: publicDevice))
        }
    }

    /// Each engine event goes to the hook when there is one (it logs in its own format),
    /// otherwise to the `EventLine` line format.
    private func record(_ event: EngineEvent, _ now: MonotonicTime) {
        if let hook { hook.event(event, now: now) } else { events.record(event) }
    }

    /// Counters of the forwarder and the backends, and each real's state.
    func report(now: MonotonicTime) -> String {
        let snapshot = forwarder.engine.snapshot(now: now, connections: .none)
        var lines = ["slb.dataplane.counters \(forwarder.counters)",
                     "slb.dataplane.receive received=\(receive.statistics.received) skipped=\(receive.statistics.skipped) kernel-dropped=\(receive.statistics.kernelDropped)",
                     "slb.dataplane.transmit sent=\(transmit.statistics.sent) send-dropped=\(transmit.statistics.sendDropped)"]
        if !forwarder.replies.isEmpty {
            lines.append("slb.dataplane.replies received=\(transmit.statistics.received) kernel-dropped=\(transmit.statistics.kernelDropped) sent=\(receive.statistics.sent)")
        }
        if let firstBatch, lastBatch > firstBatch {
            let window = lastBatch - firstBatch
            let rate = Double(receive.statistics.received) / (Double(window.nanoseconds) / 1e9)
            lines.append("slb.dataplane.window first-to-last-batch=\(window.nanoseconds / 1_000_000)ms rate=\(Int(rate))pps")
        }
        if let describe {
            lines.append(describe(snapshot))
        } else {
            for real in snapshot.reals {
                lines.append("slb.real real=\(real.address) farm=\(real.farm) state=\(real.state.rawValue) conns=\(real.connections) total=\(real.totalConnections)")
            }
        }
        return lines.joined(separator: "\n")
    }
}
