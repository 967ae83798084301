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

    init(path: String) { self.path = path }

    /// Any thread (the signal handler's queue).
    func request() { requested.store(true, ordering: .releasing) }

    func loopIteration(engine: Engine, now: MonotonicTime, control: ForwardingLoopControl) {
        guard requested.exchange(false, ordering: .acquiringAndReleasing) else { return }
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
    }
}
