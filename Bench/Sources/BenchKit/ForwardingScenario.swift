import Dataplane
import Foundation
import Lab
import SLBWire
import Traffic
#if canImport(Glibc)
import Glibc
#endif

/// `slb-bench forwarding`: packets per second and loss through the lab's slb namespace for
/// small UDP/500 and ESP packets: `slb run` (one forwarding worker, pinned to CPU 0) beside
/// the kernel baselines (nftables DNAT and netdev DSR), interleaved A B C A B C, with the
/// sender (`slb traffic --fast`, sendmmsg batches of 64) pinned to CPU 1. Delivery is counted
/// by nft netdev ingress counters on each gateway. Root only; builds and removes its own lab.
public struct ForwardingScenario {
    public struct Parameters: Codable, Sendable, Hashable {
        public var farm: String
        public var runs: Int
        public var seconds: Double
        public var clients: Int
        public var kinds: [String]
        public var forwarderCPU: Int
        public var senderCPU: Int
        public var backend: String
        /// The sender's nice value, the same as `slb run`'s forwarding thread
        /// (`ForwardingLoop.threadNice`). At nice 0 next to a nice −10 forwarder pinned to the
        /// other CPU, the scheduler moved the host's other tasks onto the sender's CPU in the
        /// slb rounds only (Bench/README.md, "Found while benchmarking"). nil: inherited.
        public var senderNice: Int?

        public static func standard(farm: String) -> Parameters {
            Parameters(farm: farm, runs: 5, seconds: 5, clients: 240, kinds: ["isakmp", "esp"],
                       forwarderCPU: 0, senderCPU: 1, backend: "packet-socket", senderNice: Int(ForwardingLoop<PacketSocketIO, PacketSocketIO>.defaultThreadNice))
        }
        public static func smoke(farm: String) -> Parameters {
            Parameters(farm: farm, runs: 1, seconds: 1, clients: 240, kinds: ["isakmp", "esp"],
                       forwarderCPU: 0, senderCPU: 1, backend: "packet-socket", senderNice: Int(ForwardingLoop<PacketSocketIO, PacketSocketIO>.defaultThreadNice))
        }
    }

    public struct Measurement: Codable, Sendable, Hashable {
        public var variant: String
        public var kind: String
        public var run: Int
        public var seconds: Double
        public var sent: Int
        public var notSent: Int
        public var delivered: Int
        public var perGateway: [Int]
        public var offeredPPS: Double
        public var deliveredPPS: Double
        public var loss: Double
        /// The forwarder kept up with everything offered: the rate is the sender's, not the forwarder's.
        public var senderBound: Bool
        /// `slb run` only: its utime + stime per million delivered packets.
        public var forwarderCPUSecondsPerMpkt: Double?
        /// All CPUs' softirq time per million delivered packets (where the kernel forwards).
        public var softirqSecondsPerMpkt: Double?
        /// `slb run` only: its exit report's `slb.dataplane.*` lines (received, kernel-dropped, drops by reason).
        public var forwarderReport: [String]?
        /// The sender's sending thread: seconds on a CPU and seconds runnable but waiting for one.
        public var senderRunSeconds: Double?
        public var senderRunQueueSeconds: Double?
        /// Share of the sender's runnable time spent waiting: what other tasks took from it.
        public var senderWaitShare: Double? {
            guard let run = senderRunSeconds, let wait = senderRunQueueSeconds, run + wait > 0 else { return nil }
            return wait / (run + wait)
        }
    }

    public struct Summary: Codable, Sendable, Hashable {
        public var variant: String
        public var kind: String
        public var runs: Int
        public var medianDeliveredPPS: Double
        public var medianOfferedPPS: Double
        public var medianLoss: Double
        public var senderBoundRuns: Int
        /// Median of this variant's rate over `slb run`'s in the same run (paired, interleaved).
        public var ratioToSLB: Double
        public var medianForwarderCPUSecondsPerMpkt: Double?
        public var medianSoftirqSecondsPerMpkt: Double?
        /// Median share of the sender's runnable time spent in the run queue (0: had its CPU).
        public var medianSenderWaitShare: Double?
    }

    public struct Document: Codable, Sendable {
        public var run: RunInfo
        public var parameters: Parameters
        public var measurements: [Measurement]
        public var summary: [Summary]
        public var notes: [String]
    }

    public static let slbVariant = "slb run"

    public let parameters: Parameters
    public let farmText: String
    public let slbPath: String
    public let output: BenchOutput
    public let smoke: Bool

    public init(parameters: Parameters, farmText: String, slbPath: String, output: BenchOutput, smoke: Bool) throws {
        guard NetworkNamespace.isAvailable else { throw BenchError("forwarding needs root and network namespaces") }
        guard FileManager.default.isExecutableFile(atPath: slbPath) else {
            throw BenchError("no slb binary at \(slbPath) (build it: swift build -c release --product slb; or pass --slb PATH)")
        }
        guard (1...100).contains(parameters.runs), parameters.seconds > 0, parameters.seconds <= 60,
              (1...TrafficPlan.maximumClients).contains(parameters.clients),
              parameters.kinds.allSatisfy({ TrafficPlan.Only(rawValue: $0) != nil }) else {
            throw BenchError("forwarding: runs 1...100, seconds ≤ 60, clients ≤ \(TrafficPlan.maximumClients), kinds isakmp|esp")
        }
        self.parameters = parameters
        self.farmText = farmText
        self.slbPath = slbPath
        self.output = output
        self.smoke = smoke
    }

    public func run() throws -> Document {
        let runner = SystemCommandRunner()
        let id = LabID("b\(getpid() % 100_000)") ?? LabID.standard
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("vslb-bench-\(id)")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: work) }
        let controller = LabController(store: LabStateStore(directory: work.appendingPathComponent("state").path))
        let plan = try LabPlan(id: id, gatewayCount: 3)
        output.progress("forwarding: building lab \(id) (3 gateways)")
        _ = try controller.up(plan, owner: ProcessIdentity.current, handOver: true)
        defer {
            output.progress("forwarding: removing lab \(id)")
            try? controller.down(plan.id)
        }
        let farm = work.appendingPathComponent("farm.cfg")
        try farmText.write(to: farm, atomically: true, encoding: .utf8)
        let counters = work.appendingPathComponent("counters.nft")
        try GatewayCounters.ruleset(client: LabAddressPlan.clientLocalRoutes + [IPv4Network(address: LabAddressPlan.clientHost, mask: .host)])
            .write(to: counters, atomically: true, encoding: .utf8)

        // Permanent neighbour entries for the gateways in the slb namespace: the benchmark
        // measures forwarding, not ARP. (Without them, slb run under full load sometimes counted
        // a gateway's frames as no-neighbour for a whole run: see Bench/README.md.)
        for n in plan.gatewayNumbers {
            guard let address = plan.gatewayAddress(n) else { continue }
            try ForwardingScenario.require(runner, ["ip", "-n", plan.slbNamespace, "neigh", "replace", address.description,
                                                    "lladdr", plan.gatewayMAC(n).description, "dev", LabPlan.gatewayBridge,
                                                    "nud", "permanent"])
        }

        let variants = [ForwardingScenario.slbVariant] + KernelBaseline.allCases.map(\.rawValue)
        var measurements: [Measurement] = []
        let total = parameters.runs * parameters.kinds.count * variants.count
        for run in 0..<parameters.runs {
            for kind in parameters.kinds {
                for variant in variants {
                    output.progress("forwarding: \(measurements.count + 1)/\(total) run \(run + 1) \(kind) via \(variant)")
                    let m = try measure(variant: variant, kind: kind, run: run, plan: plan, runner: runner,
                                        farm: farm, counters: counters, work: work)
                    output.progress(String(format: "forwarding:   %.0f pps delivered of %.0f offered, loss %.1f %%%@",
                                           m.deliveredPPS, m.offeredPPS, m.loss * 100, m.senderBound ? " (sender-bound)" : ""))
                    measurements.append(m)
                }
            }
        }
        let document = Document(run: RunInfo(scenario: "forwarding", smoke: smoke), parameters: parameters,
                                measurements: measurements, summary: ForwardingScenario.summarise(measurements, variants: variants,
                                                                                                   kinds: parameters.kinds),
                                notes: ForwardingScenario.notes)
        try output.write(document, name: "forwarding", chart: ForwardingScenario.chart(document))
        return document
    }

    static let notes = [
        "One forwarding worker: slb run pinned with taskset to the forwarder CPU; slb traffic --fast pinned to the sender CPU at the forwarding thread's nice (-10), so the host's other tasks do not crowd the sender's CPU in the slb rounds only.",
        "The gateways count the benchmark's frames at netdev ingress and drop them there: no UDP no-port or ICMP unreachable work in the gateways' stacks on the forwarder's (slb) or sender's (kernel baselines) CPU.",
        "sender waited: median share of the sending thread's runnable time spent in the run queue (/proc/thread-self/schedstat); a high share means the host, not the forwarder, set the offered rate.",
        "Kernel baselines forward in softirq on whichever CPU receives the frame (veth: usually the sender's), so their CPU cost is given as system-wide softirq time, not per process.",
        "senderBound: loss < 1 %, i.e. the forwarder took everything the sender offered; the rate is then a lower bound for the forwarder.",
        "nftlb is not measured: it generates the same jhash DNAT ruleset as nft-dnat and does not balance ESP (testbed.md).",
    ]

    private func measure(variant: String, kind: String, run: Int, plan: LabPlan, runner: SystemCommandRunner,
                         farm: URL, counters: URL, work: URL) throws -> Measurement {
        for n in plan.gatewayNumbers {
            try ForwardingScenario.require(runner, ["ip", "netns", "exec", plan.gatewayNamespace(n), "nft", "-f", counters.path])
        }
        var forwarder: Process?
        var baseline: KernelBaseline?
        let log = work.appendingPathComponent("slb-\(run)-\(kind).log")
        if variant == ForwardingScenario.slbVariant {
            forwarder = try SLBProcess.start(slbPath: slbPath, plan: plan, farm: farm, log: log, cpu: parameters.forwarderCPU,
                                              backend: parameters.backend, seconds: Int(parameters.seconds) + 30)
        } else if let kernel = KernelBaseline(rawValue: variant) {
            baseline = kernel
            let file = work.appendingPathComponent("\(kernel.rawValue).nft")
            try kernel.ruleset(plan: plan, vip: LabAddressPlan.vip).write(to: file, atomically: true, encoding: .utf8)
            try ForwardingScenario.require(runner, ["ip", "netns", "exec", plan.slbNamespace, "nft", "-f", file.path])
        }
        defer {
            if let forwarder, forwarder.isRunning { forwarder.terminate() }
            forwarder?.waitUntilExit()
            if let baseline {
                _ = try? runner.run(["ip", "netns", "exec", plan.slbNamespace, "nft", "delete", "table", baseline.family, KernelBaseline.table])
                _ = try? runner.run(["ip", "netns", "exec", plan.slbNamespace, "conntrack", "-F"])
            }
        }

        let cpuBefore = forwarder.flatMap { Measure.cpuSeconds(pid: $0.processIdentifier) }
        let softBefore = Measure.softirqSeconds()
        let nice = parameters.senderNice.map { ["nice", "-n", "\($0)"] } ?? []
        let traffic = try runner.run(["ip", "netns", "exec", plan.clientNamespace] + nice + ["taskset", "-c", "\(parameters.senderCPU)",
                                      slbPath, "traffic", "--clients", "\(parameters.clients)", "--rate", "0", "--fast",
                                      "--only", kind, "--duration", "\(parameters.seconds)", "--json"])
        guard traffic.succeeded, let report = try? JSONDecoder().decode(TrafficReport.self, from: Data(traffic.output.utf8)) else {
            throw BenchError("slb traffic failed: \(traffic.errorOutput)")
        }
        usleep(300_000)   // frames still in the rings and queues
        let cpuAfter = forwarder.flatMap { Measure.cpuSeconds(pid: $0.processIdentifier) }
        let softAfter = Measure.softirqSeconds()
        var perGateway: [Int] = []
        for n in plan.gatewayNumbers {
            let listing = try runner.run(["ip", "netns", "exec", plan.gatewayNamespace(n), "nft", "list", "table", "netdev", KernelBaseline.table])
            perGateway.append(GatewayCounters.packets(inListing: listing.output))
        }
        var forwarderReport: [String]?
        if let forwarder {
            forwarder.terminate()
            forwarder.waitUntilExit()
            let text = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
            forwarderReport = text.split(separator: "\n").filter { $0.hasPrefix("slb.dataplane.") }.map(String.init)
        }
        let delivered = perGateway.reduce(0, +)
        let sent = report.totalSent
        let seconds = max(report.elapsedSeconds, 1e-6)
        let loss = sent > 0 ? max(0, Double(sent - delivered) / Double(sent)) : 0
        let perMpkt: (Double?, Double?) -> Double? = { before, after in
            guard let before, let after, delivered > 0 else { return nil }
            return (after - before) / Double(delivered) * 1e6
        }
        return Measurement(variant: variant, kind: kind, run: run, seconds: seconds, sent: sent, notSent: report.totalNotSent,
                           delivered: delivered, perGateway: perGateway, offeredPPS: Double(sent) / seconds,
                           deliveredPPS: Double(delivered) / seconds, loss: loss, senderBound: sent > 0 && loss < 0.01,
                           forwarderCPUSecondsPerMpkt: perMpkt(cpuBefore, cpuAfter),
                           softirqSecondsPerMpkt: perMpkt(softBefore, softAfter), forwarderReport: forwarderReport,
                           senderRunSeconds: report.threadRunSeconds, senderRunQueueSeconds: report.threadRunQueueSeconds)
    }

    static func require(_ runner: SystemCommandRunner, _ argv: [String]) throws {
        let result = try runner.run(argv)
        guard result.succeeded else { throw BenchError("`\(argv.joined(separator: " "))` failed: \(result.errorOutput)") }
    }

    static func summarise(_ all: [Measurement], variants: [String], kinds: [String]) -> [Summary] {
        var out: [Summary] = []
        for kind in kinds {
            let slb = Dictionary(all.filter { $0.kind == kind && $0.variant == slbVariant }.map { ($0.run, $0.deliveredPPS) },
                                 uniquingKeysWith: { a, _ in a })
            for variant in variants {
                let rows = all.filter { $0.kind == kind && $0.variant == variant }
                guard !rows.isEmpty else { continue }
                let ratios = rows.compactMap { row in slb[row.run].flatMap { $0 > 0 ? row.deliveredPPS / $0 : nil } }
                let cpu = rows.compactMap(\.forwarderCPUSecondsPerMpkt)
                let soft = rows.compactMap(\.softirqSecondsPerMpkt)
                let waited = rows.compactMap(\.senderWaitShare)
                out.append(Summary(variant: variant, kind: kind, runs: rows.count,
                                   medianDeliveredPPS: Statistics.median(rows.map(\.deliveredPPS)),
                                   medianOfferedPPS: Statistics.median(rows.map(\.offeredPPS)),
                                   medianLoss: Statistics.median(rows.map(\.loss)),
                                   senderBoundRuns: rows.filter(\.senderBound).count,
                                   ratioToSLB: Statistics.median(ratios),
                                   medianForwarderCPUSecondsPerMpkt: cpu.isEmpty ? nil : Statistics.median(cpu),
                                   medianSoftirqSecondsPerMpkt: soft.isEmpty ? nil : Statistics.median(soft),
                                   medianSenderWaitShare: waited.isEmpty ? nil : Statistics.median(waited)))
            }
        }
        return out
    }

    public static func chart(_ document: Document) -> BarChart {
        BarChart(title: "Forwarding through the slb namespace (median delivered pps, one forwarding CPU)", unit: "pps",
                 bars: document.summary.enumerated().map { _, s in
                     .init(label: "\(s.kind): \(s.variant)", value: s.medianDeliveredPPS,
                           group: document.parameters.kinds.firstIndex(of: s.kind) ?? 0,
                           note: s.senderBoundRuns > 0 ? "(\(s.senderBoundRuns)/\(s.runs) sender-bound)" : "")
                 })
    }

    public static func table(_ document: Document) -> String {
        var table = TextTable(["packets", "forwarder", "runs", "delivered pps", "offered pps", "loss", "vs slb",
                               "slb CPU-s/Mpkt", "softirq s/Mpkt", "sender-bound", "sender waited"])
        for s in document.summary {
            table.add([s.kind, s.variant, "\(s.runs)", Format.grouped(Int(s.medianDeliveredPPS)), Format.grouped(Int(s.medianOfferedPPS)),
                       Format.percent(s.medianLoss, 1), Format.fixed(s.ratioToSLB, 2),
                       s.medianForwarderCPUSecondsPerMpkt.map { Format.fixed($0, 2) } ?? "-",
                       s.medianSoftirqSecondsPerMpkt.map { Format.fixed($0, 2) } ?? "-", "\(s.senderBoundRuns)/\(s.runs)",
                       s.medianSenderWaitShare.map { Format.percent($0, 0) } ?? "-"])
        }
        return table.text
    }
}
