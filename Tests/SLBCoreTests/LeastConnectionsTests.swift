import SLBConfig
import SLBCore
import SLBWire
import Testing

/// IOS weighted least connections (spec §2.2): the real farthest below its weighted share.
@Suite struct LeastConnectionsTests {
    @Test("from empty, placements follow the deficit rule in configuration order on ties",
          arguments: [
              ([UInt8(1), 1, 1], [0, 1, 2, 0, 1, 2]),
              ([3, 1, 2], [0, 2, 1, 0, 2, 0]),
              ([10, 1, 1], [0, 1, 0, 0, 0, 2]),
          ] as [([UInt8], [Int])])
    func fromEmpty(weights: [UInt8], expected: [Int]) {
        let engine = makeEngine(SLBConfiguration(farms: [farm(weights: weights, predictor: .leastConns)],
                                                 vservers: [isakmp()]))
        #expect(placements(engine, count: expected.count) == expected)
    }

    /// Weights 10,1,1 with connections 1,0,5: deficits 48, 6, -54 (×W) pick A; LVS's
    /// min-ratio would pick B (0/1). The connections are shaped under round robin and the
    /// farm then switched to leastconns, so no real is in slow start (a real recovering
    /// under leastconns would be, see `SlowStartTests`).
    @Test("weights 10,1,1 with connections 1,0,5 pick the first real, not the emptiest")
    func deficitNotRatio() {
        func configuration(_ predictor: Predictor) -> SLBConfiguration {
            SLBConfiguration(
                probes: [Probe(name: "PING", faildetect: 1)],
                farms: [farm(weights: [10, 1, 1], predictor: predictor, probes: ["PING"])],
                vservers: [isakmp()])
        }
        let engine = makeEngine(configuration(.roundRobin))
        func set(_ real: Int, up: Bool) {
            _ = engine.probeResult(real: RealID(Int32(real)), probe: "PING", success: up, rtt: nil, now: t(1))
        }
        set(0, up: false); set(1, up: false)
        #expect(placements(engine, count: 5, firstClient: 10, at: t(1)) == [2, 2, 2, 2, 2])
        set(0, up: true); set(2, up: false)
        #expect(placements(engine, count: 1, firstClient: 20, at: t(1)) == [0])
        set(1, up: true); set(2, up: true)
        #expect(engine.snapshot(now: t(1), connections: .none).reals.map(\.connections) == [1, 0, 5])
        #expect(engine.reconfigure(to: configuration(.leastConns), now: t(1)).tables == .kept)
        #expect(engine.snapshot(now: t(1), connections: .none).reals.allSatisfy { $0.slowStart == nil })
        #expect(placements(engine, count: 1, firstClient: 30, at: t(1)) == [0])
    }

    @Test("ineligible reals are left out of both sums")
    func ineligibleExcluded() {
        var f = farm(weights: [1, 1, 1], predictor: .leastConns, maxConns: 1)
        f.reals[2].inService = false
        let engine = makeEngine(SLBConfiguration(farms: [f], vservers: [isakmp()]))
        #expect(placements(engine, count: 3) == [0, 1, nil])
    }
}
