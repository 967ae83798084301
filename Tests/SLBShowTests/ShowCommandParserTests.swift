import SLBCore
import SLBShow
import SLBWire
import Testing

@Suite("show command parser")
struct ShowCommandParserTests {
    static let client = IPv4Address(192, 0, 2, 10)

    static let accepted: [(String, ShowRequest)] = [
        ("show ip slb conns", .init(table: .conns(.all))),
        ("sh ip slb conn", .init(table: .conns(.all))),
        ("SH IP SLB CONN", .init(table: .conns(.all))),
        ("sh ip sl c", .init(table: .conns(.all))),
        ("conns", .init(table: .conns(.all))),
        ("show ip slb conns vserver VPN-ESP", .init(table: .conns(.vserver("VPN-ESP")))),
        ("sh ip slb conn v VPN-ESP d", .init(table: .conns(.vserver("VPN-ESP")), detail: true)),
        ("show ip slb conns client 192.0.2.10 detail", .init(table: .conns(.client(client)), detail: true)),
        ("conns detail client 192.0.2.10", .init(table: .conns(.client(client)), detail: true)),
        ("show ip slb realserver", .init(table: .reals(farm: nil))),
        ("sh ip sl re", .init(table: .reals(farm: nil))),
        ("show ip slb reals sfarm GATEWAYS detail", .init(table: .reals(farm: "GATEWAYS"), detail: true)),
        ("r sf GATEWAYS", .init(table: .reals(farm: "GATEWAYS"))),
        // The 12.2 form (spec §3.2): the reals of a vserver's farms.
        ("show ip slb reals vserver VPN-ESP", .init(table: .realsOfVserver(name: "VPN-ESP"))),
        ("sh ip sl re v VPN-ESP d", .init(table: .realsOfVserver(name: "VPN-ESP"), detail: true)),
        ("show ip slb vservers", .init(table: .vservers(name: nil))),
        ("sh ip slb vserver name VPN-ESP", .init(table: .vservers(name: "VPN-ESP"))),
        ("show ip slb serverfarms detail", .init(table: .serverfarms(name: nil), detail: true)),
        ("sh ip slb se name GATEWAYS", .init(table: .serverfarms(name: "GATEWAYS"))),
        ("show ip slb sticky", .init(table: .sticky(client: nil))),
        ("sh ip slb sti client 192.0.2.10", .init(table: .sticky(client: client))),
        ("show ip slb probe detail", .init(table: .probe(name: nil), detail: true)),
        ("sh ip slb p name PING", .init(table: .probe(name: "PING"))),
        ("show ip slb stats", .init(table: .stats)),
        ("sh ip slb sta", .init(table: .stats)),
        ("show ip slb conns --json", .init(table: .conns(.all), json: true)),
        ("--json reals detail", .init(table: .reals(farm: nil), detail: true, json: true)),
    ]

    @Test("accepted commands", arguments: accepted)
    func accepts(command: String, expected: ShowRequest) throws {
        #expect(try ShowCommandParser.parse(command) == expected)
    }

    @Test("canonical spelling parses back to the same request", arguments: accepted.map(\.1))
    func canonical(request: ShowRequest) throws {
        #expect(try ShowCommandParser.parse(request.command) == request)
    }

    @Test("a request survives JSON (the control socket may ship it)", arguments: accepted.map(\.1))
    func requestRoundTrip(request: ShowRequest) throws {
        #expect(try ShowJSON.decode(ShowRequest.self, from: try ShowJSON.encode(request)) == request)
    }

    static let rejected: [(String, ShowCommandError)] = [
        ("", .incomplete(expected: ["conns", "probe", "reals", "realserver", "serverfarms", "stats", "sticky", "vservers"])),
        ("show ip slb", .incomplete(expected: ["conns", "probe", "reals", "realserver", "serverfarms", "stats", "sticky", "vservers"])),
        ("show ip", .incomplete(expected: ["slb"])),
        ("sh ip slb s", .ambiguous(word: "s", candidates: ["serverfarms", "stats", "sticky"])),
        ("sh ip slb st", .ambiguous(word: "st", candidates: ["stats", "sticky"])),
        ("s", .ambiguous(word: "s", candidates: ["serverfarms", "stats", "sticky"])),
        ("show ip slb foo", .invalidInput(word: "foo", position: 3,
                                          expected: ["conns", "probe", "reals", "realserver", "serverfarms", "stats", "sticky", "vservers"])),
        ("show ipx slb conns", .invalidInput(word: "ipx", position: 1, expected: ["ip"])),
        ("conns sfarm X", .invalidInput(word: "sfarm", position: 1, expected: ["client", "vserver", "detail"])),
        ("conns vserver", .missingArgument(keyword: "vserver", argument: "a name")),
        ("conns client", .missingArgument(keyword: "client", argument: "an IPv4 address")),
        ("conns client 192.0.2", .invalidAddress(word: "192.0.2")),
        ("sticky client host", .invalidAddress(word: "host")),
        ("conns detail detail", .repeated(keyword: "detail")),
        ("conns vserver A client 192.0.2.1", .repeated(keyword: "client")),
        ("conns --json --json", .repeated(keyword: "--json")),
        ("stats detail", .invalidInput(word: "detail", position: 1, expected: ["--json"])),
        ("reals client 192.0.2.1", .invalidInput(word: "client", position: 1, expected: ["sfarm", "vserver", "detail"])),
        ("reals vserver", .missingArgument(keyword: "vserver", argument: "a name")),
        ("reals sfarm A vserver B", .repeated(keyword: "vserver")),
    ]

    @Test("rejected commands name the problem and the candidates", arguments: rejected)
    func rejects(command: String, expected: ShowCommandError) {
        #expect(throws: expected) { try ShowCommandParser.parse(command) }
    }

    @Test("error messages read like IOS", arguments: [
        (ShowCommandError.ambiguous(word: "st", candidates: ["stats", "sticky"]),
         "% Ambiguous command: \"st\" could be one of stats, sticky"),
        (.invalidInput(word: "foo", position: 3, expected: ["conns", "reals"]),
         "% Invalid input \"foo\" at word 4: expected one of conns, reals"),
        (.missingArgument(keyword: "client", argument: "an IPv4 address"),
         "% Incomplete command: \"client\" needs an IPv4 address"),
    ])
    func messages(error: ShowCommandError, message: String) {
        #expect(error.description == message)
    }

    @Test("the snapshot filter asks the engine only for the rows the table needs", arguments: [
        ("conns", ConnectionFilter.all),
        ("conns vserver X", .vserver("X")),
        ("conns client 192.0.2.10", .client(client)),
        ("sticky", .all),
        ("sticky client 192.0.2.10", .client(client)),
        ("reals", ConnectionFilter.none),
        ("stats", ConnectionFilter.none),
    ])
    func connectionFilter(command: String, filter: ConnectionFilter) throws {
        #expect(try ShowCommandParser.parse(command).connectionFilter == filter)
    }
}
