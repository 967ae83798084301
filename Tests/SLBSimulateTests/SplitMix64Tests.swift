@testable import SLBSimulate
import Testing

@Suite("deterministic building blocks")
struct BuildingBlockTests {
    /// Reference outputs of SplitMix64 seeded with 0 (Vigna's splitmix64.c).
    @Test("SplitMix64 known answers")
    func splitMix() {
        var random = SplitMix64(seed: 0)
        #expect(random.next() == 0xE220_A839_7B1D_CDAF)
        #expect(random.next() == 0x6E78_9E6A_A1B9_65F4)
        #expect(random.next() == 0x06C4_5D18_8009_454F)
    }

    @Test("bounded draws stay in range and cover it", arguments: [1, 2, 3, 7, 1_000] as [UInt64])
    func bounded(bound: UInt64) {
        var random = SplitMix64(seed: 42)
        var seen = Set<UInt64>()
        for _ in 0..<5_000 {
            let value = random.below(bound)
            #expect(value < bound)
            seen.insert(value)
        }
        #expect(seen.count == Int(min(bound, 1_000)) || bound == 1_000 && seen.count > 950)
    }

    @Test("events at one time run in the order they were scheduled")
    func queueOrder() {
        var queue = EventQueue<String>()
        queue.schedule("c", at: 20)
        queue.schedule("a1", at: 10)
        queue.schedule("a2", at: 10)
        queue.schedule("b", at: 15)
        queue.schedule("a3", at: 10)
        var order: [String] = []
        while let (_, event) = queue.pop() { order.append(event) }
        #expect(order == ["a1", "a2", "a3", "b", "c"])
    }
}
