import Dataplane
import Foundation
import Lab
import SLBWire
#if canImport(Glibc)
import Glibc
#endif

/// `slb-bench failover`: a gateway's IKE dies under held tunnels; how long is each client out?
///
/// A lab with 3 gateways, each running `slb gateway` (the VIP on its loopback), `slb run` on a
/// farm with a ping and an `ike` probe (`interval`, `faildetect` from the parameters) and
/// `failaction purge`, and the project's own clients (`slb client --hold`: one tunnel per
/// source address, pings through it every `pingInterval`, DPD after `dpdDelay` of inbound
/// silence, then re-initiation; IKEv2 retransmits its liveness request 1 s × 1.4^i, i = 0…3,
/// IKEv1 sends 4 R-U-THEREs (RFC 3706) 1 s apart). Each IKE version in `ikeVersions` is a run.
/// Gateway 2 fails (its `slb gateway` killed, or its link cut). Measured per failure mode:
/// time to PROBE_FAILED and to the purge (the SLB's own CLOCK_MONOTONIC event times), time
/// until every client holds exactly one IKE SA on a live gateway (the gateways' control
/// sockets), and each of the dead gateway's clients' outage: the longest gap between two
/// answered pings (last answered before, first answered after), printed as min, median, p95,
/// max beside the DPD detection time computed from the client's configuration. Target
/// (reported, not asserted): every outage ≤ DPD detection + 2 s with `interval 1`,
/// `faildetect 2`. Root only; builds and removes its own labs.
public struct FailoverScenario {
    public struct Parameters: Codable, Sendable, Hashable {
        public var clients: Int
        public var dpdDelay: Int
        public var pingIntervalMilliseconds: Int
        public var probeInterval: Int
        public var probeFaildetect: Int
        public var failures: [String]
        /// 2 (IKEv2) and/or 1 (IKEv1 main mode + quick mode, RFC 3706 DPD).
        public var ikeVersions: [Int]

        public static let standard = Parameters(clients: 60, dpdDelay: 2, pingIntervalMilliseconds: 500, probeInterval: 1,
                                                probeFaildetect: 2, failures: ["kill", "link"], ikeVersions: [2, 1])
        public static let smoke = Parameters(clients: 9, dpdDelay: 2, pingIntervalMilliseconds: 500, probeInterval: 1,
                                             probeFaildetect: 2, failures: ["kill"], ikeVersions: [2])
    }

    public struct Measurement: Codable, Sendable, Hashable {
        public var failure: String
        public var ikeVersion: Int
        public var clients: Int
        public var victims: Int
        public var dpdDetection: Double
        public var toProbeFailed: Double?
        public var toPurge: Double?
        public var purgedConnections: Int?
        /// Until every client held one IKE SA on a live gateway.
        public var toAllRelanded: Double?
        public var outageMin: Double?
        public var outageMedian: Double?
        public var outageP95: Double?
        public var outageMax: Double?
        /// Victims that never answered a ping again, or whose tunnel was down at the end.
        public var unrecovered: Int
        /// Clients of healthy gateways that restarted (must be 0).
        public var healthyRestarts: Int
        public var targetMet: Bool
        public var outages: [Double]
    }

    public struct Document: Codable, Sendable {
        public var run: RunInfo
        public var parameters: Parameters
        public var measurements: [Measurement]
        public var notes: [String]
    }

    public let parameters: Parameters
    public let slbPath: String
    public let output: BenchOutput
    public let smoke: Bool
    static let victim = 2
    static let vip = "203.0.113.100"

    public init(parameters: Parameters, slbPath: String, output: BenchOutput, smoke: Bool) throws {
        guard NetworkNamespace.isAvailable else { throw BenchError("failover needs root and network namespaces") }
        guard FileManager.default.isExecutableFile(atPath: slbPath) else {
            throw BenchError("no slb binary at \(slbPath) (swift build --product slb; or pass --slb PATH)")
        }
        // Client sources 192.0.2.10–.254 (the lab client host's public addresses).
        guard (3...200).contains(parameters.clients), (1...60).contains(parameters.dpdDelay),
              (50...5000).contains(parameters.pingIntervalMilliseconds), (1...60).contains(parameters.probeInterval),
              (1...20).contains(parameters.probeFaildetect), !parameters.failures.isEmpty,
              parameters.failures.allSatisfy({ ["kill", "link"].contains($0) }),
              !parameters.ikeVersions.isEmpty, parameters.ikeVersions.allSatisfy({ [1, 2].contains($0) }) else {
            throw BenchError("failover: clients 3…200, dpd 1…60 s, ping interval 50…5000 ms, probe interval 1…60, faildetect 1…20, failures kill|link, ike 1|2")
        }
        self.parameters = parameters
        self.slbPath = slbPath
        self.output = output
        self.smoke = smoke
    }

    public func run() throws -> Document {
        var measurements: [Measurement] = []
        for version in parameters.ikeVersions {
            for failure in parameters.failures {
                measurements.append(try measure(failure: failure, ikeVersion: version))
            }
        }
        let document = Document(run: RunInfo(scenario: "failover", smoke: smoke), parameters: parameters,
                                measurements: measurements,
                                notes: ["outage = longest gap between two answered pings of a client of the failed gateway",
                                        "dpdDetection (IKEv2) = dpd delay + 1 + 1.4 + 1.96 + 2.744 s (liveness request and its 3 retransmissions)",
                                        "dpdDetection (IKEv1) = dpd delay + 4 s (4 R-U-THEREs 1 s apart, RFC 3706)",
                                        "times from the failure instant: PROBE_FAILED and purge from slb run's event times (CLOCK_MONOTONIC)"])
        var bars: [BarChart.Bar] = []
        for (group, m) in measurements.enumerated() {
            let name = "IKEv\(m.ikeVersion) \(m.failure)"
            bars.append(.init(label: "\(name): DPD detection", value: m.dpdDetection, group: group))
            for (statistic, value) in [("min", m.outageMin), ("median", m.outageMedian), ("p95", m.outageP95), ("max", m.outageMax)] {
                if let value { bars.append(.init(label: "\(name): outage \(statistic)", value: value, group: group)) }
            }
        }
        try output.write(document, name: "failover", chart: BarChart(title: "Outage per client after a gateway failure", unit: "s", bars: bars))
        return document
    }

    public static func table(_ document: Document) -> String {
        var table = TextTable(["IKE", "failure", "clients", "victims", "DPD det.", "PROBE_FAILED", "purge", "all re-landed",
                               "outage min", "median", "p95", "max", "unrecovered", "target"])
        func s(_ v: Double?) -> String { v.map { Format.fixed($0, 2) + " s" } ?? "-" }
        for m in document.measurements {
            table.add(["v\(m.ikeVersion)", m.failure, "\(m.clients)", "\(m.victims)", s(m.dpdDetection), s(m.toProbeFailed), s(m.toPurge),
                       s(m.toAllRelanded), s(m.outageMin), s(m.outageMedian), s(m.outageP95), s(m.outageMax),
                       "\(m.unrecovered)", m.targetMet ? "≤ DPD + 2 s" : "missed"])
        }
        return table.text
    }

    // MARK: one failure

    private struct ClientReport: Decodable {
        struct Result: Decodable {
            var source: String
            var establishments: Int
            var deadPeers: Int
            var longestGap: Double?
            var upAtEnd: Bool
        }
        var dpdDetectionSeconds: Double
        var results: [Result]
    }

    /// The peers of a gateway's IKE SAs: IKEv2 SAs and IKEv1 ISAKMP SAs (older gateways' JSON
    /// has no `isakmpSAs`).
    private struct GatewaySAs: Decodable {
        struct Row: Decodable { var remoteAddress: String }
        struct ISAKMPRow: Decodable { var destination: String }
        var ikeSAs: [Row]
        var isakmpSAs: [ISAKMPRow]?
        var peers: [String] { ikeSAs.map(\.remoteAddress) + (isakmpSAs ?? []).map(\.destination) }
    }

    private func farm() -> String {
        var text = "ip slb probe GW-PING ping\n interval \(parameters.probeInterval)\n faildetect \(parameters.probeFaildetect)\n"
        text += "ip slb probe GW-IKE ike\n interval \(parameters.probeInterval)\n faildetect \(parameters.probeFaildetect)\n"
        text += "ip slb serverfarm VPN\n failaction purge\n probe GW-PING\n probe GW-IKE\n"
        for n in 1...3 { text += " real 198.51.100.1\(n)\n  weight 1\n  inservice\n" }
        for (name, service) in [("VPN-ISAKMP", "udp isakmp"), ("VPN-NATT", "udp 4500"), ("VPN-ESP", "esp")] {
            text += "ip slb vserver \(name)\n virtual \(FailoverScenario.vip) \(service)\n serverfarm VPN\n sticky 3600 group 7\n idle 60\n inservice\n"
        }
        return text
    }

    private func measure(failure: String, ikeVersion: Int) throws -> Measurement {
        let runner = SystemCommandRunner()
        let id = LabID("v\(getpid() % 100_000)") ?? LabID.standard
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("vslb-bench-failover-\(id)")
        try? FileManager.default.removeItem(at: work)
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        chmod(work.path, 0o700)
        defer { try? FileManager.default.removeItem(at: work) }
        let controller = LabController(store: LabStateStore(directory: work.appendingPathComponent("state").path))
        let plan = try LabPlan(id: id, gatewayCount: 3)
        output.progress("failover (IKEv\(ikeVersion) \(failure)): building lab \(id) (3 gateways running slb gateway)")
        _ = try controller.up(plan, owner: ProcessIdentity.current, handOver: true)
        var processes: [Process] = []
        defer {
            for p in processes where p.isRunning { kill(p.processIdentifier, SIGTERM) }
            for p in processes {
                let deadline = Measure.seconds() + 3
                while p.isRunning && Measure.seconds() < deadline { usleep(20_000) }
                if p.isRunning { kill(p.processIdentifier, SIGKILL); p.waitUntilExit() }
            }
            output.progress("failover (IKEv\(ikeVersion) \(failure)): removing lab \(id)")
            try? controller.down(plan.id)
        }
        let psk = work.appendingPathComponent("psk").path
        _ = FileManager.default.createFile(atPath: psk, contents: Data("* \"lab-psk-0123456789\"\n".utf8),
                                           attributes: [.posixPermissions: 0o600])
        chmod(psk, 0o600)
        let ip = SystemCommandRunner.resolve("ip") ?? "/usr/sbin/ip"
        func start(_ namespace: String, _ arguments: [String], stdout: URL?, stderr: URL) throws -> Process {
            _ = FileManager.default.createFile(atPath: stderr.path, contents: nil)
            let p = Process()
            p.executableURL = URL(fileURLWithPath: ip)
            p.arguments = ["netns", "exec", namespace] + arguments
            if let stdout {
                _ = FileManager.default.createFile(atPath: stdout.path, contents: nil)
                p.standardOutput = try FileHandle(forWritingTo: stdout)
            } else {
                p.standardOutput = FileHandle.nullDevice
            }
            p.standardError = try FileHandle(forWritingTo: stderr)
            try p.run()
            processes.append(p)
            return p
        }
        func control(_ n: Int) -> String { work.appendingPathComponent("gw\(n).sock").path }
        var gateways: [Int: Process] = [:]
        for n in plan.gatewayNumbers {
            gateways[n] = try start(plan.gatewayNamespace(n), [slbPath, "gateway", "--vip", FailoverScenario.vip, "--psk-file", psk,
                                                               "--control", control(n)],
                                    stdout: nil, stderr: work.appendingPathComponent("gw\(n).log"))
        }
        guard wait(10, { plan.gatewayNumbers.allSatisfy { FileManager.default.fileExists(atPath: control($0)) } }) else {
            throw BenchError("failover: gateways did not open their control sockets")
        }
        func placement(_ live: [Int]) -> [String: Int] {
            var counts: [String: Int] = [:]
            for n in live {
                let r = try? runner.run(["ip", "netns", "exec", plan.gatewayNamespace(n), slbPath, "gateway", "show", "crypto", "ikev2",
                                         "sa", "--json", "--control", control(n)])
                guard let r, r.succeeded, let sas = try? JSONDecoder().decode(GatewaySAs.self, from: Data(r.output.utf8)) else { continue }
                for peer in sas.peers { counts[peer, default: 0] += 1 }
            }
            return counts
        }
        func owners(_ live: [Int]) -> [String: Int] {
            var out: [String: Int] = [:]
            for n in live {
                for (client, _) in placement([n]) { out[client] = n }
            }
            return out
        }

        let farmFile = work.appendingPathComponent("farm.cfg")
        try farm().write(to: farmFile, atomically: true, encoding: .utf8)
        let slbLog = work.appendingPathComponent("slb.log")
        processes.append(try SLBProcess.start(slbPath: slbPath, plan: plan, farm: farmFile, log: slbLog, cpu: nil,
                                              backend: "packet-socket", seconds: 600))
        func log() -> String { (try? String(contentsOf: slbLog, encoding: .utf8)) ?? "" }

        let sources = (0..<parameters.clients).map { "192.0.2.\(10 + $0)" }
        let report = work.appendingPathComponent("clients.json")
        let clients = try start(plan.clientNamespace, [slbPath, "client", "--gateway", FailoverScenario.vip, "--source", sources[0],
                                                       "--count", "\(parameters.clients)", "--psk-file", psk, "--hold", "900",
                                                       "--dpd", "\(parameters.dpdDelay)", "--ping-interval", "\(parameters.pingIntervalMilliseconds)",
                                                       "--concurrency", "8", "--json", "--ike", "v\(ikeVersion)"],
                                stdout: report, stderr: work.appendingPathComponent("clients.log"))
        output.progress("failover (IKEv\(ikeVersion) \(failure)): \(parameters.clients) clients connecting")
        guard wait(60, { let p = placement([1, 2, 3]); return sources.allSatisfy { p[$0] == 1 } }) else {
            throw BenchError("failover: not every client connected: \(placement([1, 2, 3]).count)/\(sources.count)")
        }
        let before = owners([1, 2, 3])
        let victims = Set(sources.filter { before[$0] == FailoverScenario.victim })
        sleep(2)

        let victimAddress = "198.51.100.1\(FailoverScenario.victim)"
        output.progress("failover (IKEv\(ikeVersion) \(failure)): gateway \(FailoverScenario.victim) fails (\(victims.count) clients)")
        let failedAt = Dataplane.Clock.now
        let failedSeconds = Measure.seconds()
        switch failure {
        case "kill":
            if let p = gateways[FailoverScenario.victim] { kill(p.processIdentifier, SIGKILL); p.waitUntilExit() }
        default:
            _ = try runner.run(["ip", "-n", plan.gatewayNamespace(FailoverScenario.victim), "link", "set", "eth0", "down"])
        }
        func eventTime(_ prefix: String) -> (Double, Substring)? {
            guard let line = log().split(separator: "\n").first(where: { $0.hasPrefix(prefix) }),
                  let at = EventLine.monotonicTime(in: line), at >= failedAt else { return nil }
            return (Double((at - failedAt).nanoseconds) / 1e9, line)
        }
        _ = wait(30) { eventTime("slb.purge real=\(victimAddress)") != nil }
        let down = eventTime("slb.real.down real=\(victimAddress)")
        let purge = eventTime("slb.purge real=\(victimAddress)")
        let purged = purge.flatMap { line in
            line.1.split(separator: " ").first { $0.hasPrefix("connections=") }.flatMap { Int($0.dropFirst("connections=".count)) }
        }
        let live = plan.gatewayNumbers.filter { $0 != FailoverScenario.victim }
        var relanded: Double?
        if wait(60, { let p = placement(Array(live)); return sources.allSatisfy { p[$0] == 1 } }) {
            relanded = Measure.seconds() - failedSeconds
        }
        sleep(2)
        kill(clients.processIdentifier, SIGTERM)
        _ = wait(10) { !clients.isRunning }
        let results = try JSONDecoder().decode(ClientReport.self, from: Data(contentsOf: report))
        var outages: [Double] = []
        var unrecovered = 0
        var healthyRestarts = 0
        for r in results.results {
            if victims.contains(r.source) {
                if let gap = r.longestGap, r.upAtEnd, r.deadPeers >= 1 { outages.append(gap) } else { unrecovered += 1 }
            } else if r.establishments != 1 {
                healthyRestarts += 1
            }
        }
        outages.sort()
        func percentile(_ p: Double) -> Double? {
            guard !outages.isEmpty else { return nil }
            let rank = Int((p / 100 * Double(outages.count)).rounded(.up))
            return outages[min(max(rank, 1), outages.count) - 1]
        }
        let detection = results.dpdDetectionSeconds
        let measurement = Measurement(failure: failure, ikeVersion: ikeVersion, clients: sources.count, victims: victims.count, dpdDetection: detection,
                                      toProbeFailed: down?.0, toPurge: purge?.0, purgedConnections: purged, toAllRelanded: relanded,
                                      outageMin: outages.first, outageMedian: percentile(50), outageP95: percentile(95),
                                      outageMax: outages.last, unrecovered: unrecovered, healthyRestarts: healthyRestarts,
                                      targetMet: unrecovered == 0 && (outages.last ?? .infinity) <= detection + 2, outages: outages)
        output.progress("failover (IKEv\(ikeVersion) \(failure)): outage max \(outages.last.map { Format.fixed($0, 2) } ?? "-") s, DPD detection \(Format.fixed(detection, 2)) s")
        return measurement
    }

    private func wait(_ seconds: Double, _ body: () -> Bool) -> Bool {
        let deadline = Measure.seconds() + seconds
        while Measure.seconds() < deadline {
            if body() { return true }
            usleep(200_000)
        }
        return body()
    }
}
