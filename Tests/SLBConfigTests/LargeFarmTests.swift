import SLBConfig
import SLBWire
import Testing

/// Farms far larger than any lab: the interpreter finds a farm's reals by index, not by scan,
/// so these must come out exactly as a small farm does (and in linear time; timing is reported
/// by `slb check`, not asserted here).
@Suite struct LargeFarmTests {
    static let realCount = 20_000

    /// The n-th generated real: 10.x.y.z, distinct for n < 2^24.
    static func address(_ n: Int) -> IPv4Address {
        IPv4Address(10, UInt8(truncatingIfNeeded: n >> 16), UInt8(truncatingIfNeeded: n >> 8), UInt8(truncatingIfNeeded: n))
    }

    /// The IOS text of one farm of `count` reals; real n has weight n % 255 + 1, maxconns
    /// 1000 + n, and every third is left out of service.
    static func farmText(count: Int, extraLines: [String] = []) -> String {
        var lines = ["ip slb probe GW-PING ping", " interval 1", " faildetect 3", "!",
                     "ip slb serverfarm BIG", " failaction purge", " probe GW-PING"]
        lines.reserveCapacity(count * 4 + 20)
        for n in 0..<count {
            lines.append(" real \(address(n))")
            lines.append("  weight \(n % 255 + 1)")
            lines.append("  maxconns \(1000 + n)")
            if n % 3 != 0 { lines.append("  inservice") }
        }
        lines += extraLines
        lines += ["!", "ip slb vserver ESP", " virtual 203.0.113.100 esp", " serverfarm BIG", " sticky 60 group 1",
                  " inservice", "!", "ip slb vserver IKE", " virtual 203.0.113.100 udp isakmp", " serverfarm BIG",
                  " sticky 60 group 1", " inservice"]
        return lines.joined(separator: "\n") + "\n"
    }

    @Test("a 20,000-real farm parses to the model, every real with its own sub-commands, in order")
    func largeFarmModel() throws {
        let result = ConfigParser.parse(Self.farmText(count: Self.realCount), file: "big.cfg")
        #expect(result.errors.isEmpty, "\(result.errors.prefix(3))")
        let configuration = try #require(result.configuration)
        let farm = try #require(configuration.farm(named: "BIG"))
        #expect(farm.reals.count == Self.realCount)
        var mismatches: [String] = []
        for (n, real) in farm.reals.enumerated() {
            let expected = RealServer(address: Self.address(n), weight: UInt8(n % 255 + 1), maxConns: UInt32(1000 + n),
                                      inService: n % 3 != 0)
            if real != expected { mismatches.append("#\(n): \(real)") }
            if mismatches.count >= 3 { break }
        }
        #expect(mismatches.isEmpty, "\(mismatches)")
        #expect(configuration.vservers.map(\.name) == ["ESP", "IKE"])
    }

    /// The duplicate check still names the second opening with line and column, and the first
    /// opening's line, however far apart they are.
    @Test("a duplicate real at the end of a large farm is reported at its file:line:col")
    func duplicateInLargeFarm() {
        let count = 5_000
        let text = Self.farmText(count: count, extraLines: [" real \(Self.address(17))", "  weight 9"])
        let result = ConfigParser.parse(text, file: "big.cfg")
        #expect(result.configuration == nil)
        // Real 17 opens on line 8 + 17 * 4 - (reals 0, 3, ..., 15 lack `inservice`: 6 lines).
        let firstLine = 8 + 17 * 4 - 6
        let duplicateLine = 7 + count * 4 - (count + 2) / 3 + 1
        #expect(result.errors.map(\.description) == [
            "big.cfg:\(duplicateLine):7: error: duplicate real \(Self.address(17)) in serverfarm BIG: already defined at line \(firstLine)",
        ])
    }

    /// `no real` in the middle shifts the later reals; their sub-commands must still reach them,
    /// and a re-added real goes to the end (IOS appends).
    @Test("no real in the middle of a large farm, then edits of later reals and a re-add")
    func removeInMiddle() throws {
        let count = 2_000
        var session = ConfigSession(configuration: try #require(ConfigParser.parse(Self.farmText(count: count), file: "big.cfg").configuration))
        let lines = ["ip slb serverfarm BIG", "no real \(Self.address(500))", "real \(Self.address(1500))", "weight 77",
                     "exit", "no real \(Self.address(0))", "real \(Self.address(500))", "weight 5", "inservice",
                     "exit", "no real \(Self.address(500))", "no real \(Self.address(500))"]
        var dispositions: [ConfigSession.Disposition] = []
        for line in lines { dispositions.append(session.apply(line, line: 0).disposition) }
        #expect(dispositions == Array(repeating: .applied, count: lines.count - 1) + [.rejected])
        let farm = try #require(session.draft.configuration.farm(named: "BIG"))
        #expect(farm.reals.count == count - 2)
        #expect(farm.reals.first?.address == Self.address(1))
        #expect(!farm.reals.contains { $0.address == Self.address(500) })
        #expect(farm.reals.first { $0.address == Self.address(1500) }?.weight == 77)
        #expect(farm.reals.firstIndex { $0.address == Self.address(1500) } == 1500 - 2)
    }
}
