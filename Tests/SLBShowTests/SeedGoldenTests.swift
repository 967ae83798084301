import SLBCore
import SLBShow
import Testing

/// THE reference: seed 002 (Example 6-14) prints `show ip slb realserver`, `show ip slb conn`
/// and `show ip slb vservers`; rendering the seed's own data must give those tables column for
/// column. The fixtures are the seed's text with its three typesetting defects normalised:
///   1. the stray `ECE` glued to the last `conns` value of the realserver table is dropped;
///   2. the vservers data rows sit one column left of their header from `state` on; they are
///      moved under it (state at 0-based column 48, conns at 62);
///   3. the connection table keeps its 79-dash rule (longer than its 73-character header).
@Suite("Seed 002 Example 6-14 tables")
struct SeedGoldenTests {
    @Test("the seed's data renders as the seed's three tables")
    func seedTables() throws {
        let snapshot = SampleSnapshots.seed002
        try GoldenFile.expect(try ShowRenderer.render(.init(table: .reals(farm: nil)), snapshot),
                              matches: "seed002-show-ip-slb-realserver.txt")
        try GoldenFile.expect(try ShowRenderer.render(.init(table: .conns(.all)), snapshot),
                              matches: "seed002-show-ip-slb-conn.txt")
        try GoldenFile.expect(try ShowRenderer.render(.init(table: .vservers(name: nil)), snapshot),
                              matches: "seed002-show-ip-slb-vservers.txt")
    }

    /// The seed's lines 1022–1042 verbatim (the project never reads /work/shared at test time):
    /// each table starts with the blank line IOS prints after the command.
    static let verbatim: [(fixture: String, lines: [String])] = [
        ("seed002-show-ip-slb-realserver.txt", [
            "",
            "real                  farm name        weight  state          conns",
            "-------------------------------------------------------------------",
            "9.1.1.35              IPSEC            1       OPERATIONAL    2",
            "9.1.1.36              IPSEC            1       OPERATIONAL    2ECE",
        ]),
        ("seed002-show-ip-slb-conn.txt", [
            "",
            "vserver         prot client                real             state     nat",
            "-------------------------------------------------------------------------------",
            "IPSEC-ESP       ESP  9.1.1.155:0           9.1.1.35         ESTAB     none",
            "IPSEC-ISAKMP    UDP  9.1.1.155:500         9.1.1.35         ESTAB     none",
            "IPSEC-ESP       ESP  9.1.1.154:0           9.1.1.36         ESTAB     none",
            "IPSEC-ISAKMP    UDP  9.1.1.154:500         9.1.1.36         ESTAB     none",
        ]),
        ("seed002-show-ip-slb-vservers.txt", [
            "",
            "slb vserver      prot  virtual                  state         conns",
            "----------------------------------------------------------------------",
            "IPSEC-ESP        ESP   9.1.0.37/32:0           OPERATIONAL   0",
            "IPSEC-ISAKMP     UDP   9.1.0.37/32:500         OPERATIONAL   0",
        ]),
    ]

    /// Applies exactly the documented normalisations to the verbatim seed text.
    static func normalise(_ line: String) -> String {
        if line.hasSuffix("2ECE") { return String(line.dropLast(3)) }
        if line.hasPrefix("IPSEC-"), line.contains("/32:"), line.hasSuffix("OPERATIONAL   0") {
            // Insert one blank before the state column: header offsets 48 (state) and 62 (conns).
            let stateStart = line.index(line.startIndex, offsetBy: 47)
            return String(line[..<stateStart]) + " " + String(line[stateStart...])
        }
        return line
    }

    @Test("the fixtures are the seed's text with only the documented normalisations",
          arguments: verbatim.map(\.fixture))
    func fixtureIsNormalisedSeed(fixture: String) throws {
        let lines = try #require(Self.verbatim.first { $0.fixture == fixture }).lines
        let normalised = lines.map(Self.normalise).joined(separator: "\n") + "\n"
        #expect(try GoldenFile.text(fixture) == normalised)
    }

    @Test("column offsets measured from the seed")
    func measuredOffsets() throws {
        // (fixture, header words, their 0-based offsets) as measured in seed 002.
        let cases: [(String, [String], [Int])] = [
            ("seed002-show-ip-slb-realserver.txt", ["real", "farm name", "weight", "state", "conns"], [0, 22, 39, 47, 62]),
            ("seed002-show-ip-slb-conn.txt", ["vserver", "prot", "client", "real", "state", "nat"], [0, 16, 21, 43, 60, 70]),
            ("seed002-show-ip-slb-vservers.txt", ["slb vserver", "prot", "virtual", "state", "conns"], [0, 17, 23, 48, 62]),
        ]
        for (fixture, words, offsets) in cases {
            let lines = try GoldenFile.text(fixture).split(separator: "\n").map(String.init)
            let header = try #require(lines.first)
            for (word, offset) in zip(words, offsets) {
                let found = try #require(header.range(of: word))
                #expect(header.distance(from: header.startIndex, to: found.lowerBound) == offset, "\(fixture): \(word)")
                // Every data row has a value starting at that offset (preceded by a blank).
                for row in lines.dropFirst(2) {
                    let characters = Array(row)
                    #expect(offset < characters.count && characters[offset] != " " &&
                            (offset == 0 || characters[offset - 1] == " "), "\(fixture): row \(row) at \(offset)")
                }
            }
        }
    }
}
