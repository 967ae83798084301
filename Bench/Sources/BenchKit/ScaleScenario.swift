import SLBConfig
import SLBCore
import SLBWire

/// `slb-bench scale`: one million sticky clients (two million connections: ISAKMP + ESP each)
/// in one engine: insert and lookup rates, memory (RSS delta and the tables' own footprint),
/// how long expiring 100,000 connections takes, and how long a reload that renumbers the reals
/// pauses forwarding with `reloadClients` clients (`ReloadPause`: remapped vs exported + imported).
public struct ScaleScenario {
    public struct Parameters: Codable, Sendable, Hashable {
        public var farm: String
        public var clients: Int
        public var purgeClients: Int
        public var lookups: Int
        public var seed: UInt64
        /// Sticky clients in the reload measurement (200,000 connections by default).
        public var reloadClients = 100_000

        public static func standard(farm: String) -> Parameters {
            Parameters(farm: farm, clients: 1_000_000, purgeClients: 50_000, lookups: 4_000_000, seed: 2026)
        }
        public static func smoke(farm: String) -> Parameters {
            Parameters(farm: farm, clients: 20_000, purgeClients: 2_000, lookups: 40_000, seed: 2026, reloadClients: 2_000)
        }
    }

    public struct Result: Codable, Sendable, Hashable {
        public var clients: Int
        public var connections: Int
        public var stickyObjects: Int
        public var insertSeconds: Double
        /// New clients per second (each: sticky miss, predictor, sticky + 2 connection inserts).
        public var clientsPerSecond: Double
        public var lookups: Int
        public var lookupSeconds: Double
        public var lookupsPerSecond: Double
        public var rssDeltaBytes: Int
        public var tableBytes: Int
        public var bytesPerConnection: Double
        public var bytesPerStickyObject: Double
        public var rssBytesPerClient: Double
        public var purgedConnections: Int
        public var purgeSeconds: Double
        public var connectionsAfterPurge: Int
        public var forwardedAll: Bool
        public var reload: ReloadPause.Result?
    }

    public struct Document: Codable, Sendable {
        public var run: RunInfo
        public var parameters: Parameters
        public var result: Result
    }

    public let parameters: Parameters
    public let configuration: SLBConfiguration
    public let output: BenchOutput
    public let smoke: Bool

    public init(parameters: Parameters, configuration: SLBConfiguration, output: BenchOutput, smoke: Bool) throws {
        guard parameters.clients >= 1, parameters.clients <= SyntheticClients.capacity,
              parameters.purgeClients >= 1, parameters.purgeClients < parameters.clients else {
            throw BenchError("scale: need 1 ≤ purge clients < clients ≤ \(SyntheticClients.capacity)")
        }
        var configuration = configuration
        // Room for the population whatever the farm file caps (IOS `ip slb entries`).
        configuration.entries = TableLimits(connections: max(configuration.entries.connections, 2 * parameters.clients),
                                            sticky: max(configuration.entries.sticky, parameters.clients))
        self.parameters = parameters
        self.configuration = configuration
        self.output = output
        self.smoke = smoke
    }

    public func run() throws -> Document {
        guard let isakmp = configuration.vservers.first(where: { $0.inService && $0.service == .udp(port: 500) }),
              configuration.vservers.contains(where: { $0.inService && $0.service == .esp && $0.address == isakmp.address }) else {
            throw BenchError("\(parameters.farm): scale needs an ISAKMP (udp 500) and an ESP vserver on one VIP")
        }
        let vip = isakmp.address
        let n = parameters.clients
        let rssBefore = Measure.residentBytes()
        let engine = Engine(configuration: configuration, hashSeed: parameters.seed)
        var now = MonotonicTime(nanoseconds: 1_000_000_000)
        var allForwarded = true

        output.progress("scale: inserting \(Format.grouped(n)) clients (ISAKMP + ESP each)")
        var start = Measure.seconds()
        for client in 0..<n {
            if client % 100_000 == 0 { now = now + .seconds(1) }
            let address = SyntheticClients.address(client)
            if case .forward = engine.decide(.udp(address, 500, to: vip, 500), now: now) {} else { allForwarded = false }
            if case .forward = engine.decide(.esp(address, to: vip), now: now) {} else { allForwarded = false }
        }
        let insertSeconds = Measure.seconds() - start
        let footprint = engine.tableFootprint
        let rssDelta = Measure.residentBytes() - rssBefore

        output.progress("scale: \(Format.grouped(parameters.lookups)) lookups of established flows")
        var cursor = 0
        var sink = 0
        start = Measure.seconds()
        for i in 0..<parameters.lookups {
            let address = SyntheticClients.address(cursor)
            let flow: Flow = i & 1 == 0 ? .udp(address, 500, to: vip, 500) : .esp(address, to: vip)
            if case .forward(let real) = engine.decide(flow, now: now) { sink &+= Int(real.index) }
            cursor = (cursor + 104_729) % n
        }
        let lookupSeconds = Measure.seconds() - start
        if sink == -1 { output.progress("unreachable") }

        // Purge: the first `purgeClients` clients go silent; everyone else is refreshed just
        // before the idle timer would fire, then one `expire` removes exactly the silent ones.
        let idle = UInt64(configuration.vservers.filter(\.inService).map(\.idle).max() ?? 3_600)
        output.progress("scale: refreshing \(Format.grouped(n - parameters.purgeClients)) clients, then expiring the rest")
        let refresh = now + .seconds(idle - 2)
        for client in parameters.purgeClients..<n {
            let address = SyntheticClients.address(client)
            _ = engine.decide(.udp(address, 500, to: vip, 500), now: refresh)
            _ = engine.decide(.esp(address, to: vip), now: refresh)
        }
        let before = engine.tableFootprint.connections
        start = Measure.seconds()
        _ = engine.expire(now: now + .seconds(idle + 5))
        let purgeSeconds = Measure.seconds() - start
        let after = engine.tableFootprint.connections

        output.progress("scale: reload renumbering the reals with \(Format.grouped(parameters.reloadClients)) clients in the tables")
        let reload = try ReloadPause.measure(configuration: configuration, clients: parameters.reloadClients, seed: parameters.seed)

        let result = Result(
            clients: n, connections: footprint.connections, stickyObjects: footprint.sticky,
            insertSeconds: insertSeconds, clientsPerSecond: Double(n) / insertSeconds,
            lookups: parameters.lookups, lookupSeconds: lookupSeconds,
            lookupsPerSecond: Double(parameters.lookups) / lookupSeconds,
            rssDeltaBytes: rssDelta, tableBytes: footprint.connectionTableBytes + footprint.stickyTableBytes,
            bytesPerConnection: footprint.bytesPerConnection, bytesPerStickyObject: footprint.bytesPerStickyObject,
            rssBytesPerClient: Double(rssDelta) / Double(n),
            purgedConnections: before - after, purgeSeconds: purgeSeconds, connectionsAfterPurge: after,
            forwardedAll: allForwarded, reload: reload)
        let document = Document(run: RunInfo(scenario: "scale", smoke: smoke), parameters: parameters, result: result)
        try output.write(document, name: "scale", chart: ScaleScenario.chart(document))
        return document
    }

    public static func chart(_ document: Document) -> BarChart {
        let r = document.result
        return BarChart(title: "Scale: \(Format.grouped(r.clients)) sticky clients, \(Format.grouped(r.connections)) connections",
                        unit: "M/s", bars: [
                            .init(label: "new clients (2 conns + sticky)", value: r.clientsPerSecond / 1e6, group: 0),
                            .init(label: "established lookups", value: r.lookupsPerSecond / 1e6, group: 1),
                            .init(label: "expired connections", value: r.purgeSeconds > 0 ? Double(r.purgedConnections) / r.purgeSeconds / 1e6 : 0, group: 2),
                        ])
    }

    public static func table(_ document: Document) -> String {
        let r = document.result
        var table = TextTable(["measure", "value"])
        table.add(["clients / connections / sticky objects", "\(Format.grouped(r.clients)) / \(Format.grouped(r.connections)) / \(Format.grouped(r.stickyObjects))"])
        table.add(["insert (new clients per second)", Format.grouped(Int(r.clientsPerSecond)) + " /s (" + Format.fixed(r.insertSeconds, 2) + " s)"])
        table.add(["lookup (established decisions per second)", Format.grouped(Int(r.lookupsPerSecond)) + " /s"])
        table.add(["RSS delta", Format.fixed(Double(r.rssDeltaBytes) / 1_048_576, 1) + " MiB (" + Format.fixed(r.rssBytesPerClient, 0) + " B/client)"])
        table.add(["engine tables", Format.fixed(Double(r.tableBytes) / 1_048_576, 1) + " MiB"])
        table.add(["bytes per connection / sticky object", Format.fixed(r.bytesPerConnection, 1) + " / " + Format.fixed(r.bytesPerStickyObject, 1)])
        table.add(["expire \(Format.grouped(r.purgedConnections)) connections", Format.fixed(r.purgeSeconds * 1000, 2) + " ms"])
        if let reload = r.reload {
            let what = "reload renumbering the reals, \(Format.grouped(reload.connections)) connections"
            table.add([what + ": " + reload.remapCarry, Format.fixed(reload.remapSeconds * 1000, 2) + " ms"])
            table.add([what + ": " + reload.reimportCarry, Format.fixed(reload.reimportSeconds * 1000, 2) + " ms"])
        }
        return table.text
    }
}
