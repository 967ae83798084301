/// Integer hashing and sizing shared by the connection and sticky tables.
///
/// The tables key on attacker-chosen values (client address and port), so the mix is seeded
/// per engine: a client cannot precompute a set of flows that land in one bucket chain.
/// The seed never influences anything observable (snapshots walk slots, not buckets).
@usableFromInline
struct FlatHash {
    @usableFromInline let seed: UInt64

    @inlinable init(seed: UInt64) { self.seed = seed }

    /// splitmix64's finaliser: full avalanche, a few multiplies, no allocation.
    @inlinable @inline(__always)
    static func mix(_ value: UInt64) -> UInt64 {
        var z = value &+ 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    @inlinable @inline(__always)
    func hash(_ a: UInt64, _ b: UInt64) -> UInt64 {
        FlatHash.mix(FlatHash.mix(a ^ seed) ^ b)
    }

    /// Smallest power of two ≥ `n` (and ≥ 1), saturating at 2^30 buckets.
    static func powerOfTwo(atLeast n: Int) -> Int {
        var size = 1
        while size < n, size < 1 << 30 { size <<= 1 }
        return size
    }
}

/// "No entry" in every index field of the flat tables.
@usableFromInline let noIndex: Int32 = -1

/// Bucket array size the tables start with; they double (rehashing) as they fill, up to the
/// power of two covering their `ip slb entries` cap, so a ten-client test never allocates
/// for two million.
let initialBuckets = 64
