import SLBConfig

/// A server farm's live state: its reals (a contiguous RealID range in configuration
/// order) and the round-robin cursor. The cursor belongs to the farm, not to a vserver, so
/// the ISAKMP, NAT-T and ESP vservers of one farm share one rotation (spec §2.1, default
/// per-farm).
struct ServerFarmRuntime {
    let name: String
    let predictor: Predictor
    let nat: NATMode
    let failactionPurge: Bool
    let probeNames: [String]
    let reals: Range<Int>
    /// Real (absolute index) the round robin is on, and the picks it has left there.
    var cursor: Int
    var credit = 0
    /// Least-connections picks made in this farm: the clock of slow start's rounds.
    var leastConnsPicks: UInt64 = 0

    init(_ farm: ServerFarm, reals: Range<Int>) {
        name = farm.name
        predictor = farm.predictor
        nat = farm.nat
        failactionPurge = farm.failactionPurge
        probeNames = farm.probes
        self.reals = reals
        // Parked on the last real so the first pick starts with the first one.
        cursor = reals.isEmpty ? reals.lowerBound : reals.upperBound - 1
    }
}
