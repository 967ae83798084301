/// The few statistics the scenarios quote.
public enum Statistics {
    public static func median(_ values: [Double]) -> Double {
        let sorted = values.filter(\.isFinite).sorted()
        guard !sorted.isEmpty else { return .nan }
        let middle = sorted.count / 2
        return sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
    }

    /// Nearest-rank percentile (p in 0...100) of the finite values; NaN when there are none.
    public static func percentile(_ values: [Double], _ p: Double) -> Double {
        let sorted = values.filter(\.isFinite).sorted()
        guard !sorted.isEmpty else { return .nan }
        let rank = Int((p / 100 * Double(sorted.count)).rounded(.up))
        return sorted[min(max(rank, 1), sorted.count) - 1]
    }

    /// Jain's fairness index (R. Jain, D. Chiu, W. Hawe, DEC-TR-301, 1984): (Σx)² / (n·Σx²),
    /// 1 when every x is equal, 1/n when one takes all. Applied to share/target per real, so a
    /// weighted split that matches its weights scores 1.
    public static func jainIndex(_ values: [Double]) -> Double {
        guard !values.isEmpty else { return .nan }
        let sum = values.reduce(0, +)
        let squares = values.reduce(0) { $0 + $1 * $1 }
        return squares == 0 ? .nan : sum * sum / (Double(values.count) * squares)
    }
}

/// SplitMix64 (Steele, Lea, Flood 2014): seeded draws for reproducible populations.
public struct BenchRandom: Sendable {
    var state: UInt64
    public init(seed: UInt64) { state = seed }
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    /// Uniform in `range` (Lemire's multiply-shift; the tiny bias is irrelevant here).
    public mutating func next(in range: ClosedRange<Int>) -> Int {
        let span = UInt64(range.upperBound - range.lowerBound + 1)
        return range.lowerBound + Int((next().multipliedFullWidth(by: span)).high)
    }
    public mutating func unit() -> Double { Double(next() >> 11) / Double(1 << 53) }
}

