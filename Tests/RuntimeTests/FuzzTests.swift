import ControlSocket
import Runtime
import SLBConfig
import SLBCore
import SLBWire
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Deterministic mutation fuzzing of everything the SLB daemon reads from outside: the state
/// file, control frames and requests, `clear` words, `slb cli` lines and configuration files.
/// Seeded and bounded (well under a few seconds each); a trap fails the run, and every
/// rejection must be a typed error or an IOS `%` message. Requests that fail must leave the
/// established tables alone.
@Suite("Hostile input to the daemon")
struct FuzzTests {
    /// SplitMix64: small, seedable, the same sequence on every platform.
    struct Mix: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        mutating func below(_ n: Int) -> Int { n <= 0 ? 0 : Int(next() % UInt64(n)) }
    }

    /// CRC-32 as zlib computes it, to re-seal a mutated payload so the decoder's body parser
    /// (not only the checksum) sees the mutation.
    static func crc32(_ bytes: ArraySlice<UInt8>) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in bytes {
            crc ^= UInt32(byte)
            for _ in 0..<8 { crc = crc & 1 != 0 ? 0xEDB8_8320 ^ (crc >> 1) : crc >> 1 }
        }
        return crc ^ 0xFFFF_FFFF
    }

    static func reseal(_ file: inout [UInt8]) {
        guard file.count >= 32 else { return }
        let length = UInt64(file.count - 32)
        for k in 0..<8 { file[20 + k] = UInt8(truncatingIfNeeded: length >> UInt64(56 - 8 * k)) }
        let crc = crc32(file[32...])
        for k in 0..<4 { file[28 + k] = UInt8(truncatingIfNeeded: crc >> UInt32(24 - 8 * k)) }
    }

    static func mutate(_ bytes: inout [UInt8], from offset: Int, _ rng: inout Mix) {
        guard bytes.count > offset else { return }
        let interesting: [UInt8] = [0, 1, 2, 0x7F, 0x80, 0xFE, 0xFF]
        for _ in 0..<(1 + rng.below(6)) {
            let i = offset + rng.below(bytes.count - offset)
            switch rng.below(5) {
            case 0: bytes[i] ^= UInt8(truncatingIfNeeded: 1 << rng.below(8))
            case 1: bytes[i] = interesting[rng.below(interesting.count)]
            case 2: bytes.replaceSubrange(i..<min(bytes.count, i + 4), with: [0xFF, 0xFF, 0xFF, 0xFF])
            case 3: bytes.removeSubrange(i..<min(bytes.count, i + 1 + rng.below(16)))
            default: bytes.insert(contentsOf: (0..<(1 + rng.below(8))).map { _ in UInt8(truncatingIfNeeded: rng.next()) }, at: i)
            }
            guard bytes.count > offset else { return }
        }
    }

    @Test("state file: re-sealed payload mutations decode to an error or to tables a new engine imports safely")
    func stateFileMutations() throws {
        let configuration = try parsed()
        let original = StateFileFormat.encode(loadedEngine(clients: 12, configuration: configuration).exportState(now: t(30)),
                                              writtenAt: 1_700_000_000_000_000_000)
        var rng = Mix(state: 0x5EED_0001)
        var accepted = 0, rejected = 0
        for round in 0..<1_500 {
            var bytes = original
            Self.mutate(&bytes, from: round % 10 == 0 ? 0 : 32, &rng)
            if round % 10 != 0 { Self.reseal(&bytes) }
            let decoded: EngineState
            do { decoded = try StateFileFormat.decode(bytes).state } catch {
                rejected += 1
                continue
            }
            accepted += 1
            // What the daemon does with a file it accepted: age it, import it, run the timers.
            let engine = Engine(configuration: configuration, hashSeed: 9)
            let aged = decoded.aged(by: TimeSpan(nanoseconds: rng.next()))
            let report = try engine.importState(aged, now: t(40))
            #expect(report.connectionsRestored <= decoded.connections.count)
            _ = engine.expire(now: t(41))
            _ = engine.decide(.udp(client(7), 500, to: vip, 500), now: t(41))
            _ = engine.snapshot(now: t(41), connections: .all)
            _ = engine.exportState(now: t(42))
        }
        #expect(accepted > 50)
        #expect(rejected > 50)
    }

    @Test("control frames: any prefix and any bytes give a length or nil, never a trap")
    func controlFrames() {
        var rng = Mix(state: 0x5EED_0002)
        let good = ControlFrame.encode(.ok, ControlRequest.show(["conns"]).encoded())
        for _ in 0..<3_000 {
            var bytes = good
            Self.mutate(&bytes, from: 0, &rng)
            let prefix = bytes.prefix(rng.below(bytes.count + 1))
            if let total = ControlFrame.totalLength(prefix: prefix) {
                #expect(total >= 5 && total <= 4 + 1 + ControlFrame.maximumBodyLength)
            }
            if let (_, body) = ControlFrame.decode(bytes) {
                #expect(body.count == bytes.count - 5)
                _ = ControlRequest.decode(body)
            }
        }
        #expect(ControlFrame.decode([0xFF, 0xFF, 0xFF, 0xFF, 0]) == nil)
        #expect(ControlFrame.totalLength(prefix: [0, 0, 0, 0]) == nil)
        #expect(ControlFrame.totalLength(prefix: [0x7F, 0xFF, 0xFF, 0xFF]) == nil)
    }

    static let words = ["clear", "cl", "c", "ip", "slb", "s", "connections", "conn", "co", "counters", "vserver", "v",
                        "serverfarm", "IPSEC", "", " ", "\u{0}", "💥", "--json", "show", "sh", "conns", "reals",
                        "sticky", "client", "192.0.2.10", "999.1.1.1", "detail", "name", "configure", "terminal",
                        "end", "exit", "?", "no", "inservice", String(repeating: "x", count: 300)]

    static func randomWords(_ rng: inout Mix) -> [String] {
        (0..<rng.below(8)).map { _ in words[rng.below(words.count)] }
    }

    @Test("clear parser: random word lists parse or give an IOS % error")
    func clearWords() {
        var rng = Mix(state: 0x5EED_0003)
        for _ in 0..<5_000 {
            let words = Self.randomWords(&rng)
            do { _ = try ClearCommand.parse(words: words) } catch {
                #expect(error.description.hasPrefix("% "))
            }
        }
    }

    static let configLines = [
        "ip slb serverfarm IPSEC", "ip slb serverfarm NEW", "real 198.51.100.11", "real 198.51.100.99", "real 1.2.3",
        "weight 0", "weight 256", "weight 99999999999999999999", "maxconns 0", "maxconns -1", "no inservice", "inservice",
        "ip slb vserver IPSEC-ESP", "ip slb vserver V2", "virtual 203.0.113.100 esp", "virtual 203.0.113.100 udp 0",
        "virtual 203.0.113.100 udp 65536", "serverfarm NOPE", "sticky 0 group 0", "sticky 99999999999 group 256",
        "idle 0", "exit", "end", "!", "no ip slb serverfarm IPSEC", "no ip slb vserver IPSEC-ISAKMP", "failaction purge",
        "probe NONE", "ip slb probe P ping", "interval 0", "faildetect 256", "\t", "💥", "no", "no real 198.51.100.11",
    ]

    @Test("service: garbage show/clear/configure requests are answered, and no established connection is lost")
    func serviceRequests() throws {
        let configuration = try parsed()
        let engine = loadedEngine(clients: 20, configuration: configuration)
        let harness = ServiceHarness(engine: engine, configuration: configuration)
        var rng = Mix(state: 0x5EED_0004)
        var refused = 0
        for _ in 0..<300 {
            let request: ControlRequest
            switch rng.below(4) {
            case 0: request = .show(Self.randomWords(&rng))
            case 1: request = .clear(Self.randomWords(&rng) + ["💥"])   // never a valid clear
            case 2: request = .configure((0..<(1 + rng.below(5))).map { _ in Self.configLines[rng.below(Self.configLines.count)] })
            default: request = .reload(file: "/missing/\(rng.below(3))")
            }
            let before = engine.snapshot(now: t(2), connections: .all).connections.count
            let (answer, _, _) = harness.ask(request)
            let reply = try #require(answer, "no answer to \(request)")
            if case .show = request { #expect(!reply.text.isEmpty) }
            if case .reload = request { #expect(!reply.ok) }
            // A refused request changes nothing; a show never does.
            if !reply.ok || { if case .show = request { true } else { false } }() {
                #expect(engine.snapshot(now: t(2), connections: .all).connections.count == before, "\(request)")
            }
            if !reply.ok { refused += 1 }
        }
        #expect(refused > 100)
    }

    @Test("slb cli: random lines in every mode give actions, never a trap")
    func cliLines() throws {
        var cli = CLISession(running: try parsed())
        var rng = Mix(state: 0x5EED_0005)
        let starters = ["configure terminal", "conf t", "show ip slb conns", "clear ip slb counters", "?", "sh ?", "end"]
        for _ in 0..<2_000 {
            let line: String
            switch rng.below(3) {
            case 0: line = starters[rng.below(starters.count)]
            case 1: line = Self.configLines[rng.below(Self.configLines.count)] + (rng.below(4) == 0 ? " ?" : "")
            default: line = Self.randomWords(&rng).joined(separator: " ")
            }
            for action in cli.input(line) {
                if case .quit = action { cli = CLISession(running: try parsed()) }
            }
            #expect(!cli.prompt.isEmpty)
        }
    }

    @Test("configuration files: strict UTF-8 with the bad line named", arguments: [
        ([UInt8](), nil), (Array("ip slb serverfarm F\n".utf8), nil),
        (Array("ip slb serverfarm F\n".utf8) + [0xFF, 0xFE], 2), ([0xC3], 1), (Array("a\nb\nc\n".utf8) + [0xED, 0xA0, 0x80], 4),
    ] as [([UInt8], Int?)])
    func configurationText(bytes: [UInt8], badLine: Int?) {
        do {
            let text = try ConfigurationFile.text(bytes)
            #expect(badLine == nil)
            #expect(Array(text.utf8) == bytes)
        } catch {
            #expect(error == .notUTF8(line: badLine ?? -1))
        }
    }

    @Test("configuration files: a directory, a missing file and /dev/zero are clear errors")
    func configurationFiles() {
        #expect(throws: ConfigurationFile.ReadError.directory) { try ConfigurationFile.read(path: "/") }
        #expect(throws: ConfigurationFile.ReadError.tooLarge(limit: ConfigurationFile.maximumBytes)) {
            try ConfigurationFile.read(path: "/dev/zero")
        }
        do {
            _ = try ConfigurationFile.read(path: "/nonexistent/vpnslb.cfg")
            Issue.record("a missing file was read")
        } catch {
            #expect(error.description.contains("No such file"))
        }
    }

    @Test("standard input (slb check -) is read with the same checks")
    func configurationFromDescriptor() throws {
        var ends: [Int32] = [0, 0]
        try #require(pipe(&ends) == 0)
        var bytes = Array("ip slb probe P ping\n".utf8) + [0xC0, 0x80]
        #expect(write(ends[1], &bytes, bytes.count) == bytes.count)
        close(ends[1])
        defer { close(ends[0]) }
        #expect(throws: ConfigurationFile.ReadError.notUTF8(line: 2)) { try ConfigurationFile.read(fileDescriptor: ends[0]) }
    }
}
