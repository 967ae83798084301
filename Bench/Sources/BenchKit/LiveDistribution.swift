import Dataplane
import Foundation
import Lab
import SLBConfig
import SLBWire
import Traffic

/// The live half of `slb-bench distribution --live`: real packets from up to 350 lab clients
/// (`Traffic`, ISAKMP + NAT-T + raw ESP) through `slb run` to three gateways; shares and
/// sticky consistency are counted from what each gateway's sockets received.
public struct LiveDistribution {
    public struct Parameters: Codable, Sendable, Hashable {
        public var clients: Int
        public var rate: Int
        public var seconds: Double
        public var nattShare: Double
        public static let standard = Parameters(clients: 350, rate: 2_000, seconds: 10, nattShare: 0.3)
        public static let smoke = Parameters(clients: 60, rate: 600, seconds: 2, nattShare: 0.3)
    }

    public struct Result: Codable, Sendable, Hashable {
        public var parameters: Parameters
        public var sent: Int
        public var received: Int
        public var reals: [DistributionScenario.RealShare]
        public var clientsSeen: Int
        public var consistentClients: Int
        public var stickyConsistency: Double
        public var maxDeviation: Double
        public var jainIndex: Double
    }

    /// Lab gateway n is 198.51.100.(10+n); other addresses are not in the lab.
    static func gatewayNumber(_ address: IPv4Address) -> Int? {
        guard let first = LabAddressPlan.gateway(1), address >= first else { return nil }
        let n = Int(address.value - first.value) + 1
        return LabAddressPlan.gateway(n) == address ? n : nil
    }

    let parameters: Parameters
    let farmText: String
    let configuration: SLBConfiguration
    let slbPath: String
    let output: BenchOutput

    public init(parameters: Parameters, farmText: String, configuration: SLBConfiguration, slbPath: String,
                output: BenchOutput) throws {
        guard NetworkNamespace.isAvailable else { throw BenchError("--live needs root and network namespaces") }
        guard FileManager.default.isExecutableFile(atPath: slbPath) else { throw BenchError("no slb binary at \(slbPath)") }
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

    public func run() throws -> Result {
        let reals = configuration.farms.flatMap(\.reals)
        let gatewayCount = reals.compactMap { LiveDistribution.gatewayNumber($0.address) }.max() ?? 1
        let id = LabID("l\(getpid() % 100_000)") ?? LabID.standard
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("vslb-live-\(id)")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: work) }
        let controller = LabController(store: LabStateStore(directory: work.appendingPathComponent("state").path))
        let plan = try LabPlan(id: id, gatewayCount: gatewayCount)
        output.progress("distribution --live: building lab \(id) (\(gatewayCount) gateways)")
        _ = try controller.up(plan, owner: ProcessIdentity.current, handOver: true)
        defer {
            output.progress("distribution --live: removing lab \(id)")
            try? controller.down(plan.id)
        }
        let vip = LabAddressPlan.vip
        var sinks: [GatewaySink] = []
        for n in plan.gatewayNumbers {
            sinks.append(try NetworkNamespace.run(plan.gatewayNamespace(n)) { try GatewaySink(vip: vip) })
        }
        let farm = work.appendingPathComponent("farm.cfg")
        try farmText.write(to: farm, atomically: true, encoding: .utf8)
        let slb = try SLBProcess.start(slbPath: slbPath, plan: plan, farm: farm, log: work.appendingPathComponent("slb.log"),
                                       cpu: nil, backend: "packet-socket", seconds: Int(parameters.seconds) + 30)
        defer {
            if slb.isRunning { slb.terminate() }
            slb.waitUntilExit()
        }
        let traffic = try TrafficPlan(clients: parameters.clients, rate: parameters.rate, duration: parameters.seconds,
                                      vip: vip, nattShare: parameters.nattShare, esp: true, seed: 2026)
        let generator = try NetworkNamespace.run(plan.clientNamespace) { try TrafficGenerator(plan: traffic) }
        output.progress("distribution --live: \(parameters.clients) clients, \(parameters.rate) pps for \(parameters.seconds) s")
        let report = generator.run()
        Thread.sleep(forTimeInterval: 0.3)

        var gatewaysOf: [IPv4Address: Set<Int>] = [:]
        var received = 0
        for (index, sink) in sinks.enumerated() {
            for source in sink.drain() {
                received += 1
                gatewaysOf[source, default: []].insert(index)
            }
        }
        let consistent = gatewaysOf.values.filter { $0.count == 1 }.count
        let totalWeight = Double(reals.reduce(0) { $0 + Int($1.weight) })
        var shares: [DistributionScenario.RealShare] = []
        let placedClients = gatewaysOf.values.filter { $0.count == 1 }
        for real in reals {
            let index = (LiveDistribution.gatewayNumber(real.address) ?? 0) - 1
            let count = placedClients.filter { $0.contains(index) }.count
            let target = totalWeight > 0 ? Double(real.weight) / totalWeight : 0
            shares.append(.init(real: real.address.description, weight: Int(real.weight), target: target, clients: count,
                                share: placedClients.isEmpty ? 0 : Double(count) / Double(placedClients.count)))
        }
        return Result(parameters: parameters, sent: report.totalSent, received: received, reals: shares,
                      clientsSeen: gatewaysOf.count, consistentClients: consistent,
                      stickyConsistency: gatewaysOf.isEmpty ? 0 : Double(consistent) / Double(gatewaysOf.count),
                      maxDeviation: shares.map { abs($0.share - $0.target) }.max() ?? 0,
                      jainIndex: Statistics.jainIndex(shares.filter { $0.target > 0 }.map { $0.share / $0.target }))
    }
}
