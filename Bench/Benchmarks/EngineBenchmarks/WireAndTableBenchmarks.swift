import Benchmark
import SLBConfig
import SLBCore
import SLBWire

// Packet parsing (SLBWire, the first thing the forwarder does with every frame) and table
// expiry (the other table operation besides the insert and lookup measured by `decide`).
// Frames are built once; the parse runs on the bytes in place, as on the receive ring.

func wireAndTableBenchmarks() {
    let timing: [BenchmarkMetric] = [.wallClock, .throughput, .mallocCountTotal]
    let link = FrameBuilder.Link(destination: MACAddress(0x02_53_4c_02_00_00), source: MACAddress(0x02_53_4c_00_00_01))
    let ip = FrameBuilder.IPv4Fields(source: IPv4Address(192, 0, 2, 10), destination: IPv4Address(203, 0, 113, 100))
    let ike = [UInt8](repeating: 0, count: 28)
    let frames: [(String, [UInt8])] = [
        ("ISAKMP UDP/500", FrameBuilder.udpFrame(link, ip, sourcePort: 500, destinationPort: 500, payload: ike)),
        ("NAT-T UDP/4500 IKE", FrameBuilder.udpFrame(link, ip, sourcePort: 50_000, destinationPort: 4500,
                                                     payload: FrameBuilder.natTraversalIKE(ike))),
        ("ESP", FrameBuilder.espFrame(link, ip, spi: 0x1000, sequence: 1, payload: [UInt8](repeating: 0xa5, count: 16))),
    ]
    for (name, frame) in frames {
        Benchmark("parse: \(name) frame", configuration: .init(metrics: timing, scalingFactor: .kilo)) { benchmark in
            frame.withUnsafeBytes { bytes in
                benchmark.startMeasurement()
                for _ in benchmark.scaledIterations {
                    blackHole(PacketView.parse(bytes))
                }
                benchmark.stopMeasurement()
            }
        }
    }

    // 50,000 silent clients (100,000 connections) among 100,000 live ones: one `expire` call
    // pops exactly the silent clients' entries from the idle lists (their sticky timers start).
    Benchmark("table: expire 100,000 of 300,000 connections",
              configuration: .init(metrics: [.wallClock, .mallocCountTotal], warmupIterations: 0, maxIterations: 5)) { benchmark in
        let fixture = EngineFixture(clients: 150_000)
        let refresh = MonotonicTime.seconds(3_000)
        for index in 100_000..<fixture.flows.count {
            _ = fixture.engine.decide(fixture.flows[index], now: refresh)
        }
        benchmark.startMeasurement()
        blackHole(fixture.engine.expire(now: .seconds(3_610)))
        benchmark.stopMeasurement()
    }
}
