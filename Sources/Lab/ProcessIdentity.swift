import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A process named by PID *and* its start time (field 22 of /proc/PID/stat, in clock ticks
/// since boot), so a recorded PID that the kernel has since reused for an unrelated process
/// is never signalled.
public struct ProcessIdentity: Hashable, Sendable, Codable, CustomStringConvertible {
    public var pid: Int32
    public var startTime: UInt64

    public init(pid: Int32, startTime: UInt64) {
        self.pid = pid
        self.startTime = startTime
    }

    public static var current: ProcessIdentity? {
        let pid = getpid()
        return startTime(of: pid).map { ProcessIdentity(pid: pid, startTime: $0) }
    }

    public static func of(pid: Int32) -> ProcessIdentity? {
        startTime(of: pid).map { ProcessIdentity(pid: pid, startTime: $0) }
    }

    /// True while this exact process exists (same PID, same start time).
    public var isAlive: Bool { ProcessIdentity.startTime(of: pid) == startTime }

    public var description: String { "pid \(pid)" }

    /// proc(5): the second field is `(comm)` and may contain spaces or parentheses, so fields
    /// are counted after the last `)`.
    static func startTime(of pid: Int32) -> UInt64? {
        guard pid > 0, let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return nil }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        // After `)`: field 3 (state) is index 0, so field 22 (starttime) is index 19.
        guard fields.count > 19 else { return nil }
        return UInt64(fields[19])
    }

    /// SIGTERM, then SIGKILL if the process is still there after `grace`. Only this exact
    /// process is signalled; the caller's own process never is.
    public func terminate(grace: TimeInterval = 1.0) {
        guard pid != getpid(), isAlive else { return }
        kill(pid, SIGTERM)
        let deadline = Date().addingTimeInterval(grace)
        while isAlive && Date() < deadline { usleep(20_000) }
        if isAlive { kill(pid, SIGKILL) }
    }
}
