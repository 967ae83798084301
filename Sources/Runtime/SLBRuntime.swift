import ControlSocket
import Dataplane
import Dispatch
import Logging
import SLBConfig
import SLBCore
import SLBWire
import Synchronization

/// The SLB daemon's services, run on the forwarding thread through the loop's hook: control
/// requests (`ControlService`), event logging (`EventLog`), metrics publishing
/// (`MetricsServer` serves them from its own thread), the periodic state file, SIGHUP reload.
/// A façade: each service decides for itself; this only sequences them per iteration.
public final class SLBRuntime: ForwardingLoopHook, @unchecked Sendable {
    /// How often the state file is rewritten while running (and once more at SIGTERM).
    public static let statePeriod = TimeSpan.seconds(10)
    public static let metricsPeriod = TimeSpan.seconds(1)

    public let control: ControlService
    public let events: EventLog
    let logger: Logger
    let metrics: MetricsServer?
    let stateFile: String?
    /// Read on the forwarding thread at metrics time (the forwarder's own counters).
    let dataplane: () -> ForwarderCounters
    private let reloadRequested = Atomic<Bool>(false)
    private let writer = DispatchQueue(label: "slb-state-writer")
    private var nextMetrics = MonotonicTime.zero
    private var nextSave: MonotonicTime?
    /// The periodic save in progress: a page of slots per iteration, then written off-thread.
    private var export: StateExport?
    /// Slots copied per iteration by the periodic save (as `ControlService.defaultPageSlots`).
    public static let exportPageSlots = 4096

    public init(control: ControlService, logger: Logger, metrics: MetricsServer?, stateFile: String?,
                dataplane: @escaping () -> ForwarderCounters = { ForwarderCounters() }) {
        self.control = control
        self.logger = logger
        self.events = EventLog(logger: logger)
        self.metrics = metrics
        self.stateFile = stateFile
        self.dataplane = dataplane
        control.saveState = { [unowned self] engine, now in
            guard let path = self.stateFile else { return "% no state file" }
            return self.saveNow(engine: engine, now: now, path: path)
        }
    }

    /// SIGHUP: reload the configuration file at the next iteration.
    public func requestReload() { reloadRequested.store(true, ordering: .releasing) }

    public var descriptors: [Int32] { control.server.map { [$0.fileDescriptor] } ?? [] }
    /// A control request woke the loop: `iteration`, which runs next, accepts it.
    public func readable(_ descriptor: Int32, now: MonotonicTime) {}
    public var isBusy: Bool { control.isBusy || export != nil || reloadRequested.load(ordering: .acquiring) }

    public func iteration(engine: Engine, now: MonotonicTime) -> Bool {
        if reloadRequested.exchange(false, ordering: .acquiringAndReleasing) {
            control.submit(.reload(file: nil)) { [logger] answer in
                logger.log(level: answer.ok ? .info : .error, "slb.reload.sighup",
                           metadata: ["slb.result": "\(answer.text.split(separator: "\n").last ?? "")"])
            }
        }
        let renumbered = control.step(engine: engine, now: now)
        if let metrics, now >= nextMetrics {
            metrics.publish(renderMetrics(engine: engine, now: now))
            nextMetrics = now + Self.metricsPeriod
        }
        if let stateFile { periodicSave(engine: engine, now: now, path: stateFile) }
        return renumbered
    }

    public func event(_ event: EngineEvent, now: MonotonicTime) { events.record(event) }

    /// Every `statePeriod`: copy the tables a page per iteration (a reload in between
    /// restarts the copy: the engine notices its table generation changed), then encode and
    /// write on the writer queue.
    private func periodicSave(engine: Engine, now: MonotonicTime, path: String) {
        guard var current = export else {
            if let due = nextSave, now >= due {
                export = engine.beginStateExport()
                nextSave = now + Self.statePeriod
            } else if nextSave == nil {
                nextSave = now + Self.statePeriod
            }
            return
        }
        engine.continueStateExport(&current, limit: Self.exportPageSlots, now: now)
        guard current.isComplete else {
            export = current
            return
        }
        export = nil
        let state = current.state
        writer.async { [logger] in
            do { try StateFile.write(state, to: path) } catch {
                logger.error("slb.state.write_failed", metadata: ["slb.reason": "\(error)"])
            }
        }
    }

    public func renderMetrics(engine: Engine, now: MonotonicTime) -> String {
        let counters = dataplane()
        let drops: [String: UInt64] = [
            "malformed": counters.malformed, "no-neighbour": counters.noNeighbour, "ttl-expired": counters.ttlExpired,
            "directed-unsupported": counters.directedUnsupported, "fragments-dropped": counters.fragmentsDropped,
            "send-dropped": counters.sendDropped,
        ]
        let limits = engine.configuration.entries
        return MetricsRenderer.render(MetricsInput(
            snapshot: engine.snapshot(now: now, connections: .none), footprint: engine.tableFootprint,
            limits: (limits.connections, limits.sticky), events: events.counts, dataplaneDrops: drops,
            dataplanePackets: (counters.received, counters.forwarded)))
    }

    /// Start: restore the tables from the state file when the configuration still matches.
    /// A corrupt or foreign file is logged and ignored (the SLB starts empty), never fatal.
    @discardableResult
    public func restore(into engine: Engine, now: MonotonicTime) -> StateImportReport? {
        guard let stateFile else { return nil }
        do {
            guard let state = try StateFile.read(stateFile) else {
                logger.info("slb.state.none", metadata: ["slb.file": "\(stateFile)"])
                return nil
            }
            let report = try engine.importState(state, now: now)
            logger.notice("slb.state.restored", metadata: [
                "slb.file": "\(stateFile)", "slb.connections": "\(report.connectionsRestored)",
                "slb.sticky": "\(report.stickyRestored)", "slb.connections_dropped": "\(report.totalConnectionsDropped)",
                "slb.sticky_dropped": "\(report.totalStickyDropped)",
                "slb.reason": "\(Self.describe(report))",
            ])
            return report
        } catch {
            logger.error("slb.state.rejected", metadata: ["slb.file": "\(stateFile)", "slb.reason": "\(error)"])
            return nil
        }
    }

    /// SIGTERM, after the forwarding thread stopped: the last state file, synchronously.
    public func shutdown(engine: Engine, now: MonotonicTime) {
        metrics?.stop()
        writer.sync {}
        if let stateFile { logger.notice("slb.state.saved", metadata: ["slb.result": "\(saveNow(engine: engine, now: now, path: stateFile))"]) }
    }

    private func saveNow(engine: Engine, now: MonotonicTime, path: String) -> String {
        let state = engine.exportState(now: now)
        writer.sync {}
        do {
            try StateFile.write(state, to: path)
            return "\(path): \(state.connections.count) connections, \(state.sticky.count) sticky objects"
        } catch {
            logger.error("slb.state.write_failed", metadata: ["slb.reason": "\(error)"])
            return "% \(error)"
        }
    }

    static func describe(_ report: StateImportReport) -> String {
        let drops = report.connectionsDropped.map { "connections \($0.key.rawValue)=\($0.value)" }
            + report.stickyDropped.map { "sticky \($0.key.rawValue)=\($0.value)" }
        return drops.isEmpty ? "all matched" : drops.sorted().joined(separator: ", ")
    }
}
