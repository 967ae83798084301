import SLBConfig
import SLBWire
import Testing

/// IOS accepts any unique prefix of a keyword, case-insensitively; an ambiguous prefix is an
/// error naming the candidates.
@Suite struct AbbreviationTests {
    static let abbreviated = """
        IP SLB PRO P PING
         INT 5
         faild 3
        ip slb serverf F
         pred leastc
         fail pur
         prob P
         na se
         real 198.51.100.11
          w 4
          max 100
          ret 9
          inserv
        ip slb vs V
         virt 203.0.113.100 u isa
         serverf F
         stick 60 gr 1 net 255.255.255.0
         idl 100
         cl 192.0.2.0 255.255.255.0
         ins
        ip slb vserver W
         vir 203.0.113.100 e
         serverf F
         stick 60 gr 1 net 255.255.255.0
         ins
        ip slb entr co 10 st 20
        """

    @Test func uniquePrefixesSelectTheirKeyword() throws {
        let result = parse(Self.abbreviated)
        #expect(messages(result).isEmpty)
        let configuration = try #require(result.configuration)
        #expect(configuration.probes == [Probe(name: "P", interval: 5, faildetect: 3)])
        #expect(configuration.farms == [ServerFarm(
            name: "F", predictor: .leastConns, failactionPurge: true, probes: ["P"], nat: .server,
            reals: [RealServer(address: ip("198.51.100.11"), weight: 4, maxConns: 100, retry: 9, inService: true)])])
        let sticky = StickySettings(seconds: 60, group: 1, netmask: mask("255.255.255.0"))
        #expect(configuration.vservers == [
            VirtualServer(name: "V", address: ip("203.0.113.100"), service: .udp(port: 500), farm: "F",
                          sticky: sticky, idle: 100, clients: [IPv4Network(address: ip("192.0.2.0"), mask: mask("255.255.255.0"))],
                          inService: true),
            VirtualServer(name: "W", address: ip("203.0.113.100"), service: .esp, farm: "F", sticky: sticky, inService: true),
        ])
        #expect(configuration.entries == TableLimits(connections: 10, sticky: 20))
    }

    static let ambiguous: [(line: String, expected: String)] = [
        ("p P", "t.cfg:4:2: error: ambiguous command 'p': could be predictor or probe"),
        ("n server", "t.cfg:4:2: error: ambiguous command 'n': could be nat or no"),
        ("no p", "t.cfg:4:5: error: ambiguous command 'p': could be predictor or probe"),
        ("predictor x", "t.cfg:4:12: error: expected predictor roundrobin or leastconns, found 'x'"),
    ]

    @Test(arguments: ambiguous)
    func ambiguousPrefixNamesCandidates(line: String, expected: String) {
        let text = "ip slb serverfarm F\n failaction purge\n real 198.51.100.11\n \(line)\n"
        #expect(messages(parse(text), [.error]) == [expected])
    }

    static let ambiguousKeywords: [(text: String, expected: String)] = [
        ("ip slb serverfarm F\n real 198.51.100.11\n  re 3\n", "t.cfg:3:3: error: ambiguous command 're': could be retry or reassign"),
        ("ip slb vserver V\n virtual 203.0.113.100 esp\n s F\n", "t.cfg:3:2: error: ambiguous command 's': could be serverfarm, sticky or synguard"),
        ("ip slb vserver V\n virtual 203.0.113.100 udp isakmp\n serverfarm F\n sticky 5 x 1\n",
         "t.cfg:4:11: error: expected group or netmask, found 'x'"),
        ("ip slb vserver V\n virtual 203.0.113.100 udp isakmp\n serverfarm F\n sticky 5 group 1 group 2\n",
         "t.cfg:4:19: error: expected netmask, found 'group'"),
        ("ip slb vserver V\n i\n", "t.cfg:2:2: error: ambiguous command 'i': could be idle or inservice"),
        ("ip slb probe P ping\n no in\n e\n", "t.cfg:3:2: error: ambiguous command 'e': could be exit or end"),
        ("ip slb s X\n", "t.cfg:1:8: error: ambiguous keyword 's': could be serverfarm or static"),
    ]

    @Test(arguments: ambiguousKeywords)
    func ambiguousKeywordsInArguments(text: String, expected: String) {
        #expect(messages(parse(text), [.error]).contains(expected))
    }

    @Test func exactMatchWinsOverLongerKeyword() {
        #expect(KeywordMatcher.match("no", in: ["nat", "no", "nobody"]) == .matched("no"))
        #expect(KeywordMatcher.match("NA", in: ["nat", "no"]) == .matched("nat"))
        #expect(KeywordMatcher.match("x", in: ["nat", "no"]) == .none)
        #expect(KeywordMatcher.match("n", in: ["nat", "no"]) == .ambiguous(["nat", "no"]))
    }
}
