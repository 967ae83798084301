/// Anti-replay window (RFC 4303 §3.4.3) as a ring of 64-bit words (RFC 6479).
///
/// The bitmap has a power-of-two number of words and one spare word beyond the window, so
/// moving the window only zeroes the words it enters and never shifts bits. Bit `s mod
/// (64·words)` records sequence number `s`. `check` is the pre-ICV test; `accept` records a
/// number only after its packet verified, so forged packets cannot move the window.
/// 32-bit sequence numbers only: this implementation does not negotiate ESN (RFC 4303
/// §2.2.1; IKEv2 "No ESN" transform).
public struct ReplayWindow: Hashable, Sendable {
    /// §3.4.3: a receiver MUST support 32 and SHOULD default to 64.
    public static let minimumSize = 64
    /// Large enough for multi-core senders that reorder heavily (RFC 6479 §1 mentions
    /// thousands); the bitmap is then 16 KiB.
    public static let maximumSize = 1 << 17
    /// The project's default, well above RFC 4303's 64 for multi-queue peers.
    public static let defaultSize = 1024

    public enum Verdict: Hashable, Sendable {
        case fresh, replayed, outsideWindow, invalid
    }

    /// Sequence numbers older than `highest − size + 1` are outside the window.
    public let size: Int
    /// Highest sequence number accepted so far; 0 before the first packet.
    public private(set) var highest: UInt32 = 0
    private var words: [UInt64]
    private let wordMask: UInt32

    /// `size` is clamped to `minimumSize…maximumSize`.
    public init(size: Int = ReplayWindow.defaultSize) {
        let size = min(max(size, Self.minimumSize), Self.maximumSize)
        var count = 1
        while count < size / 64 + 1 { count <<= 1 }     // window words + 1 spare, power of two
        self.size = size
        self.words = [UInt64](repeating: 0, count: count)
        self.wordMask = UInt32(count - 1)
    }

    /// The pre-check of RFC 4303 §3.4.3, done before the ICV is verified.
    public func check(_ sequence: UInt32) -> Verdict {
        guard sequence != 0 else { return .invalid }
        if sequence > highest { return .fresh }
        guard highest - sequence < UInt32(size) else { return .outsideWindow }
        let (word, bit) = position(sequence)
        return words[word] & bit != 0 ? .replayed : .fresh
    }

    /// Records an authenticated sequence number (call only after the ICV verified). Returns
    /// the verdict `check` gives now, so a duplicate that raced in is still refused.
    @discardableResult
    public mutating func accept(_ sequence: UInt32) -> Verdict {
        let verdict = check(sequence)
        guard verdict == .fresh else { return verdict }
        if sequence > highest {
            // Zero the words the window slides into; a jump of a whole ring clears them all.
            let currentWord = highest >> 6
            let newWord = sequence >> 6
            let steps = min(newWord - currentWord, UInt32(words.count))
            var step: UInt32 = 1
            while step <= steps {
                words[Int((currentWord &+ step) & wordMask)] = 0
                step += 1
            }
            highest = sequence
        }
        let (word, bit) = position(sequence)
        words[word] |= bit
        return .fresh
    }

    private func position(_ sequence: UInt32) -> (word: Int, bit: UInt64) {
        (Int((sequence >> 6) & wordMask), 1 << UInt64(sequence & 63))
    }
}
