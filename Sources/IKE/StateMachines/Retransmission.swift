import SLBWire

/// Request retransmission (RFC 7296 §2.1): only the requester retransmits, with exponential
/// back-off. Defaults are strongSwan's (timeout 4 s, base 1.8, 5 tries; spec 1.3).
public struct RetransmissionPolicy: Hashable, Sendable {
    public var initialTimeout: TimeSpan
    /// Multiplier per attempt, in thousandths (1800 = ×1.8) so no floating point enters timers.
    public var backoffPerMille: UInt64
    public var retransmissions: Int

    public init(initialTimeout: TimeSpan = .seconds(4), backoffPerMille: UInt64 = 1800, retransmissions: Int = 5) {
        self.initialTimeout = initialTimeout
        self.backoffPerMille = backoffPerMille
        self.retransmissions = retransmissions
    }

    public static let strongSwan = RetransmissionPolicy()

    /// Wait after the `attempt`-th transmission (0 = the first send).
    func timeout(afterAttempt attempt: Int) -> TimeSpan {
        var ns = initialTimeout.nanoseconds
        for _ in 0..<max(0, attempt) {
            // Saturates instead of trapping when a configuration asks for absurd back-off.
            let (next, overflow) = (ns / 1000).multipliedReportingOverflow(by: backoffPerMille)
            ns = overflow ? UInt64.max : next
        }
        return TimeSpan(nanoseconds: ns)
    }
}

/// One outstanding request and its retransmission clock.
struct PendingSend {
    var bytes: [UInt8]
    var to: IKEEndpoint
    var from: IKEEndpoint
    var sentAt: MonotonicTime
    var attempts: Int = 0

    func deadline(_ policy: RetransmissionPolicy) -> MonotonicTime {
        let (t, overflow) = sentAt.nanoseconds.addingReportingOverflow(policy.timeout(afterAttempt: attempts).nanoseconds)
        return MonotonicTime(nanoseconds: overflow ? UInt64.max : t)
    }

    /// Returns the retransmission to perform, or nil when the tries are used up.
    mutating func retransmit(now: MonotonicTime, policy: RetransmissionPolicy) -> IKEAction? {
        guard attempts < policy.retransmissions else { return nil }
        attempts += 1
        sentAt = now
        return .send(bytes, to: to, from: from)
    }
}
