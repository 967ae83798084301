import ControlSocket
import Foundation
import Logging
import SLBConfig
import SLBCore
import SLBShow
import SLBWire

/// Serves control requests on the thread that owns the engine, between packet batches.
///
/// Small answers (`show reals`, `clear`, `configure`, `reload`) are computed in one step. A
/// `show ip slb conns` or `sticky` of a table larger than `pageSlots` is assembled a page
/// per loop iteration (`Engine.connectionRows(after:limit:)`) and answered when complete,
/// so a million-entry listing costs each iteration one page, never a long pause in
/// forwarding. Requests are queued FIFO; one paged job advances per iteration.
public final class ControlService {
    /// Slots examined per iteration for a paged listing: about 0.3 ms of copying in a
    /// debug build, well under one poll interval.
    public static let defaultPageSlots = 4096

    public private(set) var running: SLBConfiguration
    /// The startup configuration (the file) and what `configure` changed since it was read.
    public private(set) var startup: StartupConfiguration
    public let configFile: String?
    let pageSlots: Int
    let logger: Logger
    let server: ControlServer?
    /// Reads a configuration file (tests substitute an in-memory one).
    let readFile: (String) throws -> String
    /// Replaces a configuration file atomically (`write memory`; tests substitute one).
    let writeFile: (String, String) throws -> Void
    /// Writes the state file on request (`slb` `saveState`); nil when none is configured.
    var saveState: ((Engine, MonotonicTime) -> String)?

    private var queue: [(request: ControlRequest, reply: (ControlAnswer) -> Void)] = []
    private var nextAccept = MonotonicTime.zero
    /// Longest wait before a request is picked up by a busy loop.
    static let acceptInterval = TimeSpan.milliseconds(5)
    private var job: PagedListing?

    /// `startupText` is the text `running` was parsed from (the file at start), so that
    /// `write memory` notices a file edited by hand since.
    public init(server: ControlServer?, running: SLBConfiguration, configFile: String?, startupText: String? = nil,
                pageSlots: Int = ControlService.defaultPageSlots, logger: Logger,
                readFile: @escaping (String) throws -> String = { try ConfigurationFile.read(path: $0) },
                writeFile: @escaping (String, String) throws -> Void = { try ConfigurationFileWriter.write($0, to: $1) }) {
        self.server = server
        self.running = running
        self.startup = StartupConfiguration(path: configFile, saved: running, text: startupText)
        self.configFile = configFile
        self.writeFile = writeFile
        self.pageSlots = max(1, pageSlots)
        self.logger = logger
        self.readFile = readFile
    }

    /// Queues a request; `reply` is called on the engine's thread during a later `step`.
    public func submit(_ request: ControlRequest, reply: @escaping (ControlAnswer) -> Void) {
        queue.append((request, reply))
    }

    /// Whether a request or a paged listing is still in progress.
    public var isBusy: Bool { !queue.isEmpty || job != nil }

    /// One loop iteration's share: accept socket requests, answer the ready ones, advance a
    /// paged listing by one page. Returns true when the engine was reconfigured (the dataplane
    /// rebuilds its forwarding table, capture filters and drop table from it).
    public func step(engine: Engine, now: MonotonicTime) -> Bool {
        // accept(2) on the non-blocking listener costs a system call; a busy loop runs an
        // iteration per batch, so look for new requests at most every `acceptInterval`.
        if let server, now >= nextAccept {
            nextAccept = now + Self.acceptInterval
            for exchange in server.acceptPending() {
                guard let request = ControlRequest.decode(exchange.body) else {
                    exchange.reply(.badRequest, Array("malformed request".utf8))
                    continue
                }
                submit(request) { answer in exchange.reply(answer.ok ? .ok : .badRequest, Array(answer.text.utf8)) }
            }
        }
        var renumbered = false
        // Requests queued behind a paged listing wait for it, so answers keep their order.
        while job == nil, !queue.isEmpty {
            let (request, reply) = queue.removeFirst()
            renumbered = handle(request, reply: reply, engine: engine, now: now) || renumbered
        }
        if var current = job {
            if current.advance(engine: engine, limit: pageSlots, now: now) {
                job = nil
                current.finish(engine: engine, now: now)
            } else {
                job = current
            }
        }
        return renumbered
    }

    /// Answers one request now, or starts a paged listing. True when reals were renumbered.
    func handle(_ request: ControlRequest, reply: @escaping (ControlAnswer) -> Void, engine: Engine,
                now: MonotonicTime) -> Bool {
        switch request {
        case .show(let words):
            let show: ShowRequest
            do { show = try ShowCommandParser.parse(words: words) } catch {
                reply(.failure("\(error)"))
                return false
            }
            var listing = PagedListing(request: show, reply: reply)
            let slots = engine.tableSlots
            let size = listing.isSticky ? slots.sticky : slots.connections
            if show.connectionFilter == .none || size <= pageSlots {
                _ = listing.advance(engine: engine, limit: max(size, 1), now: now)
                listing.finish(engine: engine, now: now)
            } else {
                job = listing
            }
            return false
        case .clear(let words):
            do {
                switch try ClearCommand.parse(words: words) {
                case .counters:
                    engine.clearCounters()
                    logger.info("slb.clear.counters")
                    reply(.success(""))
                case .connections(let scope):
                    guard let removed = engine.clearConnections(scope, now: now) else {
                        reply(.failure(Self.notFound(scope)))
                        return false
                    }
                    logger.info("slb.clear.connections", metadata: ["slb.connections": "\(removed)"])
                    reply(.success("% cleared \(removed) connection\(removed == 1 ? "" : "s")"))
                case .sticky(let client, let group):
                    reply(clearSticky(client: client, group: group, engine: engine))
                }
            } catch {
                reply(.failure(error.description))
            }
            return false
        case .configure(let lines):
            let outcome = ConfigurationChange.applying(lines, to: running)
            let applied = apply(outcome, source: "configure", reply: reply, engine: engine, now: now)
            if applied { startup.configured(lines, running: running) }
            return applied
        case .runningConfig(let all):
            reply(.success(ConfigRenderer.render(running, all: all)))
            return false
        case .reload(let file):
            guard let path = file ?? configFile else {
                reply(.failure("% no configuration file: slb run was started without one"))
                return false
            }
            let text: String
            do { text = try readFile(path) } catch {
                logger.error("slb.reload.rejected", metadata: ["slb.file": "\(path)", "slb.reason": "\(error)"])
                reply(.failure("% \(path): \(error)"))
                return false
            }
            return reload(path: path, text: text, reply: reply, engine: engine, now: now)
        case .writeMemory(let force):
            writeMemory(force: force, reply: reply)
            return false
        case .saveState:
            guard let saveState else {
                reply(.failure("% no state file: start slb run with --state-file"))
                return false
            }
            reply(.success(saveState(engine, now)))
            return false
        }
    }

    /// An unknown name in `clear ip slb connections vserver|serverfarm NAME`, in the IOS
    /// `% ... not found` style (the spec gives no exact wording).
    static func notFound(_ scope: ClearScope) -> String {
        switch scope {
        case .all: "% nothing to clear"
        case .vserver(let name): "% vserver \(name) not found"
        case .serverfarm(let name): "% serverfarm \(name) not found"
        }
    }

    /// `clear ip slb sticky [client IP] [group N]` (VPNSLB extension): objects in use stay.
    private func clearSticky(client: IPv4Address?, group: Int?, engine: Engine) -> ControlAnswer {
        guard let result = engine.clearSticky(client: client, group: group) else {
            return .failure("% sticky group \(group.map(String.init) ?? "") not found")
        }
        logger.info("slb.clear.sticky", metadata: ["slb.sticky": "\(result.removed)", "slb.in_use": "\(result.inUse)"])
        var text = "% cleared \(result.removed) sticky object\(result.removed == 1 ? "" : "s")"
        if result.inUse > 0 {
            text += "; \(result.inUse) in use by connections kept (clear ip slb connections first to release them)"
        }
        return .success(text)
    }

    /// `slb reload` / SIGHUP: the file replaces the running configuration, so unsaved
    /// `configure` changes are gone (IOS: a reload reads the startup configuration); the log
    /// and the answer say which.
    private func reload(path: String, text: String, reply: (ControlAnswer) -> Void, engine: Engine,
                        now: MonotonicTime) -> Bool {
        let discarded = startup.discardedByReload(running: running)
        let outcome = ConfigurationChange.parsing(text, file: path)
        let notes = discarded.map { ["% warning: reload discarded \($0); save them first with slb write memory"] } ?? []
        guard apply(outcome, source: path, notes: notes, reply: reply, engine: engine, now: now) else { return false }
        if let discarded {
            logger.warning("slb.reload.unsaved_discarded", metadata: ["slb.file": "\(path)", "slb.discarded": "\(discarded)"])
        }
        startup.reloaded(file: path, text: text, configuration: running)
        return true
    }

    /// `slb write memory`: the running configuration, rendered canonically, replaces the
    /// startup file atomically. A file edited since it was read is not overwritten unless
    /// forced: that edit would be lost without anyone having seen it.
    private func writeMemory(force: Bool, reply: (ControlAnswer) -> Void) {
        guard let path = configFile else {
            reply(.failure("% no configuration file: slb run was started without one"))
            return
        }
        if !force, !startup.isUnchangedOnDisk(current: try? readFile(path)) {
            logger.error("slb.write.refused", metadata: ["slb.file": "\(path)", "slb.reason": "changed on disk"])
            reply(.failure("% \(path) changed on disk since it was loaded; not overwritten. "
                           + "slb reload it (discarding unsaved changes) or slb write memory --force"))
            return
        }
        let text = ConfigRenderer.render(running, all: false)
        do { try writeFile(text, path) } catch {
            logger.error("slb.write.failed", metadata: ["slb.file": "\(path)", "slb.reason": "\(error)"])
            reply(.failure("% \(path): \(error)"))
            return
        }
        let saved = startup.unsaved.count
        startup.written(running, text: text)
        logger.notice("slb.write.memory", metadata: ["slb.file": "\(path)", "slb.changes": "\(saved)"])
        // IOS answers `write memory` with "Building configuration..." and "[OK]".
        reply(.success("Building configuration...\n[OK] \(path)"))
    }

    /// Validated configuration → engine. A rejected change leaves everything as it was.
    /// True when applied.
    private func apply(_ outcome: ConfigurationChange.Outcome, source: String, notes: [String] = [],
                       reply: (ControlAnswer) -> Void, engine: Engine, now: MonotonicTime) -> Bool {
        let diagnostics = outcome.diagnostics.map(\.description)
        guard let configuration = outcome.configuration else {
            logger.error("slb.reload.rejected", metadata: ["slb.file": "\(source)",
                                                          "slb.errors": "\(outcome.diagnostics.errors.count)"])
            reply(.failure((diagnostics + ["% configuration rejected; the running configuration is unchanged"])
                .joined(separator: "\n")))
            return false
        }
        let report = engine.reconfigure(to: configuration, now: now)
        running = configuration
        let summary = ConfigurationChange.summary(report)
        logger.notice("slb.reload.applied", metadata: [
            "slb.file": "\(source)", "slb.connections": "\(report.restore.connectionsRestored)",
            "slb.dropped": "\(report.restore.totalConnectionsDropped)", "slb.purged": "\(report.purgedConnections)",
            "slb.draining": "\(report.draining.map(\.description).joined(separator: ","))",
            "slb.tables": "\(report.tables.rawValue)",
        ])
        reply(.success((diagnostics + notes + ["% applied: " + summary]).joined(separator: "\n")))
        // Always true: besides renumbered reals, new or removed vservers and directed-mode
        // reals change the capture filters and the drop table, which the loop rebuilds
        // (comparing their text, so an unchanged set costs nothing).
        return true
    }
}

/// A `show` in progress: rows gathered so far and where the walk stands.
struct PagedListing {
    let request: ShowRequest
    let reply: (ControlAnswer) -> Void
    var cursor: TableCursor? = .start
    /// The engine's table generation the walk started in; a reload in between restarts it.
    var generation: Int?
    var connections: [ConnectionSnapshot] = []
    var sticky: [StickySnapshot] = []

    init(request: ShowRequest, reply: @escaping (ControlAnswer) -> Void) {
        self.request = request
        self.reply = reply
    }

    var isSticky: Bool {
        if case .sticky = request.table { return true }
        return false
    }

    /// Copies one page; true when the walk is complete.
    mutating func advance(engine: Engine, limit: Int, now: MonotonicTime) -> Bool {
        if let generation, generation != engine.tableGeneration {
            cursor = .start
            connections = []
            sticky = []
        }
        generation = engine.tableGeneration
        guard let at = cursor else { return true }
        switch request.table {
        case .sticky(let client):
            let page = engine.stickyRows(after: at, limit: limit, client: client, now: now)
            sticky += page.rows
            cursor = page.next
        case .conns:
            let page = engine.connectionRows(after: at, limit: limit, filter: request.connectionFilter)
            connections += page.rows
            cursor = page.next
        case .reals, .realsOfVserver, .vservers, .serverfarms, .probe, .stats:
            cursor = nil
        }
        return cursor == nil
    }

    /// Renders with SLBShow from a snapshot taken now plus the gathered rows: the same text
    /// as the in-process renderer gives for the same rows.
    func finish(engine: Engine, now: MonotonicTime) {
        var snapshot = engine.snapshot(now: now, connections: .none)
        snapshot.connections = connections
        snapshot.sticky = sticky
        do {
            let text = try ShowRenderer.render(request, snapshot)
            // One control frame holds at most 16 MiB (ControlFrame): about 180,000 rows of
            // `show ip slb conns`. Past that, say so instead of sending a frame the client drops.
            guard text.utf8.count < ControlFrame.maximumBodyLength else {
                reply(.failure("% answer too large (\(connections.count + sticky.count) rows, \(text.utf8.count) bytes): "
                               + "narrow it with vserver NAME or client IP"))
                return
            }
            reply(.success(text))
        } catch let error as ShowLookupError {
            reply(.failure(error.description))
        } catch {
            reply(.failure("% cannot render: \(error)"))
        }
    }
}
