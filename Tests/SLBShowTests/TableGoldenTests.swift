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

    @Test("a filter that matches nothing prints no rows (and detail prints nothing)")
    func filterMatchesNothing() throws {
        let snapshot = SampleSnapshots.lab
        let summary = try ShowRenderer.render(try ShowCommandParser.parse("conns vserver NOSUCH"), snapshot)
        #expect(summary.split(separator: "\n").count == 2)
        #expect(try ShowRenderer.render(try ShowCommandParser.parse("reals sfarm NOSUCH detail"), snapshot).isEmpty)
    }
}
