import Foundation
import SLBCore
import SLBWire

/// The one place engine events become log lines: `name key=value ...` with the event's
/// CLOCK_MONOTONIC time (`mono=`, seconds with nanoseconds: comparable with any other process's
/// CLOCK_MONOTONIC on the host, which is how tests time PROBE_FAILED) and the wall-clock time.
///
/// `slb.real.down real=198.51.100.11 farm=GW reason="probe PING" mono=1234.500000000 time=2026-11-22T15:20:01.123Z`
public struct EventLine: Sendable {
    let write: @Sendable (String) -> Void

    public init(write: @escaping @Sendable (String) -> Void) { self.write = write }

    public func record(_ event: EngineEvent) { write(EventLine.line(for: event)) }

    public static func line(for event: EngineEvent, wallClock: Date = Date()) -> String {
        var fields: [String]
        let at: MonotonicTime
        switch event {
        case .realDown(_, let address, let farm, let reason, let time):
            fields = ["real=\(address)", "farm=\(farm)", "reason=\(quoted(reason))"]
            at = time
        case .realUp(_, let address, let farm, let time):
            fields = ["real=\(address)", "farm=\(farm)"]
            at = time
        case .purge(_, let address, let farm, let connections, let time):
            fields = ["real=\(address)", "farm=\(farm)", "connections=\(connections)"]
            at = time
        case .farmNoReal(let farm, let vserver, let time):
            fields = ["farm=\(farm)", "vserver=\(vserver)"]
            at = time
        }
        // Timestamps last, so `name real=...` prefixes stay stable for grep.
        return ([event.name] + fields + ["mono=\(monotonic(at))", "time=\(iso8601(wallClock))"]).joined(separator: " ")
    }

    /// Seconds.nanoseconds, fixed width fraction, so it parses as a Double and sorts as text.
    public static func monotonic(_ time: MonotonicTime) -> String {
        let fraction = String(time.nanoseconds % 1_000_000_000)
        return "\(time.nanoseconds / 1_000_000_000)." + String(repeating: "0", count: 9 - fraction.count) + fraction
    }

    /// Parses the `mono=` field of a logged event line (tests, tools).
    public static func monotonicTime(in line: Substring) -> MonotonicTime? {
        guard let field = line.split(separator: " ").first(where: { $0.hasPrefix("mono=") }) else { return nil }
        let parts = field.dropFirst(5).split(separator: ".")
        guard parts.count == 2, let seconds = UInt64(parts[0]), let nanos = UInt64(parts[1]) else { return nil }
        return MonotonicTime(nanoseconds: seconds * 1_000_000_000 + nanos)
    }

    static func quoted(_ text: String) -> String {
        text.contains(" ") || text.contains("\"") ? "\"" + text.replacingOccurrences(of: "\"", with: "'") + "\"" : text
    }

    /// UTC (the format style's default zone), marked `Z` (ISO 8601 §4.2.4).
    static func iso8601(_ date: Date) -> String {
        date.formatted(.iso8601.year().month().day().time(includingFractionalSeconds: true)) + "Z"
    }
}
