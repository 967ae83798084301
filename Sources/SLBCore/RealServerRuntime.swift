import SLBConfig
import SLBWire

/// A real server's live state. Its `RealState` is derived, never stored, so it cannot
/// disagree with the facts it summarises (admin state, failing probes, connection count).
struct RealServerRuntime {
    let address: IPv4Address
    let port: UInt16?
    let farm: Int
    let weight: UInt8
    let maxConns: UInt32
    let retry: UInt16
    let inService: Bool
    /// Probes of this real now past `faildetect` misses; the real is up when zero.
    var failingProbes = 0
    /// Slice of `Engine.probeStates` holding this real's (probe, real) instances.
    let probeStart: Int
    let probeCount: Int
    var totalConnections: UInt64 = 0
    var packets: UInt64 = 0
    var serverFailures: UInt64 = 0
    /// Least connections slow start (`Scheduler.swift`): held to one pick per round until
    /// its deficit is ≤ 0; `slowStartNextPick` is the farm's pick number it may take next.
    var slowStart = false
    var slowStartNextPick: UInt64 = 0

    /// May take new connections when its state allows (weight above 0, in service, no
    /// failing probe): a change into this is "placed in service" for slow start.
    var placeable: Bool { weight > 0 && inService && failingProbes == 0 }

    /// IOS precedence: admin state first, then failure, then throttling (spec §2.6
    /// "combined states").
    func state(connections: Int32) -> RealState {
        if !inService { return .outOfService }
        if failingProbes > 0 { return .probeFailed }
        if UInt64(max(0, connections)) >= UInt64(maxConns) { return .maxConns }
        return .operational
    }

    /// May take a new, non-sticky connection.
    func acceptsNew(connections: Int32) -> Bool {
        weight > 0 && state(connections: connections) == .operational
    }

    /// May take a sticky hit: IOS honours stickiness while the real is OPERATIONAL or
    /// MAXCONNS_THROTTLED (spec §2.4).
    var acceptsSticky: Bool { inService && failingProbes == 0 }
}

/// One (probe, real) instance: consecutive misses and outage history.
struct ProbeInstance {
    let probe: Int
    var misses = 0
    var failing = false
    var seenResult = false
    var outages = 0
    var outageStart = MonotonicTime.zero
    var cumulativeOutage = TimeSpan.zero
    var lastRTT: TimeSpan?

    init(probe: Int) { self.probe = probe }
}
