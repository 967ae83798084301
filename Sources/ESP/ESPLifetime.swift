import SLBWire

/// SA lifetimes (RFC 4301 §4.4.2.1): a soft limit asks for a rekey, a hard limit ends the
/// SA. Bytes count the protected payload (inner packets), as the kernel IPsec stacks do.
/// `nil` means no limit of that kind.
public struct ESPLifetime: Hashable, Sendable {
    public var softBytes: UInt64?
    public var hardBytes: UInt64?
    public var softPackets: UInt64?
    public var hardPackets: UInt64?
    public var softTime: TimeSpan?
    public var hardTime: TimeSpan?

    public init(softBytes: UInt64? = nil, hardBytes: UInt64? = nil,
                softPackets: UInt64? = nil, hardPackets: UInt64? = nil,
                softTime: TimeSpan? = nil, hardTime: TimeSpan? = nil) {
        self.softBytes = softBytes
        self.hardBytes = hardBytes
        self.softPackets = softPackets
        self.hardPackets = hardPackets
        self.softTime = softTime
        self.hardTime = hardTime
    }

    public static let unlimited = ESPLifetime()
}

/// Where an SA stands against its lifetime and its sequence-number space.
public enum ESPLifetimeState: Int, Hashable, Sendable, Comparable {
    /// Usable, no action needed.
    case valid
    /// A soft limit passed: negotiate a replacement SA (CREATE_CHILD_SA / Quick Mode).
    case rekeyDue
    /// A hard limit passed or sequence numbers are exhausted: stop using the SA.
    case expired

    public static func < (a: Self, b: Self) -> Bool { a.rawValue < b.rawValue }
}

/// Traffic an SA has protected or accepted.
public struct ESPCounters: Hashable, Sendable {
    public var packets: UInt64 = 0
    /// Inner-packet bytes (the lifetime basis), not ESP bytes on the wire.
    public var bytes: UInt64 = 0
    public init() {}
}

extension ESPLifetime {
    func state(counters: ESPCounters, established: MonotonicTime, now: MonotonicTime) -> ESPLifetimeState {
        let age = now - established
        if Self.reached(hardBytes, counters.bytes) || Self.reached(hardPackets, counters.packets)
            || Self.reached(hardTime, age) {
            return .expired
        }
        if Self.reached(softBytes, counters.bytes) || Self.reached(softPackets, counters.packets)
            || Self.reached(softTime, age) {
            return .rekeyDue
        }
        return .valid
    }

    private static func reached<T: Comparable>(_ limit: T?, _ value: T) -> Bool {
        guard let limit else { return false }
        return value >= limit
    }
}
