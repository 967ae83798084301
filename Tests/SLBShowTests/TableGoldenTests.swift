import SLBCore
import SLBShow
import SLBWire
import Testing

/// Every table and detail form on the lab snapshot, against reviewed golden files.
@Suite("Show tables (golden files)")
struct TableGoldenTests {
    static let cases: [(command: String, fixture: String)] = [
        ("show ip slb conns", "lab-conns.txt"),
        ("show ip slb conns detail", "lab-conns-detail.txt"),
        ("show ip slb conns vserver VPN-NATT", "lab-conns-vserver-natt.txt"),
        ("show ip slb conns client 192.0.2.11 detail", "lab-conns-client-detail.txt"),
        ("show ip slb reals", "lab-reals.txt"),
        ("show ip slb reals detail", "lab-reals-detail.txt"),
        ("show ip slb reals sfarm DRAIN", "lab-reals-sfarm-drain.txt"),
        ("show ip slb reals vserver DRAINED", "lab-reals-vserver-drained.txt"),
        ("show ip slb vservers", "lab-vservers.txt"),
        ("show ip slb vservers detail", "lab-vservers-detail.txt"),
        ("show ip slb vservers name VPN-ESP detail", "lab-vservers-name-detail.txt"),
        ("show ip slb serverfarms", "lab-serverfarms.txt"),
        ("show ip slb serverfarms detail", "lab-serverfarms-detail.txt"),
        ("show ip slb sticky", "lab-sticky.txt"),
        ("show ip slb sticky detail", "lab-sticky-detail.txt"),
        ("show ip slb sticky client 192.0.2.77", "lab-sticky-client.txt"),
        ("show ip slb probe", "lab-probe.txt"),
        ("show ip slb probe detail", "lab-probe-detail.txt"),
        ("show ip slb stats", "lab-stats.txt"),
        ("show ip slb conns --json", "lab-conns.json"),
        ("show ip slb stats --json", "lab-stats.json"),
    ]

    @Test("golden", arguments: cases)
    func golden(command: String, fixture: String) throws {
        let request = try ShowCommandParser.parse(command)
        try GoldenFile.expect(try ShowRenderer.render(request, SampleSnapshots.lab), matches: fixture)
    }

    @Test("an empty table prints its header and rule only", arguments: [
        ("conns", 2), ("reals", 2), ("vservers", 2), ("serverfarms", 2), ("sticky", 2), ("probe", 2),
    ])
    func emptyTable(table: String, lines: Int) throws {
        let text = try ShowRenderer.render(try ShowCommandParser.parse(table), SLBSnapshot(taken: .zero))
        #expect(text.split(separator: "\n").count == lines)
        #expect(text.split(separator: "\n").last?.allSatisfy { $0 == "-" } == true)
    }

    @Test("a name that names nothing is a % error line, not an empty table", arguments: [
        ("conns vserver NOSUCH", ShowLookupError.vserver("NOSUCH")),
        ("vservers name NOSUCH", .vserver("NOSUCH")),
        ("vservers name vpn-esp detail", .vserver("vpn-esp")),   // names are case-sensitive
        ("reals vserver NOSUCH", .vserver("NOSUCH")),
        ("reals sfarm NOSUCH detail", .serverfarm("NOSUCH")),
        ("serverfarms name NOSUCH", .serverfarm("NOSUCH")),
        ("probe name NOSUCH --json", .probe("NOSUCH")),
    ])
    func unknownName(command: String, error: ShowLookupError) throws {
        #expect(throws: error) { try ShowRenderer.render(try ShowCommandParser.parse(command), SampleSnapshots.lab) }
    }

    @Test("the not-found lines")
    func notFoundText() {
        #expect(ShowLookupError.vserver("X").description == "% vserver \"X\" not found")
        #expect(ShowLookupError.serverfarm("X").description == "% serverfarm \"X\" not found")
        #expect(ShowLookupError.probe("X").description == "% probe \"X\" not found (or attached to no serverfarm)")
    }

    @Test("a known name with no rows prints the header and rule (detail prints nothing but the blank line)")
    func knownNameNoRows() throws {
        var snapshot = SampleSnapshots.lab
        snapshot.connections = []
        let summary = try ShowRenderer.render(try ShowCommandParser.parse("conns vserver VPN-ESP"), snapshot)
        #expect(summary.split(separator: "\n").count == 2)
        #expect(try ShowRenderer.render(try ShowCommandParser.parse("conns vserver VPN-ESP detail"), snapshot) == "\n")
    }

    @Test("reals vserver NAME: the reals of the vserver's serverfarm and backup serverfarm", arguments: [
        ("VPN-ESP", nil as String?, ["GATEWAYS"]),
        ("VPN-ESP", "DRAIN", ["GATEWAYS", "DRAIN"]),
        ("DRAINED", nil, ["DRAIN"]),
    ])
    func realsOfVserver(name: String, backup: String?, farms: [String]) throws {
        var snapshot = SampleSnapshots.lab
        for index in snapshot.vservers.indices where snapshot.vservers[index].name == name {
            snapshot.vservers[index].backupFarm = backup
        }
        let document = ShowRenderer.select(.init(table: .realsOfVserver(name: name)), from: snapshot)
        let expected = snapshot.reals.filter { farms.contains($0.farm) }
        #expect(document.reals == expected)
        #expect(!expected.isEmpty)
        let text = try ShowRenderer.render(.init(table: .realsOfVserver(name: name)), snapshot)
        #expect(text == (try ShowRenderer.render(.init(table: .reals(farm: nil)), SLBSnapshot(taken: .zero, reals: expected))))
    }

    @Test("every text answer starts with IOS's blank line; JSON does not", arguments: [
        "conns", "conns detail", "reals", "reals detail", "vservers", "serverfarms detail", "sticky", "probe", "stats",
        "stats --json", "reals --json",
    ])
    func leadingBlankLine(command: String) throws {
        let text = try ShowRenderer.render(try ShowCommandParser.parse(command), SampleSnapshots.lab)
        #expect(text.hasPrefix("\n") == !command.hasSuffix("--json"))
        #expect(!text.hasPrefix("\n\n"))
    }
}
