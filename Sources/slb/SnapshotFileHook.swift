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
/// socket exists. The loop has one hook: this one wraps another (`next`, e.g. the runtime's
/// control service) and passes everything on, so both can run.
final class SnapshotFileHook: ForwardingLoopHook, @unchecked Sendable {
    let path: String
    let next: (any ForwardingLoopHook)?
    private let requested = Atomic<Bool>(false)
    private let events = EventLine(write: { log($0) })

    init(path: String, next: (any ForwardingLoopHook)? = nil) {
        self.path = path
        self.next = next
    }

    var descriptors: [Int32] { next?.descriptors ?? [] }
    func readable(_ descriptor: Int32, now: MonotonicTime) { next?.readable(descriptor, now: now) }
    var isBusy: Bool { next?.isBusy ?? false }

    /// Any thread (the signal handler's queue).
    func request() { requested.store(true, ordering: .releasing) }

    /// The loop hands events to its hook instead of logging them: logged here as the loop
    /// would, and when the runtime logs them too (its text format carries no time), as
    /// `slb.event <line>` so scripts and tests still get each event's CLOCK_MONOTONIC time.
    func event(_ event: EngineEvent, now: MonotonicTime) {
        if let next {
            log("slb.event " + EventLine.line(for: event))
            next.event(event, now: now)
        } else {
            events.record(event)
        }
    }

    func iteration(engine: Engine, now: MonotonicTime) -> Bool {
        let reload = next?.iteration(engine: engine, now: now) ?? false
        if requested.exchange(false, ordering: .acquiringAndReleasing) { write(engine.snapshot(now: now, connections: .all)) }
        return reload
    }

    private func write(_ snapshot: SLBSnapshot) {
        do {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            let temporary = path + ".tmp"
            try encoder.encode(snapshot).write(to: URL(fileURLWithPath: temporary))
            guard rename(temporary, path) == 0 else { throw SystemError("rename(\(temporary))") }
            log("slb.run.report-json path=\(path) connections=\(snapshot.connections.count)")
        } catch {
            log("slb.run.report-json.error path=\(path) \(error)")
        }
    }
}
