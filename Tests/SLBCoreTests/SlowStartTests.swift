import SLBConfig
import SLBCore
import SLBWire
import Testing

/// Least-connections slow start (spec §2.2 [D:SXF-17], §5.2 "gateway recovery"): a real just
/// placed in service takes at most one pick per round (as many picks as the farm has
/// eligible reals) until its deficit is ≤ 0, instead of every new client.
@Suite struct SlowStartTests {
    static func leastConns(_ reals: Int, idle: UInt32 = 60) -> SLBConfiguration {
        ipsecConfiguration(weights: Array(repeating: 1, count: reals), predictor: .leastConns, idle: idle)
    }

    static func recover(_ engine: Engine, _ real: Int, at now: MonotonicTime) -> [EngineEvent] {
        engine.probeResult(real: RealID(Int32(real)), probe: "PING", success: true, rtt: nil, now: now)
    }

    @Test("a real back from PROBE_FAILED gets one pick per round until it catches up", arguments: [2, 3, 4])
    func recoveryIsBounded(reals n: Int) {
        let engine = makeEngine(Self.leastConns(n))
        failReal(engine, 0, at: t(0))
        // Twelve clients land on the others while real 0 is down.
        #expect(!placements(engine, count: 12, firstClient: 10, at: t(0)).contains(0))
        #expect(Self.recover(engine, 0, at: t(10)).map(\.name) == ["slb.real.up"])
        #expect(engine.snapshot(now: t(10), connections: .none).reals[0].slowStart == true)

        // Without slow start all 3n new clients would go to real 0 (deficit 12 and more).
        let burst = placements(engine, count: 3 * n, firstClient: 100, at: t(10))
        let toReturning = burst.indices.filter { burst[$0] == 0 }
        #expect(toReturning == stride(from: 0, to: 3 * n, by: n).map { $0 })
        #expect(!burst.contains(nil))
        #expect(engine.snapshot(now: t(10), connections: .none).reals[0].slowStart == true)

        // The twelve early clients idle out (idle 60, last seen t(0)); the burst (t(10))
        // stays: real 0 now holds its share (3 of 3n) and slow start is over.
        _ = engine.expire(now: t(65))
        let reals = engine.snapshot(now: t(65), connections: .none).reals
        #expect(reals.map(\.connections) == Array(repeating: 3, count: n))
        #expect(reals[0].slowStart == nil)
        // Plain deficit rule again: ties in configuration order.
        #expect(placements(engine, count: n, firstClient: 200, at: t(65)) == Array(0..<n))
    }

    @Test("the only eligible real is never held back")
    func aloneIsNotHeld() {
        let engine = makeEngine(Self.leastConns(2))
        failReal(engine, 0, at: t(0))
        _ = placements(engine, count: 4, firstClient: 10, at: t(0))
        failReal(engine, 1, at: t(1))
        _ = Self.recover(engine, 0, at: t(2))
        #expect(placements(engine, count: 4, firstClient: 50, at: t(2)) == [0, 0, 0, 0])
    }

    @Test("sticky hits are not predictor picks: a returning real's buddied flows are not limited")
    func stickyNotCounted() {
        let engine = makeEngine(Self.leastConns(2))
        failReal(engine, 0, at: t(0))
        _ = placements(engine, count: 4, firstClient: 10, at: t(0))
        _ = Self.recover(engine, 0, at: t(1))
        let a = client(50)
        #expect(engine.decide(.udp(a, 500, to: vip, 500), now: t(1)).real == 0)
        // ESP and NAT-T of the same client follow its sticky object to real 0.
        #expect(engine.decide(.esp(a, to: vip), now: t(1)).real == 0)
        #expect(engine.decide(.udp(a, 4500, to: vip, 4500), now: t(1)).real == 0)
        // The next new client is the round's other pick.
        #expect(placements(engine, count: 2, firstClient: 60, at: t(1)) == [1, 0])
    }

    @Test("round robin is unaffected by a real's return")
    func roundRobinUnaffected() {
        let engine = makeEngine(ipsecConfiguration(weights: [2, 2]))
        failReal(engine, 0, at: t(0))
        #expect(placements(engine, count: 2, firstClient: 10, at: t(0)) == [1, 1])
        _ = Self.recover(engine, 0, at: t(1))
        #expect(engine.snapshot(now: t(1), connections: .none).reals.allSatisfy { $0.slowStart == nil })
        #expect(placements(engine, count: 6, firstClient: 50, at: t(1)) == [0, 0, 1, 1, 0, 0])
    }

    struct ReloadCase: CustomTestStringConvertible, Sendable {
        let name: String
        let edit: @Sendable (inout SLBConfiguration) -> Void
        let slowStart: [Bool?]
        var testDescription: String { name }
    }

    @Test("a reload that places a real in service starts it slowly", arguments: [
        ReloadCase(name: "put back inservice", edit: { $0.farms[0].reals[0].inService = true },
                   slowStart: [true, nil, nil]),
        ReloadCase(name: "a real added to the farm", edit: {
            $0.farms[0].reals[0].inService = false
            $0.farms[0].reals.append(RealServer(address: gateway(4), weight: 1, inService: true))
        }, slowStart: [nil, nil, nil, true]),
        ReloadCase(name: "unrelated change", edit: {
            $0.farms[0].reals[0].inService = false
            $0.vservers[0].idle = 120
        }, slowStart: [nil, nil, nil]),
        ReloadCase(name: "farm switched to roundrobin", edit: {
            $0.farms[0].reals[0].inService = true
            $0.farms[0].predictor = .roundRobin
        }, slowStart: [nil, nil, nil]),
    ])
    func reload(_ c: ReloadCase) {
        var configuration = Self.leastConns(3)
        configuration.farms[0].reals[0].inService = false
        let engine = makeEngine(configuration)
        _ = placements(engine, count: 6, firstClient: 10, at: t(0))
        var edited = configuration
        c.edit(&edited)
        _ = engine.reconfigure(to: edited, now: t(1))
        #expect(engine.snapshot(now: t(1), connections: .none).reals.map(\.slowStart) == c.slowStart)
    }

    @Test("a new farm's reals start together, none slowly")
    func newFarmNotSlow() {
        let engine = makeEngine(Self.leastConns(2))
        var edited = Self.leastConns(2)
        edited.farms.append(farm("GW2", weights: [1, 1], predictor: .leastConns))
        edited.farms[1].reals = [RealServer(address: gateway(5), weight: 1, inService: true),
                                 RealServer(address: gateway(6), weight: 1, inService: true)]
        _ = engine.reconfigure(to: edited, now: t(1))
        #expect(engine.snapshot(now: t(1), connections: .none).reals.allSatisfy { $0.slowStart == nil })
    }
}
