import Benchmark
import SLBConfig
import SLBCore
import SLBWire

// Micro benchmarks of the SLB decision engine. Client addresses below are table keys only:
// nothing is sent anywhere, so the RFC 5737 lab plan does not constrain them.

let benchmarks: @Sendable () -> Void = {
    let timing: [BenchmarkMetric] = [.wallClock, .throughput, .mallocCountTotal]

    // A packet of an established flow: vserver match, hash lookup, last-seen refresh,
    // counters. Two working sets: 1,000 connections (tables in cache) and 100,000
    // connections visited in a scattered order (a bucket and a slot miss per packet).
    for clients in [500, 50_000] {
        let fixture = EngineFixture(clients: clients)
        Benchmark("decide: established flow, \(clients * 2) connections",
                  configuration: .init(metrics: timing, scalingFactor: .kilo)) { benchmark in
            var clock = fixture.now
            var cursor = 0
            let count = fixture.flows.count
            benchmark.startMeasurement()
            for _ in benchmark.scaledIterations {
                clock.nanoseconds &+= 1_000
                blackHole(fixture.engine.decide(fixture.flows[cursor], now: clock))
                cursor = (cursor + 7_919) % count
            }
            benchmark.stopMeasurement()
            fixture.now = clock
        }
    }

    // The first packet of a new client: sticky lookup (miss), WRR pick, sticky insert,
    // connection insert, on one long-lived engine (tables grown, free lists in use). Every
    // 200k clients, outside the measurement, the tables are emptied by expiry.
    let churn = EngineFixture(clients: 0)
    var nextClient: UInt32 = 1
    Benchmark("decide: new flow (sticky miss + WRR + 2 inserts)",
              configuration: .init(metrics: timing, scalingFactor: .kilo)) { benchmark in
        var clock = churn.now
        if churn.engine.tableFootprint.connections >= 200_000 {
            clock = clock + .seconds(4_000)
            _ = churn.engine.expire(now: clock)
            clock = clock + .seconds(4_000)
            _ = churn.engine.expire(now: clock)
        }
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            clock.nanoseconds &+= 1_000
            blackHole(churn.engine.decide(.udp(IPv4Address(nextClient), 500, to: EngineFixture.vip, 500), now: clock))
            nextClient &+= 1
        }
        benchmark.stopMeasurement()
        churn.now = clock
    }

    // Memory, reported as custom metrics: bytes held by the tables per live entry with
    // one million connections (500k clients × ISAKMP + ESP) and 500k sticky objects.
    Benchmark("table footprint: 1M connections, 500k sticky",
              configuration: .init(metrics: [.custom("bytes per connection", useScalingFactor: false),
                                             .custom("bytes per sticky object", useScalingFactor: false),
                                             .custom("connection slot bytes", useScalingFactor: false),
                                             .custom("sticky slot bytes", useScalingFactor: false)],
                                   warmupIterations: 0, maxIterations: 1)) { benchmark in
        let fixture = EngineFixture(clients: 500_000)
        let footprint = fixture.engine.tableFootprint
        benchmark.measurement(.custom("bytes per connection", useScalingFactor: false),
                              Int(footprint.bytesPerConnection.rounded()))
        benchmark.measurement(.custom("bytes per sticky object", useScalingFactor: false),
                              Int(footprint.bytesPerStickyObject.rounded()))
        benchmark.measurement(.custom("connection slot bytes", useScalingFactor: false), footprint.connectionSlotBytes)
        benchmark.measurement(.custom("sticky slot bytes", useScalingFactor: false), footprint.stickySlotBytes)
    }
    wireAndTableBenchmarks()
}

/// An IPsec farm (ISAKMP + ESP in sticky group 1, four gateways) with `clients` clients
/// that each hold an established ISAKMP and ESP connection.
final class EngineFixture {
    static let vip = IPv4Address(203, 0, 113, 100)
    let engine: Engine
    var flows: [Flow] = []
    var now = MonotonicTime.seconds(10)

    init(clients: Int) {
        let sticky = StickySettings(seconds: 3600, group: 1)
        let reals = (1...4).map { RealServer(address: IPv4Address(198, 51, 100, UInt8(10 + $0)), inService: true) }
        let configuration = SLBConfiguration(
            farms: [ServerFarm(name: "GW", reals: reals)],
            vservers: [
                VirtualServer(name: "ISAKMP", address: EngineFixture.vip, service: .udp(port: 500), farm: "GW",
                              sticky: sticky, inService: true),
                VirtualServer(name: "ESP", address: EngineFixture.vip, service: .esp, farm: "GW",
                              sticky: sticky, inService: true),
            ],
            entries: TableLimits(connections: 4_000_000, sticky: 2_000_000))
        engine = Engine(configuration: configuration, hashSeed: 0xB0B)
        flows.reserveCapacity(clients * 2)
        for n in 0..<clients {
            let client = IPv4Address(0x0A00_0000 &+ UInt32(n))
            flows.append(.udp(client, 500, to: EngineFixture.vip, 500))
            flows.append(.esp(client, to: EngineFixture.vip))
        }
        for flow in flows { _ = engine.decide(flow, now: .seconds(1)) }
        for flow in flows { _ = engine.decide(flow, now: .seconds(2)) }
    }
}
