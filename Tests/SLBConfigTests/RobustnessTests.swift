import SLBConfig
import SLBWire
import Testing

/// Garbage, truncated and mutated input never crashes the parser, and every rejected file
/// reports at least one error with a real position.
@Suite struct RobustnessTests {
    static let garbage: [String] = [
        "", "\n\n\n", "!", "ip", "ip slb", "ip slb probe", "ip slb probe P", "no", "no ip", "no ip slb",
        "no ip slb entries conn", "exit\nexit\nend", "\u{0}\u{1}\u{7f}", "ip slb serverfarm 💥\n real ::1",
        String(repeating: "a ", count: 5000), String(repeating: "ip slb vserver V\n", count: 200),
        "ip slb serverfarm F\n real 1.2.3.4 99999999999999999999999999", "\t\tip\tslb\tserverfarm\tF",
        "ip slb vserver V\n virtual 203.0.113.100 255.255.255.255 255.255.255.0 esp",
        "ip slb vserver V\n virtual 203.0.113.100 udp", "ip slb vserver V\n sticky", "ip slb vserver V\n client",
        "ip slb entries conn 1 sticky", "\r\nip slb probe P ping\r\n interval 5\r\n",
    ]

    @Test(arguments: garbage)
    func garbageDoesNotCrash(_ text: String) {
        let result = parse(text)
        if result.configuration == nil {
            #expect(result.errors.contains { $0.line > 0 && $0.column > 0 })
        }
    }

    /// Every prefix of every line of every farm file: truncated commands.
    @Test(arguments: listDirectory(SourceTree.farms, suffix: ".cfg"))
    func truncatedCommands(_ name: String) throws {
        let text = try #require(readFile(SourceTree.farms + "/" + name))
        let lines = text.split(separator: "\n").map(String.init)
        var checked = 0
        for (index, line) in lines.enumerated() {
            for cut in 0...line.count {
                var mutated = lines
                mutated[index] = String(line.prefix(cut))
                _ = parse(mutated.joined(separator: "\n"))
                checked += 1
            }
        }
        #expect(checked > 500)
    }

    /// A deterministic mutation fuzzer over the farm files: drop, duplicate, swap, truncate and
    /// corrupt lines and words. Any crash fails the test run.
    @Test(arguments: listDirectory(SourceTree.farms, suffix: ".cfg"))
    func mutatedFarms(_ name: String) throws {
        let text = try #require(readFile(SourceTree.farms + "/" + name))
        let lines = text.split(separator: "\n").map(String.init)
        var rng = SplitMix(seed: UInt64(name.utf8.reduce(0) { $0 &* 31 &+ UInt64($1) }))
        let junk = ["0", "-1", "65536", "4294967296", "255.255.0.255", "1.2.3", "no", "exit", "end", "!", "any",
                    "isakmp", "group", "netmask", "backup", "ip slb", "real", "\u{1F4A5}", "\t", "999999999999999999999"]
        var rejected = 0
        for _ in 0..<400 {
            var mutated = lines
            for _ in 0..<(1 + rng.next() % 4) where !mutated.isEmpty {
                let i = Int(rng.next() % UInt64(mutated.count))
                switch rng.next() % 6 {
                case 0: mutated.remove(at: i)
                case 1: mutated.insert(mutated[i], at: i)
                case 2: mutated.swapAt(i, Int(rng.next() % UInt64(mutated.count)))
                case 3: mutated[i] = String(mutated[i].prefix(Int(rng.next() % UInt64(mutated[i].count + 1))))
                case 4:
                    var words = mutated[i].split(separator: " ", omittingEmptySubsequences: false).map(String.init)
                    words[Int(rng.next() % UInt64(words.count))] = junk[Int(rng.next() % UInt64(junk.count))]
                    mutated[i] = words.joined(separator: " ")
                default:
                    mutated[i] += " " + junk[Int(rng.next() % UInt64(junk.count))]
                }
            }
            let result = parse(mutated.joined(separator: "\n"))
            if result.configuration == nil {
                rejected += 1
                #expect(!result.errors.isEmpty)
            } else if let configuration = result.configuration {
                // Whatever is accepted renders and reads back to the same model.
                #expect(parse(ConfigRenderer.render(configuration)).configuration == configuration)
            }
        }
        #expect(rejected > 0)
    }
}
