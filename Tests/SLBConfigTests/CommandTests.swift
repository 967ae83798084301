import SLBConfig
import SLBWire
import Testing

/// One configuration change: lines typed at the prompt (applied to `base` with
/// `ConfigSession`, which merges like IOS) and the model change they must make.
struct CommandCase: Sendable, CustomTestStringConvertible {
    let lines: [String]
    let change: @Sendable (inout SLBConfiguration) -> Void

    init(_ lines: String..., change: @escaping @Sendable (inout SLBConfiguration) -> Void) {
        self.lines = lines
        self.change = change
    }

    var testDescription: String { lines.joined(separator: " / ") }
}

let base = SLBConfiguration(
    probes: [Probe(name: "P")],
    farms: [ServerFarm(name: "F", failactionPurge: true, probes: ["P"],
                       reals: [RealServer(address: IPv4Address(198, 51, 100, 11), inService: true)])],
    vservers: [VirtualServer(name: "V", address: IPv4Address(203, 0, 113, 100), service: .udp(port: 500),
                             farm: "F", inService: true)])

func applying(_ lines: [String], to configuration: SLBConfiguration) -> (ConfigSession, [Diagnostic]) {
    var session = ConfigSession(configuration: configuration)
    var diagnostics: [Diagnostic] = []
    for (number, line) in lines.enumerated() {
        diagnostics += session.apply(line, line: number + 1).diagnostics
    }
    return (session, diagnostics)
}

@Suite struct CommandTests {
    static let probeCases: [CommandCase] = [
        CommandCase("ip slb probe Q ping") { $0.probes.append(Probe(name: "Q")) },
        CommandCase("ip slb probe I ike") { $0.probes.append(Probe(name: "I", kind: .ike)) },
        CommandCase("ip slb probe P ping", "interval 5") { $0.probes[0].interval = 5 },
        CommandCase("ip slb probe P ping", "interval 65535") { $0.probes[0].interval = 65535 },
        CommandCase("ip slb probe P ping", "faildetect 3") { $0.probes[0].faildetect = 3 },
        CommandCase("ip slb probe P ping", "faildetect 255") { $0.probes[0].faildetect = 255 },
        CommandCase("ip slb probe P ping", "address 198.51.100.99") { $0.probes[0].address = IPv4Address(198, 51, 100, 99) },
        CommandCase("ip slb probe P ping", "interval 9", "no interval") { _ in },
        CommandCase("ip slb probe P ping", "faildetect 2", "no faildetect 2") { _ in },
        CommandCase("ip slb probe P ping", "address 192.0.2.9", "no address") { _ in },
        CommandCase("no ip slb probe P") { $0.probes = [] },
        CommandCase("no ip slb probe P ping") { $0.probes = [] },
    ]

    static let farmCases: [CommandCase] = [
        CommandCase("ip slb serverfarm G") { $0.farms.append(ServerFarm(name: "G")) },
        CommandCase("ip slb serverfarm F", "predictor leastconns") { $0.farms[0].predictor = .leastConns },
        CommandCase("ip slb serverfarm F", "predictor leastconns", "predictor roundrobin") { _ in },
        CommandCase("ip slb serverfarm F", "predictor leastconns", "no predictor") { _ in },
        CommandCase("ip slb serverfarm F", "no failaction purge") { $0.farms[0].failactionPurge = false },
        CommandCase("ip slb serverfarm F", "no failaction") { $0.farms[0].failactionPurge = false },
        CommandCase("ip slb serverfarm F", "probe Q") { $0.farms[0].probes = ["P", "Q"] },
        CommandCase("ip slb serverfarm F", "probe P") { _ in },
        CommandCase("ip slb serverfarm F", "no probe P") { $0.farms[0].probes = [] },
        CommandCase("ip slb serverfarm F", "nat server") { $0.farms[0].nat = .server },
        CommandCase("ip slb serverfarm F", "nat server", "no nat server") { _ in },
        CommandCase("ip slb serverfarm F", "nat server", "no nat") { _ in },
        CommandCase("ip slb serverfarm F", "real 198.51.100.12") {
            $0.farms[0].reals.append(RealServer(address: IPv4Address(198, 51, 100, 12)))
        },
        CommandCase("ip slb serverfarm F", "real 198.51.100.12 4500") {
            $0.farms[0].reals.append(RealServer(address: IPv4Address(198, 51, 100, 12), port: 4500))
        },
        CommandCase("ip slb serverfarm F", "no real 198.51.100.11") { $0.farms[0].reals = [] },
        CommandCase("no ip slb serverfarm F") { $0.farms = [] },
    ]

    static let realCases: [CommandCase] = [
        CommandCase("ip slb serverfarm F", "real 198.51.100.11", "weight 1") { $0.farms[0].reals[0].weight = 1 },
        CommandCase("ip slb serverfarm F", "real 198.51.100.11", "weight 255") { $0.farms[0].reals[0].weight = 255 },
        CommandCase("ip slb serverfarm F", "real 198.51.100.11", "weight 3", "no weight") { _ in },
        CommandCase("ip slb serverfarm F", "real 198.51.100.11", "maxconns 1") { $0.farms[0].reals[0].maxConns = 1 },
        CommandCase("ip slb serverfarm F", "real 198.51.100.11", "maxconns 4294967295") { _ in },
        CommandCase("ip slb serverfarm F", "real 198.51.100.11", "maxconns 5", "no maxconns") { _ in },
        CommandCase("ip slb serverfarm F", "real 198.51.100.11", "retry 3600") { $0.farms[0].reals[0].retry = 3600 },
        CommandCase("ip slb serverfarm F", "real 198.51.100.11", "retry 1", "no retry") { _ in },
        CommandCase("ip slb serverfarm F", "real 198.51.100.11", "no inservice") { $0.farms[0].reals[0].inService = false },
        CommandCase("ip slb serverfarm F", "real 198.51.100.11", "no inservice", "inservice") { _ in },
        CommandCase("ip slb serverfarm F", "real 198.51.100.11", "exit", "real 198.51.100.12", "weight 2", "inservice") {
            $0.farms[0].reals.append(RealServer(address: IPv4Address(198, 51, 100, 12), weight: 2, inService: true))
        },
    ]

    static let vserverCases: [CommandCase] = [
        CommandCase("ip slb vserver V", "virtual 203.0.113.100 esp") { $0.vservers[0].service = .esp },
        CommandCase("ip slb vserver V", "virtual 203.0.113.100 50") { $0.vservers[0].service = .esp },
        CommandCase("ip slb vserver V", "virtual 203.0.113.101 udp 4500") {
            $0.vservers[0].address = IPv4Address(203, 0, 113, 101); $0.vservers[0].service = .udp(port: 4500)
        },
        CommandCase("ip slb vserver V", "virtual 203.0.113.100 udp non500-isakmp") { $0.vservers[0].service = .udp(port: 4500) },
        CommandCase("ip slb vserver V", "virtual 203.0.113.100 udp any") { $0.vservers[0].service = .udp(port: nil) },
        CommandCase("ip slb vserver V", "virtual 203.0.113.100 udp 0") { $0.vservers[0].service = .udp(port: nil) },
        CommandCase("ip slb vserver V", "virtual 203.0.113.100 udp 65535") { $0.vservers[0].service = .udp(port: 65535) },
        CommandCase("ip slb vserver V", "virtual 203.0.113.0 255.255.255.0 udp isakmp") {
            $0.vservers[0].address = IPv4Address(203, 0, 113, 0); $0.vservers[0].mask = IPv4Mask(prefixLength: 24)!
        },
        CommandCase("ip slb serverfarm B", "ip slb vserver V", "serverfarm F backup B") {
            $0.farms.append(ServerFarm(name: "B")); $0.vservers[0].backupFarm = "B"
        },
        // `serverfarm primary-farm [backup backup-farm [sticky]]` (spec §1.5), by prefix too.
        CommandCase("ip slb serverfarm B", "ip slb vserver V", "serverfarm F backup B sticky") {
            $0.farms.append(ServerFarm(name: "B")); $0.vservers[0].backupFarm = "B"; $0.vservers[0].backupSticky = true
        },
        CommandCase("ip slb serverfarm B", "ip slb vserver V", "serverfarm F back B st") {
            $0.farms.append(ServerFarm(name: "B")); $0.vservers[0].backupFarm = "B"; $0.vservers[0].backupSticky = true
        },
        // A later `serverfarm` line replaces the whole command, `sticky` included.
        CommandCase("ip slb serverfarm B", "ip slb vserver V", "serverfarm F backup B sticky", "serverfarm F backup B") {
            $0.farms.append(ServerFarm(name: "B")); $0.vservers[0].backupFarm = "B"
        },
        CommandCase("ip slb vserver V", "sticky 3600") { $0.vservers[0].sticky = StickySettings(seconds: 3600) },
        CommandCase("ip slb vserver V", "sticky 65535 group 255") {
            $0.vservers[0].sticky = StickySettings(seconds: 65535, group: 255)
        },
        CommandCase("ip slb vserver V", "sticky 60 group 1 netmask 255.255.255.0") {
            $0.vservers[0].sticky = StickySettings(seconds: 60, group: 1, netmask: IPv4Mask(prefixLength: 24)!)
        },
        CommandCase("ip slb vserver V", "sticky 60 netmask 255.255.0.0 group 2") {
            $0.vservers[0].sticky = StickySettings(seconds: 60, group: 2, netmask: IPv4Mask(prefixLength: 16)!)
        },
        CommandCase("ip slb vserver V", "sticky 0") { _ in },
        CommandCase("ip slb vserver V", "sticky 60 group 1", "no sticky") { _ in },
        CommandCase("ip slb vserver V", "idle 10") { $0.vservers[0].idle = 10 },
        CommandCase("ip slb vserver V", "idle 65535") { $0.vservers[0].idle = 65535 },
        CommandCase("ip slb vserver V", "idle 20", "no idle") { _ in },
        CommandCase("ip slb vserver V", "client 192.0.2.0 255.255.255.0", "client 198.51.100.128 255.255.255.128") {
            $0.vservers[0].clients = [IPv4Network(address: IPv4Address(192, 0, 2, 0), mask: IPv4Mask(prefixLength: 24)!),
                                      IPv4Network(address: IPv4Address(198, 51, 100, 128), mask: IPv4Mask(prefixLength: 25)!)]
        },
        CommandCase("ip slb vserver V", "client 192.0.2.0 255.255.255.0", "client 192.0.3.0 255.255.255.0",
                    "no client 192.0.2.0 255.255.255.0") {
            $0.vservers[0].clients = [IPv4Network(address: IPv4Address(192, 0, 3, 0), mask: IPv4Mask(prefixLength: 24)!)]
        },
        CommandCase("ip slb vserver V", "client 192.0.2.0 255.255.255.0", "no client") { _ in },
        CommandCase("ip slb vserver V", "no inservice") { $0.vservers[0].inService = false },
        CommandCase("ip slb vserver W", "virtual 203.0.113.100 esp", "serverfarm F") {
            $0.vservers.append(VirtualServer(name: "W", address: IPv4Address(203, 0, 113, 100), service: .esp, farm: "F"))
        },
        CommandCase("no ip slb vserver V") { $0.vservers = [] },
    ]

    static let entriesCases: [CommandCase] = [
        CommandCase("ip slb entries conn 5000") { $0.entries.connections = 5000 },
        CommandCase("ip slb entries sticky 7") { $0.entries.sticky = 7 },
        CommandCase("ip slb entries conn 1 sticky 16000000") { $0.entries = TableLimits(connections: 1, sticky: 16_000_000) },
        CommandCase("ip slb entries sticky 9 conn 8") { $0.entries = TableLimits(connections: 8, sticky: 9) },
        CommandCase("ip slb entries conn 8 sticky 9", "no ip slb entries") { _ in },
        CommandCase("ip slb entries conn 8 sticky 9", "no ip slb entries conn") { $0.entries.sticky = 9 },
        CommandCase("ip slb entries conn 8 sticky 9", "no ip slb entries sticky 9") { $0.entries.connections = 8 },
    ]

    @Test(arguments: probeCases + farmCases + realCases + vserverCases + entriesCases)
    func command(_ testCase: CommandCase) {
        let (session, diagnostics) = applying(testCase.lines, to: base)
        #expect(diagnostics.filter { $0.severity != .note }.isEmpty, "\(diagnostics)")
        var expected = base
        testCase.change(&expected)
        #expect(session.draft.configuration == expected)
    }
}
