/// Names one IP datagram (RFC 791 §3.2: fragments with the same source, destination,
/// protocol and identification belong together).
public struct FragmentKey: Hashable, Sendable, CustomStringConvertible {
    public var source: IPv4Address
    public var destination: IPv4Address
    public var identification: UInt16
    public var ipProtocol: IPProtocol

    public init(source: IPv4Address, destination: IPv4Address, identification: UInt16, ipProtocol: IPProtocol) {
        self.source = source
        self.destination = destination
        self.identification = identification
        self.ipProtocol = ipProtocol
    }

    public var description: String { "\(source)->\(destination) \(ipProtocol) id \(identification)" }
}

/// Why the fragment table dropped a fragment or could not keep a decision. Raw values are
/// stable counter names.
public enum FragmentDropReason: String, Hashable, Sendable, CaseIterable, CustomStringConvertible {
    /// Held fragments across all datagrams reached `Limits.maximumHeldFragments`.
    case holdCountLimit = "fragment-hold-count-limit"
    /// Held bytes reached `Limits.maximumHeldBytes`.
    case holdBytesLimit = "fragment-hold-bytes-limit"
    /// One datagram reached `Limits.maximumFragmentsPerDatagram` held fragments.
    case perDatagramLimit = "fragment-hold-per-datagram-limit"
    /// The first fragment did not come within `Limits.holdTime`.
    case holdTimeout = "fragment-hold-timeout"
    /// `Limits.maximumDatagrams` decisions are live; this datagram's later fragments will
    /// be held and then time out.
    case tableFull = "fragment-table-full"

    public var description: String { rawValue }
}

/// The SLB's fragment table (DESIGN.md "Fragments"). The first fragment (offset 0) is
/// balanced like any packet and its decision recorded here; later fragments look the
/// decision up by `FragmentKey`. Later fragments that overtake the first are held (copied,
/// bounded in count, bytes and time) and released once the first is decided.
///
/// Pure: time is a parameter, nothing happens unless called. `expire(now:)` is O(entries);
/// the dataplane calls it from its timer tick, and the limits keep the table small.
/// Generic over the decision so SLBCore's `RealID` (or a whole `Forwarding`) fits.
public struct FragmentTable<Decision: Hashable & Sendable>: Sendable {
    public struct Limits: Hashable, Sendable {
        /// Live decisions (datagrams whose first fragment was seen).
        public var maximumDatagrams: Int
        /// Fragments held across all datagrams.
        public var maximumHeldFragments: Int
        /// Bytes held across all datagrams.
        public var maximumHeldBytes: Int
        /// Held fragments of one datagram: a 65535-byte datagram at a 1280-byte MTU is 52
        /// fragments, so 64 covers any sane sender.
        public var maximumFragmentsPerDatagram: Int
        /// How long held fragments wait for their first fragment (DESIGN.md: 2 s), counted
        /// from the first one held, never extended.
        public var holdTime: TimeSpan
        /// How long a decision lives after its datagram's last fragment was seen.
        public var decisionLifetime: TimeSpan

        public init(maximumDatagrams: Int = 4096, maximumHeldFragments: Int = 512,
                    maximumHeldBytes: Int = 1 << 20, maximumFragmentsPerDatagram: Int = 64,
                    holdTime: TimeSpan = .seconds(2), decisionLifetime: TimeSpan = .seconds(2)) {
            self.maximumDatagrams = maximumDatagrams
            self.maximumHeldFragments = maximumHeldFragments
            self.maximumHeldBytes = maximumHeldBytes
            self.maximumFragmentsPerDatagram = maximumFragmentsPerDatagram
            self.holdTime = holdTime
            self.decisionLifetime = decisionLifetime
        }
    }

    public struct Counters: Hashable, Sendable {
        public var decisionsRecorded = 0
        public var lookupHits = 0
        public var lookupMisses = 0
        public var fragmentsHeld = 0
        public var fragmentsReleased = 0
        public var decisionsExpired = 0
        public var drops: [FragmentDropReason: Int] = [:]

        public init() {}

        public func drops(_ reason: FragmentDropReason) -> Int { drops[reason, default: 0] }
    }

    public enum HoldOutcome: Hashable, Sendable {
        case held
        /// The first fragment was decided meanwhile: forward this one now, nothing was kept.
        case decided(Decision)
        case dropped(FragmentDropReason)
    }

    public enum RecordOutcome: Hashable, Sendable {
        case recorded
        case dropped(FragmentDropReason)
    }

    struct Decided: Sendable {
        var decision: Decision
        var expires: MonotonicTime
    }

    struct Pending: Sendable {
        var fragments: [[UInt8]]
        var bytes: Int
        var deadline: MonotonicTime
    }

    public let limits: Limits
    public private(set) var counters = Counters()
    var decided: [FragmentKey: Decided] = [:]
    var pending: [FragmentKey: Pending] = [:]
    public private(set) var heldFragmentCount = 0
    public private(set) var heldByteCount = 0

    public init(limits: Limits = Limits()) {
        self.limits = limits
    }

    public var decisionCount: Int { decided.count }
    /// Datagrams with held fragments waiting for their first fragment.
    public var pendingDatagramCount: Int { pending.count }

    /// Records the decision made for a datagram's first fragment. Held fragments stay held
    /// until `release(_:)` (so the caller sends the first fragment before them).
    public mutating func record(_ key: FragmentKey, decision: Decision, now: MonotonicTime) -> RecordOutcome {
        let expires = now + limits.decisionLifetime
        if decided[key] == nil, decided.count >= limits.maximumDatagrams {
            expireDecisions(now: now)
            guard decided.count < limits.maximumDatagrams else {
                counters.drops[.tableFull, default: 0] += 1
                return .dropped(.tableFull)
            }
        }
        decided[key] = Decided(decision: decision, expires: expires)
        counters.decisionsRecorded += 1
        return .recorded
    }

    /// The decision for a later fragment; each hit keeps the decision alive another
    /// `decisionLifetime`.
    public mutating func lookup(_ key: FragmentKey, now: MonotonicTime) -> Decision? {
        guard let entry = decided[key] else {
            counters.lookupMisses += 1
            return nil
        }
        guard now < entry.expires else {
            decided[key] = nil
            counters.decisionsExpired += 1
            counters.lookupMisses += 1
            return nil
        }
        decided[key]?.expires = now + limits.decisionLifetime
        counters.lookupHits += 1
        return entry.decision
    }

    /// Keeps a copy of a later fragment that arrived before its first fragment.
    public mutating func hold(_ key: FragmentKey, fragment: UnsafeRawBufferPointer, now: MonotonicTime) -> HoldOutcome {
        // Not via lookup(): the caller has just missed there, a second miss is not news.
        if let entry = decided[key], now < entry.expires {
            decided[key]?.expires = now + limits.decisionLifetime
            return .decided(entry.decision)
        }
        let size = fragment.count
        let existing = pending[key]
        if let existing, now >= existing.deadline {
            dropPending(key, reason: .holdTimeout)
        }
        let already = pending[key]?.fragments.count ?? 0
        let reason: FragmentDropReason? =
            if already >= limits.maximumFragmentsPerDatagram { .perDatagramLimit }
            else if heldFragmentCount >= limits.maximumHeldFragments { .holdCountLimit }
            else if heldByteCount + size > limits.maximumHeldBytes { .holdBytesLimit }
            else { nil }
        if let reason {
            counters.drops[reason, default: 0] += 1
            return .dropped(reason)
        }
        let copy = [UInt8](fragment)
        if pending[key] != nil {
            pending[key]?.fragments.append(copy)
            pending[key]?.bytes += size
        } else {
            pending[key] = Pending(fragments: [copy], bytes: size, deadline: now + limits.holdTime)
        }
        heldFragmentCount += 1
        heldByteCount += size
        counters.fragmentsHeld += 1
        return .held
    }

    public mutating func hold(_ key: FragmentKey, fragment: [UInt8], now: MonotonicTime) -> HoldOutcome {
        fragment.withUnsafeBytes { hold(key, fragment: $0, now: now) }
    }

    /// Hands back the fragments held for `key`, in arrival order, and forgets them.
    public mutating func release(_ key: FragmentKey) -> [[UInt8]] {
        guard let entry = pending.removeValue(forKey: key) else { return [] }
        heldFragmentCount -= entry.fragments.count
        heldByteCount -= entry.bytes
        counters.fragmentsReleased += entry.fragments.count
        return entry.fragments
    }

    /// Drops held fragments whose first fragment did not come in time and forgets idle
    /// decisions. Returns how many held fragments were dropped.
    @discardableResult
    public mutating func expire(now: MonotonicTime) -> Int {
        expireDecisions(now: now)
        var dropped = 0
        for (key, entry) in pending where now >= entry.deadline {
            dropped += entry.fragments.count
            dropPending(key, reason: .holdTimeout)
        }
        return dropped
    }

    mutating func expireDecisions(now: MonotonicTime) {
        for (key, entry) in decided where now >= entry.expires {
            decided[key] = nil
            counters.decisionsExpired += 1
        }
    }

    mutating func dropPending(_ key: FragmentKey, reason: FragmentDropReason) {
        guard let entry = pending.removeValue(forKey: key) else { return }
        heldFragmentCount -= entry.fragments.count
        heldByteCount -= entry.bytes
        counters.drops[reason, default: 0] += entry.fragments.count
    }
}
