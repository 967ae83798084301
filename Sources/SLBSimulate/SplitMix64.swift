/// SplitMix64 (Steele, Lea, Flood 2014; the seeding generator of xoshiro): 64-bit state, one
/// add and a mix per draw. The simulation draws only from this, never from the system
/// generator, and does its own range reduction so the bytes it prints depend on the seed alone,
/// not on the standard library's `random(in:)` algorithm.
struct SplitMix64 {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in 0..<bound (bound > 0), by Lemire's multiply-shift with rejection.
    mutating func below(_ bound: UInt64) -> UInt64 {
        guard bound > 1 else { return 0 }
        while true {
            let product = next().multipliedFullWidth(by: bound)
            if product.low >= (0 &- bound) % bound { return product.high }
        }
    }

    /// Uniform in the closed range.
    mutating func between(_ low: UInt64, _ high: UInt64) -> UInt64 {
        guard high > low else { return low }
        return low + below(high - low + 1)
    }

    /// True with probability `permille / 1000`.
    mutating func chance(permille: UInt64) -> Bool { below(1_000) < permille }

    /// An independent stream for another purpose, so adding draws to one part of the
    /// simulation does not shift the numbers another part sees.
    func stream(_ label: UInt64) -> SplitMix64 {
        var copy = SplitMix64(seed: state ^ (label &* 0xD1B5_4A32_D192_ED03))
        _ = copy.next()
        return copy
    }
}
