import SLBShow
import SLBWire
import Testing

/// `show` words come from operators and from the control socket: a seeded stream of keyword
/// prefixes, arguments and junk must parse or give an IOS `%` error, never trap.
@Suite("show command parser fuzz")
struct ShowCommandParserFuzzTests {
    static let words = ["show", "sh", "s", "ip", "i", "slb", "sl", "conns", "c", "reals", "re", "realserver", "vservers",
                        "v", "serverfarms", "se", "sticky", "st", "probe", "p", "stats", "vserver", "client", "sfarm",
                        "name", "n", "detail", "d", "--json", "192.0.2.10", "192.0.2.256", "1.2.3", "VPN-ESP", "",
                        "💥", "\u{0}", "-", "--", String(repeating: "c", count: 500)]

    @Test func randomWords() {
        var state: UInt64 = 0x5EED_5EED
        func next() -> Int {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return Int(truncatingIfNeeded: (z ^ (z >> 31)) >> 1)
        }
        var parsed = 0
        for _ in 0..<20_000 {
            let words = (0..<(next() % 9)).map { _ in Self.words[next() % Self.words.count] }
            do {
                _ = try ShowCommandParser.parse(words: words)
                parsed += 1
            } catch {
                #expect(error.description.hasPrefix("% "), "\(words)")
            }
            _ = try? ShowCommandParser.parse(words.joined(separator: " "))
        }
        #expect(parsed > 100)
    }
}
