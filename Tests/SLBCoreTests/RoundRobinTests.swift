import SLBConfig
import SLBCore
import SLBWire
import Testing

/// IOS weighted round robin (spec §2.1): n consecutive picks per real, configuration order.
@Suite struct RoundRobinTests {
    struct Case: CustomTestStringConvertible, Sendable {
        let name: String
        let weights: [UInt8]
        let outOfService: [Int]
        let expected: [Int]
        var testDescription: String { name }
    }

    @Test(arguments: [
        Case(name: "weights 3,1,2 give A A A B C C, repeating", weights: [3, 1, 2], outOfService: [],
             expected: [0, 0, 0, 1, 2, 2, 0, 0, 0, 1, 2, 2]),
        Case(name: "default weight 8: eight consecutive picks each", weights: [8, 8, 8], outOfService: [],
             expected: Array(repeating: 0, count: 8) + Array(repeating: 1, count: 8)
                 + Array(repeating: 2, count: 8) + [0]),
        Case(name: "all weight 1 is plain round robin", weights: [1, 1, 1], outOfService: [],
             expected: [0, 1, 2, 0, 1, 2, 0]),
        Case(name: "an out-of-service real is skipped", weights: [3, 1, 2], outOfService: [1],
             expected: [0, 0, 0, 2, 2, 0, 0, 0, 2, 2]),
        Case(name: "weight 0 is never picked", weights: [2, 0, 1], outOfService: [],
             expected: [0, 0, 2, 0, 0, 2]),
    ])
    func sequence(_ c: Case) {
        var f = farm(weights: c.weights)
        for index in c.outOfService { f.reals[index].inService = false }
        let engine = makeEngine(SLBConfiguration(farms: [f], vservers: [isakmp()]))
        #expect(placements(engine, count: c.expected.count) == c.expected)
    }

    @Test("a failed real is skipped without consuming its credit, and gets a full block when back")
    func failedRealSkippedThenBack() {
        var configuration = SLBConfiguration(probes: [Probe(name: "PING", faildetect: 3)],
                                             farms: [farm(weights: [3, 2, 1], probes: ["PING"])],
                                             vservers: [isakmp()])
        configuration.entries = TableLimits()
        let engine = makeEngine(configuration)
        #expect(placements(engine, count: 3, firstClient: 10) == [0, 0, 0])
        failReal(engine, 1, at: t(1))
        // B is down: the cursor passes over it to C, then back to A.
        #expect(placements(engine, count: 4, firstClient: 20, at: t(2)) == [2, 0, 0, 0])
        _ = engine.probeResult(real: RealID(1), probe: "PING", success: true, rtt: nil, now: t(3))
        // B is back and receives its full weight of 2 in turn.
        #expect(placements(engine, count: 4, firstClient: 30, at: t(3)) == [1, 1, 2, 0])
    }

    @Test("a real that fails mid-block hands over at once; the others' blocks are intact")
    func failMidBlock() {
        let configuration = SLBConfiguration(probes: [Probe(name: "PING", faildetect: 3)],
                                             farms: [farm(weights: [3, 1, 2], probes: ["PING"])],
                                             vservers: [isakmp()])
        let engine = makeEngine(configuration)
        #expect(placements(engine, count: 2, firstClient: 10) == [0, 0])
        failReal(engine, 0, at: t(1))
        #expect(placements(engine, count: 6, firstClient: 20, at: t(2)) == [1, 2, 2, 1, 2, 2])
    }

    @Test("the rotation belongs to the farm: ISAKMP and ESP vservers of one farm share it")
    func rotationIsPerFarm() {
        let engine = makeEngine(SLBConfiguration(farms: [farm(weights: [1, 1, 1])],
                                                 vservers: [isakmp(), esp()]))
        let picks = [
            engine.decide(.udp(client(10), 500, to: vip, 500), now: .zero).real,
            engine.decide(.esp(client(11), to: vip), now: .zero).real,
            engine.decide(.udp(client(12), 500, to: vip, 500), now: .zero).real,
            engine.decide(.esp(client(13), to: vip), now: .zero).real,
        ]
        #expect(picks == [0, 1, 2, 0])
    }

    @Test("packets of existing connections do not move the cursor")
    func establishedPacketsDoNotAdvance() {
        let engine = makeEngine(SLBConfiguration(farms: [farm(weights: [1, 1])], vservers: [isakmp()]))
        let first = Flow.udp(client(10), 500, to: vip, 500)
        #expect(engine.decide(first, now: .zero).real == 0)
        for _ in 0..<5 { #expect(engine.decide(first, now: t(1)).real == 0) }
        #expect(placements(engine, count: 1, firstClient: 20, at: t(1)) == [1])
    }

    @Test("remainder shows the credit left on the current real")
    func remainderInSnapshot() {
        let engine = makeEngine(SLBConfiguration(farms: [farm(weights: [3, 1, 2])], vservers: [isakmp()]))
        _ = placements(engine, count: 1)
        let reals = engine.snapshot(now: .zero, connections: .none).reals
        #expect(reals.map(\.remainder) == [2, 0, 0])
    }
}
