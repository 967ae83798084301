import SLBConfig
import SLBWire
import Testing

/// `ConfigSession.apply` is what `slb configure` and `slb cli` feed operator lines to, one at a
/// time, in whatever mode the previous lines left. A seeded stream of real keywords, bad
/// numbers and junk in random order must never trap; a rejected line carries an error with
/// its position (or belongs to a block rejected earlier), and the result is either a valid
/// configuration or errors.
@Suite struct SessionFuzzTests {
    static let heads = ["ip slb serverfarm F", "ip slb serverfarm G", "ip slb vserver V", "ip slb vserver W",
                        "ip slb probe P ping", "ip slb probe Q ike", "real 198.51.100.11", "real 198.51.100.12 500",
                        "no ip slb serverfarm F", "no ip slb vserver V", "no real 198.51.100.11", "exit", "end", "!", ""]
    static let commands = ["weight", "maxconns", "inservice", "no inservice", "virtual 203.0.113.100", "serverfarm",
                           "sticky", "idle", "predictor", "failaction", "probe", "interval", "faildetect", "nat server",
                           "client", "backup", "synguard", "timeout", "address", "no", "default", "ip", "ip slb"]
    static let arguments = ["0", "1", "8", "255", "256", "65535", "65536", "4294967295", "4294967296", "-1",
                            "99999999999999999999999", "esp", "udp", "isakmp", "4500", "group", "0.0.0.0", "255.255.255.255",
                            "1.2.3", "G", "F", "purge", "leastconns", "roundrobin", "💥", "\u{0}", "\t", "?"]

    @Test(arguments: [1, 2, 3, 4] as [UInt64])
    func randomLines(seed: UInt64) {
        var rng = SplitMix(seed: seed)
        func pick(_ list: [String]) -> String { list[Int(rng.next() % UInt64(list.count))] }
        var session = ConfigSession()
        var rejectedBlock = false
        for line in 1...1_500 {
            var text: String
            switch rng.next() % 3 {
            case 0: text = pick(Self.heads)
            default:
                text = pick(Self.commands)
                for _ in 0..<(rng.next() % 4) { text += " " + pick(Self.arguments) }
            }
            if rng.next() % 8 == 0 { text = " " + text }
            let result = session.apply(text, line: line)
            let ownError = result.diagnostics.contains { $0.severity == .error && $0.line == line }
            if result.disposition == .rejected {
                // Either its own error, or a line swallowed by a block rejected earlier (reported once).
                #expect(ownError || rejectedBlock, "\(text)")
            }
            if ownError { rejectedBlock = true }
            if line % 250 == 0 {
                let parsed = session.result()
                #expect((parsed.configuration == nil) == parsed.diagnostics.contains { $0.severity == .error })
                _ = session.help()
                _ = session.prompt()
            }
        }
    }
}
