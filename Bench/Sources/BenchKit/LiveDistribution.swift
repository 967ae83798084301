import Dataplane
import Foundation
import Lab
import SLBConfig
import SLBWire
#if canImport(Glibc)
import Glibc
#endif

/// The live half of `slb-bench distribution --live`: real IKEv2 tunnels from up to 350 lab
/// client addresses (the project's `slb client`: raw ESP, pings through each tunnel) to the
/// VIP through `slb run`, to the lab's `slb gateway`s. Placement is read at the gateways
/// (`slb gateway show crypto ipsec sa --json`: the IKE SAs and ESP SAs each one holds), so
/// the shares and the sticky consistency are what the gateways actually negotiated and
/// decrypted, not what the SLB believes it did.
public struct LiveDistribution {
    public struct Parameters: Codable, Sendable, Hashable {
        public var clients: Int
        public var pings: Int
        /// IKE negotiations in flight (`slb client --concurrency`).
        public var concurrency: Int
        /// `slb client --time-limit`; the client is killed (by PID) 15 s after it.
        public var timeLimit: Int
        public static let standard = Parameters(clients: 350, pings: 3, concurrency: 16, timeLimit: 120)
        public static let smoke = Parameters(clients: 30, pings: 2, concurrency: 16, timeLimit: 30)
    }

    public struct Result: Codable, Sendable, Hashable {
        public var parameters: Parameters
        public var established: Int
        public var pingOK: Int
        /// Tunnels that negotiated UDP encapsulation (0 through a DSR SLB: no NAT is visible,
        /// and `slb client` has no option to force NAT-T).
        public var nattTunnels: Int
        public var pingsSent: Int
        /// ESP packets the gateways decrypted on the clients' ESP SAs.
        public var espDecrypted: Int
        /// The gateways' `esp.*` drop counters summed: ESP that reached a gateway without the
        /// SA (a sticky failure would show here as an unknown SPI) or failed to decrypt.
        public var espDroppedAtGateways: Int
        public var reals: [DistributionScenario.RealShare]
        /// Clients with an IKE SA on some gateway.
        public var clientsSeen: Int
        /// Clients whose IKE SA and every ESP SA sit on one gateway, with no SA of theirs on
        /// another, and whose ESP SA there decrypted their ESP (at least one packet; a lost
        /// ping is loss, not placement, and shows as espDecrypted < pingsSent).
        public var consistentClients: Int
        public var stickyConsistency: Double
        public var maxDeviation: Double
        public var jainIndex: Double
        public var setupMedianMilliseconds: Double
        public var setupP95Milliseconds: Double
        public var clientSeconds: Double
    }

    /// Lab gateway n is 198.51.100.(10+n); other addresses are not in the lab.
    static func gatewayNumber(_ address: IPv4Address) -> Int? {
        guard let first = LabAddressPlan.gateway(1), address >= first else { return nil }
        let n = Int(address.value - first.value) + 1
        return LabAddressPlan.gateway(n) == address ? n : nil
    }

    /// The lab's client sources in order: 192.0.2.10–.254, then the routed 198.51.100.129 and on.
    /// At most `maximumClients` (the plan's ≤ 350).
    static func sources(_ wanted: Int) -> [IPv4Address] {
        let count = min(wanted, maximumClients)
        var out: [IPv4Address] = []
        var a = LabAddressPlan.firstPublicClient
        while out.count < count && a <= LabAddressPlan.lastPublicClient {
            out.append(a)
            a = IPv4Address(a.value + 1)
        }
        a = IPv4Address(LabAddressPlan.routedClients.address.value + 1)
        let broadcast = LabAddressPlan.routedClients.address.value | ~LabAddressPlan.routedClients.mask.value
        while out.count < count && a.value < broadcast {
            out.append(a)
            a = IPv4Address(a.value + 1)
        }
        return out
    }

    /// The lab address plan holds 350 client sources (LabAddressPlan.routedClients).
    public static let maximumClients = 350

    let parameters: Parameters
    let farmText: String
    let configuration: SLBConfiguration
    let slbPath: String
    let output: BenchOutput

    public init(parameters: Parameters, farmText: String, configuration: SLBConfiguration, slbPath: String,
                output: BenchOutput) throws {
        guard NetworkNamespace.isAvailable else { throw BenchError("--live needs root and network namespaces") }
        guard FileManager.default.isExecutableFile(atPath: slbPath) else { throw BenchError("no slb binary at \(slbPath)") }
        guard (1...LiveDistribution.maximumClients).contains(parameters.clients),
              LiveDistribution.sources(parameters.clients).count == parameters.clients,
              (1...100).contains(parameters.pings), (1...600).contains(parameters.timeLimit), parameters.concurrency >= 1 else {
            throw BenchError("--live: 1...\(LiveDistribution.maximumClients) clients, 1...100 pings, time limit ≤ 600 s")
        }
        let reals = configuration.farms.flatMap(\.reals).map(\.address)
        guard !reals.isEmpty, reals.allSatisfy({ LiveDistribution.gatewayNumber($0) != nil }) else {
            throw BenchError("--live needs a farm whose reals are lab gateways 198.51.100.11, .12, ...")
        }
        self.parameters = parameters
        self.farmText = farmText
        self.configuration = configuration
        self.slbPath = slbPath
        self.output = output
    }

    private struct ClientReport: Decodable {
        struct Tunnel: Decodable {
            var source: String
            var established: Bool
            var ikeMilliseconds: UInt64?
            var pingsSent: Int
            var pingsAnswered: Int
            var udpEncapsulation: Bool?
        }
        var established: Int
        var pingOK: Int
        var results: [Tunnel]
    }

    private struct GatewaySAs: Decodable {
        struct IKE: Decodable { var remoteAddress: String }
        struct ESP: Decodable { var remoteAddress: String; var packetsDecrypted: UInt64 }
        struct Drop: Decodable { var name: String; var count: UInt64 }
        var ikeSAs: [IKE]
        var ipsecSAs: [ESP]
        var drops: [Drop]
    }

    public func run() throws -> Result {
        let reals = configuration.farms.flatMap(\.reals)
        let gatewayCount = reals.compactMap { LiveDistribution.gatewayNumber($0.address) }.max() ?? 1
        let id = LabID("l\(getpid() % 100_000)") ?? LabID.standard
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("vslb-live-\(id)")
        try? FileManager.default.removeItem(at: work)
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        chmod(work.path, 0o700)
        defer { try? FileManager.default.removeItem(at: work) }
        let controller = LabController(store: LabStateStore(directory: work.appendingPathComponent("state").path))
        let plan = try LabPlan(id: id, gatewayCount: gatewayCount)
        output.progress("distribution --live: building lab \(id) (\(gatewayCount) gateways running slb gateway)")
        _ = try controller.up(plan, owner: ProcessIdentity.current, handOver: true)
        // `down` also ends the gateways, by the identities `start` recorded in the lab record.
        defer {
            output.progress("distribution --live: removing lab \(id)")
            try? controller.down(plan.id)
        }
        let gateways = LabGatewayPlan(lab: plan, directory: controller.store.gatewayDirectory(for: id), executable: slbPath)
        try LabGateways(controller: controller).start(gateways)

        let farm = work.appendingPathComponent("farm.cfg")
        try farmText.write(to: farm, atomically: true, encoding: .utf8)
        let slb = try SLBProcess.start(slbPath: slbPath, plan: plan, farm: farm, log: work.appendingPathComponent("slb.log"),
                                       cpu: nil, backend: "packet-socket", seconds: parameters.timeLimit + 60)
        defer { LiveDistribution.stop(slb) }
        try waitForNeighbours(plan, reals: reals.map(\.address))

        let sources = LiveDistribution.sources(parameters.clients)
        output.progress("distribution --live: \(sources.count) slb client tunnels, \(parameters.pings) pings each")
        let reportURL = work.appendingPathComponent("clients.json")
        var argv = [SystemCommandRunner.resolve("ip") ?? "/usr/sbin/ip", "netns", "exec", plan.clientNamespace, slbPath, "client",
                    "--gateway", LabAddressPlan.vip.description, "--psk-file", gateways.pskPath,
                    "--pings", "\(parameters.pings)", "--concurrency", "\(parameters.concurrency)",
                    "--time-limit", "\(parameters.timeLimit)", "--keep", "--json"]
        for source in sources { argv += ["--source", source.description] }
        let started = Measure.seconds()
        try LiveDistribution.runBounded(argv, stdout: reportURL, stderr: work.appendingPathComponent("clients.log"),
                                        seconds: Double(parameters.timeLimit) + 15)
        let clientSeconds = Measure.seconds() - started
        let reportData = (try? Data(contentsOf: reportURL)) ?? Data()
        guard let report = try? JSONDecoder().decode(ClientReport.self, from: reportData) else {
            let log = (try? String(contentsOf: work.appendingPathComponent("clients.log"), encoding: .utf8)) ?? ""
            throw BenchError("slb client gave no JSON report: \(String(decoding: reportData.prefix(500), as: UTF8.self)) \(log.suffix(1000))")
        }

        // Each gateway's SAs: which clients' IKE SAs and ESP SAs it holds.
        var ikeOn: [String: Set<Int>] = [:], espOn: [String: Set<Int>] = [:], decrypted: [String: UInt64] = [:]
        var espDropped: UInt64 = 0
        for n in plan.gatewayNumbers {
            let r = try SystemCommandRunner().run([slbPath, "gateway", "show", "crypto", "ipsec", "sa", "--json",
                                                   "--control", gateways.controlPath(n)])
            guard r.succeeded, let sas = try? JSONDecoder().decode(GatewaySAs.self, from: Data(r.output.utf8)) else {
                throw BenchError("gateway \(n): show crypto ipsec sa --json failed: \(r.output.prefix(500))")
            }
            for sa in sas.ikeSAs { ikeOn[sa.remoteAddress, default: []].insert(n) }
            for sa in sas.ipsecSAs {
                espOn[sa.remoteAddress, default: []].insert(n)
                decrypted[sa.remoteAddress, default: 0] += sa.packetsDecrypted
            }
            espDropped += sas.drops.filter { $0.name.hasPrefix("esp.") }.map(\.count).reduce(0, +)
        }
        var placed: [String: Int] = [:]
        for (client, ike) in ikeOn {
            guard ike.count == 1, let n = ike.first, espOn[client] == [n],
                  decrypted[client, default: 0] > 0 else { continue }
            placed[client] = n
        }
        let totalWeight = Double(reals.reduce(0) { $0 + Int($1.weight) })
        var shares: [DistributionScenario.RealShare] = []
        for real in reals {
            let n = LiveDistribution.gatewayNumber(real.address) ?? 0
            let count = placed.values.filter { $0 == n }.count
            let target = totalWeight > 0 ? Double(real.weight) / totalWeight : 0
            shares.append(.init(real: real.address.description, weight: Int(real.weight), target: target, clients: count,
                                share: placed.isEmpty ? 0 : Double(count) / Double(placed.count)))
        }
        let setup = report.results.compactMap { $0.ikeMilliseconds.map { Double($0) } }
        let clientsSeen = Set(ikeOn.keys).union(espOn.keys).count
        return Result(parameters: parameters, established: report.established, pingOK: report.pingOK,
                      nattTunnels: report.results.filter { $0.udpEncapsulation == true }.count,
                      pingsSent: report.results.map(\.pingsSent).reduce(0, +),
                      espDecrypted: Int(decrypted.values.reduce(0, +)), espDroppedAtGateways: Int(espDropped), reals: shares,
                      clientsSeen: clientsSeen, consistentClients: placed.count,
                      stickyConsistency: clientsSeen == 0 ? 0 : Double(placed.count) / Double(clientsSeen),
                      maxDeviation: shares.map { abs($0.share - $0.target) }.max() ?? 0,
                      jainIndex: Statistics.jainIndex(shares.filter { $0.target > 0 }.map { $0.share / $0.target }),
                      setupMedianMilliseconds: setup.isEmpty ? 0 : Statistics.median(setup),
                      setupP95Milliseconds: setup.isEmpty ? 0 : Statistics.percentile(setup, 95), clientSeconds: clientSeconds)
    }

    /// Until the slb namespace's kernel has each real's MAC (the first probes resolve them) and
    /// the forwarding loop has had its once-a-second read of the ARP table; before that a
    /// client's first IKE packet is dropped (`no-neighbour`) and it waits out a retransmission.
    private func waitForNeighbours(_ plan: LabPlan, reals: [IPv4Address]) throws {
        let deadline = Measure.seconds() + 15
        while Measure.seconds() < deadline {
            let text = (try? SystemCommandRunner().run(["ip", "-n", plan.slbNamespace, "neigh", "show", "dev", LabPlan.gatewayBridge]))?.output ?? ""
            let resolved = text.split(separator: "\n").filter { $0.contains("lladdr") && !$0.contains("FAILED") }
            if reals.allSatisfy({ real in resolved.contains { $0.hasPrefix("\(real) ") } }) {
                usleep(1_200_000)
                return
            }
            usleep(200_000)
        }
        throw BenchError("distribution --live: the SLB did not resolve every real's MAC in 15 s")
    }

    /// Runs a command to completion, SIGKILL to its PID after `seconds`.
    static func runBounded(_ argv: [String], stdout: URL, stderr: URL, seconds: Double) throws {
        for url in [stdout, stderr] { _ = FileManager.default.createFile(atPath: url.path, contents: nil) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: argv[0])
        process.arguments = Array(argv.dropFirst())
        process.standardOutput = try FileHandle(forWritingTo: stdout)
        process.standardError = try FileHandle(forWritingTo: stderr)
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let deadline = Measure.seconds() + seconds
        while process.isRunning && Measure.seconds() < deadline { usleep(20_000) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }

    /// SIGTERM to this PID, SIGKILL after 3 s.
    static func stop(_ process: Process) {
        if process.isRunning { kill(process.processIdentifier, SIGTERM) }
        let deadline = Measure.seconds() + 3
        while process.isRunning && Measure.seconds() < deadline { usleep(20_000) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }
}
