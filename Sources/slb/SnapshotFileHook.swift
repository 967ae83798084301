import Dataplane
import Foundation
import SLBCore
import SLBWire
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// `slb run --report-json FILE`: on SIGUSR1 the engine's full snapshot (reals, vservers, every
/// connection and sticky object, stats) is written to FILE as JSON (`SLBSnapshot`'s Codable
/// form), atomically (temporary file + rename), from the forwarding thread that owns the engine.
/// Tests and scripts compare it with what the gateways saw until `slb show` over the control
/// socket exists.
final class SnapshotFileHook: ForwardingLoopHook, @unchecked Sendable {
    let path: String
    private let requested = Atomic<Bool>(false)
    private let events = EventLog(write: { log($0) })

    init(path: String) { self.path = path }

    var descriptor: Int32? { nil }
    var isBusy: Bool { false }

    /// The loop hands events to its hook instead of logging them: log them as it would.
    func event(_ event: EngineEvent, now: MonotonicTime) { events.record(event) }

    /// Any thread (the signal handler's queue).
    func request() { requested.store(true, ordering: .releasing) }

    func iteration(engine: Engine, now: MonotonicTime) -> Bool {
        guard requested.exchange(false, ordering: .acquiringAndReleasing) else { return false }
        let snapshot = engine.snapshot(now: now, connections: .all)
        do {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            let temporary = path + ".tmp"
            try encoder.encode(snapshot).write(to: URL(fileURLWithPath: temporary))
            _ = rename(temporary, path)
            log("slb.run.report-json path=\(path) connections=\(snapshot.connections.count)")
        } catch {
            log("slb.run.report-json.error path=\(path) \(error)")
        }
        return false
    }
}
