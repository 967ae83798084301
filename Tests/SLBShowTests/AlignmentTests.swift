import SLBCore
import SLBShow
import SLBWire
import Testing

/// Long names are cut to the column width minus one; the widest addresses fit by
/// construction. Either way every column of every row starts where its header word starts.
@Suite("Column alignment with long values")
struct AlignmentTests {
    static let longName = "A-VERY-LONG-VSERVER-NAME-WELL-PAST-FIFTEEN"
    static let widest = IPv4Address(255, 255, 255, 255)

    static let snapshot: SLBSnapshot = {
        var lab = SampleSnapshots.lab
        lab.reals = lab.reals.map { real in
            var copy = real
            copy.address = widest
            copy.port = 65_535
            copy.farm = longName
            copy.weight = 255
            copy.state = .probeFailed
            return copy
        }
        lab.connections = lab.connections.map { connection in
            var copy = connection
            copy.vserver = longName
            copy.client = widest
            copy.clientPort = 65_535
            copy.real = widest
            copy.realPort = 65_535
            return copy
        }
        lab.vservers = lab.vservers.map { vserver in
            var copy = vserver
            copy.name = longName
            copy.address = widest
            copy.port = 65_535
            copy.state = .outOfService
            return copy
        }
        lab.farms = lab.farms.map { farm in
            var copy = farm
            copy.name = longName
            copy.predictor = .leastConns
            copy.nat = .server
            return copy
        }
        lab.sticky = lab.sticky.map { object in
            var copy = object
            copy.client = widest
            copy.netmask = .host
            copy.group = 4_097
            copy.real = widest
            return copy
        }
        lab.probes = lab.probes.map { probe in
            var copy = probe
            copy.real = widest
            copy.port = 65_535
            copy.state = .operational
            copy.currentOutage = .seconds(99 * 3600 + 59 * 60 + 59)
            return copy
        }
        return lab
    }()

    /// The start offset of each header word, found in the header line.
    static func offsets(of words: [String], in header: String) -> [Int] {
        words.compactMap { word in
            header.range(of: word).map { header.distance(from: header.startIndex, to: $0.lowerBound) }
        }
    }

    @Test("every row's values start at their header's offsets", arguments: [
        ("conns", ["vserver", "prot", "client", "real", "state", "nat"]),
        ("reals", ["real", "farm name", "weight", "state", "conns"]),
        ("vservers", ["slb vserver", "prot", "virtual", "state", "conns"]),
        ("serverfarms", ["server farm", "predictor", "nat", "reals", "oper"]),
        ("sticky", ["client", "netmask", "group", "real", "conns"]),
        ("probe", ["Server:Port", "State", "Outages", "Current", "Cumulative"]),
    ])
    func aligned(table: String, words: [String]) throws {
        let lines = try ShowRenderer.render(try ShowCommandParser.parse(table), Self.snapshot)
            .split(separator: "\n").map(String.init)
        let header = try #require(lines.first)
        let offsets = Self.offsets(of: words, in: header)
        #expect(offsets.count == words.count)
        #expect(lines.count > 2)
        for row in lines.dropFirst(2) {
            let characters = Array(row)
            for offset in offsets {
                #expect(offset < characters.count && characters[offset] != " " &&
                        (offset == 0 || characters[offset - 1] == " "), "\(table): '\(row)' at \(offset)")
            }
        }
    }

    @Test("names are cut to the column width minus one; addresses are never cut")
    func truncation() throws {
        let conns = try ShowRenderer.render(try ShowCommandParser.parse("conns"), Self.snapshot)
        #expect(conns.contains("A-VERY-LONG-VSE UDP  255.255.255.255:65535 255.255.255.255  ESTAB"))
        let reals = try ShowRenderer.render(try ShowCommandParser.parse("reals"), Self.snapshot)
        #expect(reals.contains("255.255.255.255:65535 A-VERY-LONG-VSER 255     PROBE_FAILED   0"))
        // Detail forms print names whole.
        let detail = try ShowRenderer.render(try ShowCommandParser.parse("conns detail"), Self.snapshot)
        #expect(detail.contains("\(Self.longName), client = 255.255.255.255:65535"))
        #expect(detail.contains("real = 255.255.255.255:65535"))
    }
}
