/// A point on a monotonic clock, in nanoseconds since an arbitrary origin.
///
/// Pure targets never read a clock: every function that needs time takes `now: MonotonicTime`.
/// The edge reads `clock_gettime(CLOCK_MONOTONIC)`; tests and `slb simulate` start at zero and
/// advance by hand, so results depend only on inputs.
public struct MonotonicTime: Hashable, Comparable, Sendable, Codable, CustomStringConvertible {
    public var nanoseconds: UInt64

    @inlinable public init(nanoseconds: UInt64) { self.nanoseconds = nanoseconds }

    public static let zero = MonotonicTime(nanoseconds: 0)

    @inlinable public static func seconds(_ s: UInt64) -> MonotonicTime {
        MonotonicTime(nanoseconds: s &* 1_000_000_000)
    }

    @inlinable public static func milliseconds(_ ms: UInt64) -> MonotonicTime {
        MonotonicTime(nanoseconds: ms &* 1_000_000)
    }

    @inlinable public static func < (a: MonotonicTime, b: MonotonicTime) -> Bool { a.nanoseconds < b.nanoseconds }

    @inlinable public static func + (t: MonotonicTime, d: TimeSpan) -> MonotonicTime {
        MonotonicTime(nanoseconds: t.nanoseconds &+ d.nanoseconds)
    }

    /// Saturates at zero: time spans are never negative.
    @inlinable public static func - (a: MonotonicTime, b: MonotonicTime) -> TimeSpan {
        TimeSpan(nanoseconds: a.nanoseconds >= b.nanoseconds ? a.nanoseconds - b.nanoseconds : 0)
    }

    public var description: String { TimeSpan(nanoseconds: nanoseconds).description }
}

/// A non-negative duration in nanoseconds.
public struct TimeSpan: Hashable, Comparable, Sendable, Codable, CustomStringConvertible {
    public var nanoseconds: UInt64

    @inlinable public init(nanoseconds: UInt64) { self.nanoseconds = nanoseconds }

    public static let zero = TimeSpan(nanoseconds: 0)

    @inlinable public static func seconds(_ s: UInt64) -> TimeSpan { TimeSpan(nanoseconds: s &* 1_000_000_000) }
    @inlinable public static func milliseconds(_ ms: UInt64) -> TimeSpan { TimeSpan(nanoseconds: ms &* 1_000_000) }

    @inlinable public var wholeSeconds: UInt64 { nanoseconds / 1_000_000_000 }
    @inlinable public static func < (a: TimeSpan, b: TimeSpan) -> Bool { a.nanoseconds < b.nanoseconds }
    @inlinable public static func + (a: TimeSpan, b: TimeSpan) -> TimeSpan { TimeSpan(nanoseconds: a.nanoseconds &+ b.nanoseconds) }

    /// `hh:mm:ss`, the way IOS prints outage durations in `show ip slb probe`.
    public var description: String {
        let s = wholeSeconds
        func two(_ n: UInt64) -> String { n < 10 ? "0\(n)" : "\(n)" }
        return "\(two(s / 3600)):\(two(s / 60 % 60)):\(two(s % 60))"
    }
}
