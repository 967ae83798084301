import ESP
import Testing

@Test(arguments: [64, 100, 1024, 4096])
func windowRemembersExactlyItsSize(_ size: Int) {
    var window = ReplayWindow(size: size)
    #expect(window.size == size)
    let top = UInt32(10 * size)
    #expect(window.accept(top) == .fresh)
    // Everything in (top − size, top) is new once, then a replay.
    for sequence in (top - UInt32(size) + 1)..<top {
        #expect(window.check(sequence) == .fresh)
        #expect(window.accept(sequence) == .fresh)
        #expect(window.check(sequence) == .replayed)
    }
    #expect(window.check(top - UInt32(size)) == .outsideWindow)
    #expect(window.check(1) == .outsideWindow)
    #expect(window.check(top + 1) == .fresh)
}

@Test func windowSizeIsClamped() {
    #expect(ReplayWindow(size: 1).size == ReplayWindow.minimumSize)
    #expect(ReplayWindow(size: Int.max).size == ReplayWindow.maximumSize)
    #expect(ReplayWindow().size == 1024)
}

@Test func slidingForgetsOldBitsInReusedWords() {
    // Ring words are reused as the window advances; a stale bit must never read as "seen".
    var window = ReplayWindow(size: 64)
    for sequence: UInt32 in 1...5000 { #expect(window.accept(sequence) == .fresh) }
    var sparse = ReplayWindow(size: 64)
    var sequence: UInt32 = 1
    while sequence < 100_000 {
        #expect(sparse.accept(sequence) == .fresh, "seq \(sequence)")
        #expect(sparse.check(sequence + 1) == .fresh)
        sequence += 61       // strides that land on every bit position of the ring over time
    }
}

@Test func zeroIsNeverValid() {
    var window = ReplayWindow()
    #expect(window.check(0) == .invalid)
    #expect(window.accept(0) == .invalid)
    #expect(window.highest == 0)
}

@Test func topOfTheSequenceSpace() {
    var window = ReplayWindow(size: 64)
    #expect(window.accept(UInt32.max) == .fresh)
    #expect(window.accept(UInt32.max - 63) == .fresh)
    #expect(window.check(UInt32.max - 64) == .outsideWindow)
    #expect(window.check(UInt32.max) == .replayed)
}

/// Compares the ring against a naive set-based reference on a pseudo-random arrival order.
@Test func matchesAReferenceModel() {
    var window = ReplayWindow(size: 128)
    var seen = Set<UInt32>()
    var highest: UInt32 = 0
    var state: UInt64 = 0x9E37_79B9_7F4A_7C15
    var base: UInt32 = 1
    for _ in 0..<50_000 {
        state = state &* 6364136223846793005 &+ 1442695040888963407
        let jitter = UInt32(truncatingIfNeeded: state >> 33) % 300
        base &+= UInt32(truncatingIfNeeded: state >> 60) % 3
        let sequence = base + jitter
        let expected: ReplayWindow.Verdict
        if sequence > highest { expected = .fresh }
        else if highest - sequence >= 128 { expected = .outsideWindow }
        else { expected = seen.contains(sequence) ? .replayed : .fresh }
        #expect(window.accept(sequence) == expected)
        if expected == .fresh { seen.insert(sequence); highest = max(highest, sequence) }
    }
}
