import SLBConfig
import SLBCore
import SLBWire

/// `slb-bench distribution`: how the IOS predictors split a churning client population across
/// a farm's reals, whether sticky groups keep each client's ISAKMP, NAT-T and ESP on one real,
/// and what a decision and a client cost. In-process: a real `Engine`, simulated time.
public struct DistributionScenario {
    public struct Parameters: Codable, Sendable, Hashable {
        public var farm: String
        public var clients: Int
        public var seed: UInt64
        /// Clients arrive uniformly over this window (seconds)...
        public var arrivalWindow: Int
        /// ...stay connected for a uniform draw from this range...
        public var lifetime: ClosedRange<Int>
        /// ...and send a data packet every `dataInterval` seconds (drawn per client).
        public var dataInterval: ClosedRange<Int>
        /// Share of clients behind a NAT (UDP 4500 instead of ESP).
        public var nattShare: Double
        /// Every `ikeEvery`-th tick also carries an ISAKMP packet (DPD / rekey traffic).
        public var ikeEvery: Int
        public var timingRepeats: Int

        public static func standard(farm: String) -> Parameters {
            Parameters(farm: farm, clients: 100_000, seed: 2026, arrivalWindow: 3_600, lifetime: 300...3_600,
                       dataInterval: 10...30, nattShare: 0.3, ikeEvery: 6, timingRepeats: 5)
        }

        public static func smoke(farm: String) -> Parameters {
            Parameters(farm: farm, clients: 2_000, seed: 2026, arrivalWindow: 300, lifetime: 60...300,
                       dataInterval: 10...30, nattShare: 0.3, ikeEvery: 6, timingRepeats: 1)
        }
    }

    public struct RealShare: Codable, Sendable, Hashable {
        public var real: String
        public var weight: Int
        public var target: Double
        public var clients: Int
        public var share: Double
    }

    public struct VariantResult: Codable, Sendable, Hashable {
        public var variant: String
        public var predictor: String
        public var sticky: String
        public var packets: Int
        public var forwarded: Int
        public var dropped: Int
        public var reals: [RealShare]
        /// Largest |share − target| over the reals, in share units (0.01 = one percentage point).
        public var maxDeviation: Double
        /// Jain's index of share/target per real.
        public var jainIndex: Double
        /// Clients whose every forwarded packet (ISAKMP, NAT-T, ESP) went to one real.
        public var consistentClients: Int
        public var stickyConsistency: Double
        public var newFlowNanoseconds: Double
        public var establishedNanoseconds: Double
        public var peakConnections: Int
        public var peakStickyObjects: Int
        public var peakTableBytes: Int
        public var peakClientsWithState: Int
        public var bytesPerClient: Double
        public var bytesPerConnection: Double
        public var bytesPerStickyObject: Double
        public var seconds: Double
    }

    public struct Document: Codable, Sendable {
        public var run: RunInfo
        public var parameters: Parameters
        public var variants: [VariantResult]
        /// `--live`: `slb client` tunnels through `slb run` in the lab, placement read at the gateways.
        public var live: LiveDistribution.Result?
    }

    public let parameters: Parameters
    public let configuration: SLBConfiguration
    public let output: BenchOutput
    public let smoke: Bool
    public var live: LiveDistribution?

    public init(parameters: Parameters, configuration: SLBConfiguration, output: BenchOutput, smoke: Bool) throws {
        guard parameters.clients >= 1, parameters.clients <= SyntheticClients.benchmarking else {
            throw BenchError("--clients must be 1...\(SyntheticClients.benchmarking) (RFC 2544 benchmarking range)")
        }
        self.parameters = parameters
        self.configuration = configuration
        self.output = output
        self.smoke = smoke
    }

    /// The variants: both IOS predictors, each with the farm's sticky group shared by its
    /// vservers and with per-vserver sticky (group 0), which shows why IPsec needs the group.
    public static func variants(of base: SLBConfiguration) -> [(name: String, predictor: Predictor, group: Bool, configuration: SLBConfiguration)] {
        var out: [(String, Predictor, Bool, SLBConfiguration)] = []
        for predictor in [Predictor.roundRobin, .leastConns] {
            for group in [true, false] {
                var configuration = base
                for i in configuration.farms.indices { configuration.farms[i].predictor = predictor }
                for i in configuration.vservers.indices {
                    var sticky = configuration.vservers[i].sticky ?? StickySettings(seconds: 3_600, group: 0)
                    if sticky.seconds == 0 { sticky.seconds = 3_600 }
                    sticky.group = group ? (sticky.group == 0 ? 7 : sticky.group) : 0
                    configuration.vservers[i].sticky = sticky
                }
                configuration.entries = TableLimits(connections: 8_000_000, sticky: 4_000_000)
                let name = (predictor == .roundRobin ? "WRR" : "WLC") + (group ? ", sticky group" : ", per-vserver sticky")
                out.append((name, predictor, group, configuration))
            }
        }
        return out
    }

    public func run() throws -> Document {
        let vips = Set(configuration.vservers.filter(\.inService).map(\.address))
        guard let vip = vips.sorted().first else { throw BenchError("\(parameters.farm): no vserver in service") }
        var results: [VariantResult] = []
        for variant in DistributionScenario.variants(of: configuration) {
            output.progress("distribution: \(variant.name), \(Format.grouped(parameters.clients)) clients")
            results.append(simulate(name: variant.name, predictor: variant.predictor, group: variant.group,
                                    configuration: variant.configuration, vip: vip))
        }
        let document = Document(run: RunInfo(scenario: "distribution", smoke: smoke), parameters: parameters, variants: results,
                                live: try live?.run())
        try output.write(document, name: "distribution", chart: DistributionScenario.chart(document))
        return document
    }

    private struct Population {
        var arrival: [Int32]
        var leave: [Int32]
        var interval: [Int32]
        var nattPort: [UInt16]   // 0: not behind a NAT
    }

    private func population() -> Population {
        var random = BenchRandom(seed: parameters.seed)
        let n = parameters.clients
        var p = Population(arrival: [], leave: [], interval: [], nattPort: [])
        p.arrival.reserveCapacity(n); p.leave.reserveCapacity(n); p.interval.reserveCapacity(n); p.nattPort.reserveCapacity(n)
        for _ in 0..<n {
            let arrival = random.next(in: 0...(parameters.arrivalWindow - 1))
            p.arrival.append(Int32(arrival))
            p.leave.append(Int32(arrival + random.next(in: parameters.lifetime)))
            p.interval.append(Int32(random.next(in: parameters.dataInterval)))
            p.nattPort.append(random.unit() < parameters.nattShare ? UInt16(random.next(in: 49_152...65_535)) : 0)
        }
        return p
    }

    private func simulate(name: String, predictor: Predictor, group: Bool, configuration: SLBConfiguration,
                          vip: IPv4Address) -> VariantResult {
        let started = Measure.seconds()
        let engine = Engine(configuration: configuration, hashSeed: parameters.seed)
        let population = population()
        let n = parameters.clients
        let end = parameters.arrivalWindow + parameters.lifetime.upperBound + 1
        var wheel = [[Int32]](repeating: [], count: end + 1)
        for client in 0..<n { wheel[Int(population.arrival[client])].append(Int32(client)) }
        var ticks = [Int32](repeating: 0, count: n)
        var realOf = [Int32](repeating: -1, count: n)
        var split = [Bool](repeating: false, count: n)
        var packets = 0, forwarded = 0, dropped = 0
        var peak = (connections: 0, sticky: 0, bytes: 0, clients: 0)
        var peakFootprint = engine.tableFootprint
        let stateSeconds = Int(configuration.vservers.map(\.idle).max() ?? 3_600)
            + Int(configuration.vservers.compactMap { $0.sticky.map { Int($0.seconds) } }.max() ?? 0)
        let origin = MonotonicTime(nanoseconds: 1_000_000_000)

        func record(_ client: Int, _ verdict: Verdict) {
            packets += 1
            switch verdict {
            case .forward(let real):
                forwarded += 1
                if realOf[client] < 0 { realOf[client] = real.index } else if realOf[client] != real.index { split[client] = true }
            case .drop, .pass:
                dropped += 1
            }
        }

        for second in 0...end {
            let now = origin + .seconds(UInt64(second))
            let due = wheel[second]
            wheel[second] = []
            for entry in due {
                let client = Int(entry)
                let address = SyntheticClients.address(client)
                let tick = Int(ticks[client])
                ticks[client] += 1
                if tick % parameters.ikeEvery == 0 {
                    record(client, engine.decide(.udp(address, 500, to: vip, 500), now: now))
                }
                let port = population.nattPort[client]
                if port != 0 {
                    record(client, engine.decide(.udp(address, port, to: vip, 4500), now: now))
                } else {
                    record(client, engine.decide(.esp(address, to: vip), now: now))
                }
                let next = second + Int(population.interval[client])
                if next < Int(population.leave[client]) && next <= end { wheel[next].append(entry) }
            }
            _ = engine.expire(now: now)
            if second % 60 == 0 {
                let footprint = engine.tableFootprint
                let bytes = footprint.connectionTableBytes + footprint.stickyTableBytes
                if footprint.connections > peak.connections {
                    var withState = 0
                    for client in 0..<n where Int(population.arrival[client]) <= second
                        && second < Int(population.leave[client]) + stateSeconds { withState += 1 }
                    peak = (footprint.connections, footprint.sticky, bytes, withState)
                    peakFootprint = footprint
                }
            }
        }

        // Shares: each client counts once, on the real its first packet went to.
        let reals = configuration.farms.flatMap(\.reals)
        let totalWeight = Double(reals.reduce(0) { $0 + Int($1.weight) })
        var perReal = [Int](repeating: 0, count: reals.count)
        var placed = 0
        for client in 0..<n where realOf[client] >= 0 && Int(realOf[client]) < reals.count {
            perReal[Int(realOf[client])] += 1
            placed += 1
        }
        var shares: [RealShare] = []
        for (i, real) in reals.enumerated() {
            let target = totalWeight > 0 ? Double(real.weight) / totalWeight : 0
            let share = placed > 0 ? Double(perReal[i]) / Double(placed) : 0
            shares.append(RealShare(real: real.address.description, weight: Int(real.weight), target: target,
                                    clients: perReal[i], share: share))
        }
        let deviation = shares.map { abs($0.share - $0.target) }.max() ?? 0
        let jain = Statistics.jainIndex(shares.filter { $0.target > 0 }.map { $0.share / $0.target })
        let consistent = (0..<n).filter { realOf[$0] >= 0 && !split[$0] }.count
        let timing = decisionTimes(configuration: configuration, vip: vip)
        return VariantResult(
            variant: name, predictor: predictor == .roundRobin ? "roundrobin" : "leastconns",
            sticky: group ? "group" : "per-vserver", packets: packets, forwarded: forwarded, dropped: dropped,
            reals: shares, maxDeviation: deviation, jainIndex: jain, consistentClients: consistent,
            stickyConsistency: placed > 0 ? Double(consistent) / Double(placed) : 0,
            newFlowNanoseconds: timing.new, establishedNanoseconds: timing.established,
            peakConnections: peak.connections, peakStickyObjects: peak.sticky, peakTableBytes: peak.bytes,
            peakClientsWithState: peak.clients,
            bytesPerClient: peak.clients > 0 ? Double(peak.bytes) / Double(peak.clients) : 0,
            bytesPerConnection: 0, bytesPerStickyObject: 0, seconds: Measure.seconds() - started)
            .withEntryCosts(peakFootprint)
    }

    /// Decision time on a fresh engine: the first ISAKMP packet of each client (sticky miss,
    /// predictor, two inserts), then the same flows again in a scattered order (lookup only).
    /// Timed over whole loops, never per call (a clock read costs as much as a lookup).
    private func decisionTimes(configuration: SLBConfiguration, vip: IPv4Address) -> (new: Double, established: Double) {
        let count = min(parameters.clients, 100_000)
        var newTimes: [Double] = [], establishedTimes: [Double] = []
        for repeat_ in 0..<max(1, parameters.timingRepeats) {
            let engine = Engine(configuration: configuration, hashSeed: parameters.seed &+ UInt64(repeat_))
            var now = MonotonicTime(nanoseconds: 1_000_000_000)
            var sink = 0
            var start = Measure.seconds()
            for client in 0..<count {
                now.nanoseconds &+= 1_000
                if case .forward(let real) = engine.decide(.udp(SyntheticClients.address(client), 500, to: vip, 500), now: now) {
                    sink &+= Int(real.index)
                }
            }
            newTimes.append((Measure.seconds() - start) / Double(count) * 1e9)
            start = Measure.seconds()
            var cursor = 0
            for _ in 0..<count {
                now.nanoseconds &+= 1_000
                if case .forward(let real) = engine.decide(.udp(SyntheticClients.address(cursor), 500, to: vip, 500), now: now) {
                    sink &+= Int(real.index)
                }
                cursor = (cursor + 7_919) % count
            }
            establishedTimes.append((Measure.seconds() - start) / Double(count) * 1e9)
            if sink == -1 { output.progress("unreachable") }
        }
        return (Statistics.median(newTimes), Statistics.median(establishedTimes))
    }

    public static func chart(_ document: Document) -> BarChart {
        var bars: [BarChart.Bar] = []
        for (group, variant) in document.variants.enumerated() {
            for real in variant.reals {
                bars.append(.init(label: "\(variant.variant): \(real.real)", value: real.share * 100, group: group,
                                  note: "(target \(Format.fixed(real.target * 100, 1)))"))
            }
        }
        return BarChart(title: "Client share per real, \(Format.grouped(document.parameters.clients)) clients", unit: "%", bars: bars)
    }

    public static func table(_ document: Document) -> String {
        var table = TextTable(["variant", "max dev (pp)", "Jain", "sticky consistency", "new ns", "estab ns", "B/client"])
        for v in document.variants {
            table.add([v.variant, Format.fixed(v.maxDeviation * 100, 2), Format.fixed(v.jainIndex, 5),
                       Format.percent(v.stickyConsistency), Format.fixed(v.newFlowNanoseconds, 0),
                       Format.fixed(v.establishedNanoseconds, 0), Format.fixed(v.bytesPerClient, 0)])
        }
        var shares = TextTable(["variant", "real", "weight", "target", "clients", "share"])
        for v in document.variants {
            for r in v.reals {
                shares.add([v.variant, r.real, "\(r.weight)", Format.percent(r.target), Format.grouped(r.clients), Format.percent(r.share)])
            }
        }
        var text = table.text + "\n\n" + shares.text
        if let live = document.live {
            var liveTable = TextTable(["live (slb client → slb run → slb gateway)", "weight", "target", "clients", "share"])
            for r in live.reals {
                liveTable.add([r.real, "\(r.weight)", Format.percent(r.target), Format.grouped(r.clients), Format.percent(r.share)])
            }
            text += "\n\n" + liveTable.text
                + "\nlive: \(live.established)/\(live.parameters.clients) tunnels up, \(live.pingOK) answered every ping, "
                + "\(live.nattTunnels) NAT-T; max dev \(Format.fixed(live.maxDeviation * 100, 2)) pp, Jain \(Format.fixed(live.jainIndex, 5)); "
                + "\(live.consistentClients) of \(live.clientsSeen) clients with IKE and ESP SAs on one gateway "
                + "(\(Format.percent(live.stickyConsistency))); gateways decrypted \(live.espDecrypted) ESP for \(live.pingsSent) pings and dropped \(live.espDroppedAtGateways) (esp.*); "
                + "IKE setup median \(Format.fixed(live.setupMedianMilliseconds, 0)) ms, p95 \(Format.fixed(live.setupP95Milliseconds, 0)) ms"
        }
        return text
    }
}

extension DistributionScenario.VariantResult {
    func withEntryCosts(_ footprint: TableFootprint) -> Self {
        var copy = self
        copy.bytesPerConnection = footprint.bytesPerConnection
        copy.bytesPerStickyObject = footprint.bytesPerStickyObject
        return copy
    }
}
