import CPcap
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
/// file). `iteration` is called once per loop pass between batches and returns true after a
/// reconfiguration was applied (reload, configure), so the loop rebuilds its forwarding and
/// probe tables, capture filters and drop table; `event` receives each engine event instead
/// of the plain log line.
///
/// The loop has one hook; a hook may wrap another (`slb run`: report file → IKE prober →
/// runtime services) and passes on what is not its own, so `descriptors` and `readable` travel
/// down the chain like `iteration` and `event`.
public protocol ForwardingLoopHook: AnyObject {
    func iteration(engine: Engine, now: MonotonicTime) -> Bool
    func event(_ event: EngineEvent, now: MonotonicTime)
    /// Every descriptor this hook and the hooks it wraps read (control socket, IKE probe
    /// socket), polled with the packet sockets so that input for any of them wakes an idle loop
    /// at once. Read when the loop starts and after each reload, never per pass.
    var descriptors: [Int32] { get }
    /// poll(2) found `descriptor` (one of `descriptors`) readable or in error, at `now`: the
    /// hook that owns it reads it now; others pass it on. Called on the forwarding thread right
    /// after the poll; the pass that follows runs `iteration` as usual.
    func readable(_ descriptor: Int32, now: MonotonicTime)
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
    /// What the backends capture and the drop table holds now (set before `start()` by
    /// `slb run`); after each reload the loop re-applies what changed. nil: leave them alone.
    public var capture: CaptureSet?
    /// The loop may reload the nft table `ip vpnslb` (`slb run` installed it).
    public var managesDropTable = false
    /// Nice value of the forwarding thread (set before `start()`; nil: inherited). The kernel
    /// forwards in softirq, ahead of every task; at nice 0 this thread shared its CPU evenly with
    /// whatever else ran there and waited in the run queue about as long as it ran (schedstat,
    /// slb-bench forwarding on a loaded host), which is when the receive ring overflowed.
    public var threadNice: Int32? = ForwardingLoop.defaultThreadNice
    public static var defaultThreadNice: Int32 { -10 }
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
            if let threadNice {
                // PRIO_PROCESS with a thread id changes only this thread (setpriority(2), Linux).
                if setpriority(__priority_which_t(PRIO_PROCESS.rawValue), id_t(vpnslb_gettid()), threadNice) != 0 {
                    log("slb.dataplane.priority nice=\(threadNice) not set: \(String(cString: strerror(errno)))")
                }
            }
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
        // Directed mode: replies from the reals arrive on the inside interface (`transmit`).
        // A reload can add or remove the directed-mode reals, so both are rebuilt after one.
        var insideReceives = false
        // `descriptors[hookDescriptors...]` belong to the hook chain.
        var hookDescriptors = 0
        func watch() {
            descriptors.removeAll()
            if let fd = receive.pollDescriptor { descriptors.append(pollfd(fd: fd, events: Int16(POLLIN), revents: 0)) }
            if let prober { descriptors.append(pollfd(fd: prober.descriptor, events: Int16(POLLIN), revents: 0)) }
            insideReceives = transmit.pollDescriptor != nil && !forwarder.replies.isEmpty
            if insideReceives, let fd = transmit.pollDescriptor, fd != receive.pollDescriptor {
                descriptors.append(pollfd(fd: fd, events: Int16(POLLIN), revents: 0))
            }
            hookDescriptors = descriptors.count
            for fd in hook?.descriptors ?? [] where fd >= 0 {
                descriptors.append(pollfd(fd: fd, events: Int16(POLLIN), revents: 0))
            }
        }
        watch()
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
            let reload = hook?.iteration(engine: engine, now: now) == true
            if reload || refreshRequested.exchange(false, ordering: .acquiringAndReleasing) {
                forwarder.reloadForwardingTable()
                prober?.retarget(engine.probeTargets, now: now)
                refreshCapture(engine: engine)
                forwarder.updateAnsweringVIPs(now: now)
                watch()
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
                    let ready = poll(&descriptors, nfds_t(descriptors.count), milliseconds)
                    if ready > 0, let hook { dispatchReadable(&descriptors, from: hookDescriptors, to: hook) }
                }
            }
        }
        receive.refreshKernelStatistics()
        log(report(now: Clock.now))
    }

    /// Hands each ready hook descriptor to the hook chain with the time it woke the loop (an
    /// IKE probe's answer is timed here, not at the next pass). Index loop: no allocation.
    private func dispatchReadable(_ descriptors: inout [pollfd], from start: Int, to hook: any ForwardingLoopHook) {
        let woke = Clock.now
        var i = start
        while i < descriptors.count {
            defer { i += 1 }
            guard descriptors[i].revents != 0 else { continue }
            descriptors[i].revents = 0
            hook.readable(descriptors[i].fd, now: woke)
        }
    }

    /// A reload changed the vservers or the directed-mode reals: the capture filters and the
    /// drop table follow (`CaptureSet`), on this thread, between two batches. A failure is
    /// logged; what was not replaced stays in force and in `capture`, so the next reload
    /// retries exactly that (forwarding continues on what is captured).
    private func refreshCapture(engine: Engine) {
        guard var applied = capture else { return }
        let next = CaptureSet(configuration: engine.configuration, ingress: applied.ingress)
        guard next != applied else { return }
        defer { capture = applied }
        do {
            let started = Clock.now
            let changed = try next.apply(over: &applied, receive: receive, transmit: transmit,
                                         installTable: managesDropTable)
            // `took`: how long forwarding paused (nft runs as a child process).
            let took = (Clock.now - started).nanoseconds / 1_000_000
            log("slb.capture.updated changed=\(changed.joined(separator: ",")) took=\(took)ms filter=\"\(next.vipFilter ?? "<none>")\""
                + (next.replyFilter.map { " reply-filter=\"\($0)\"" } ?? ""))
        } catch {
            log("slb.capture.error \(error) (what was not replaced stays as it was; the next reload retries it)")
        }
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
