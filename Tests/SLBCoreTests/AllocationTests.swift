import SLBConfig
import SLBCore
import SLBCoreAllocationCounter
import SLBWire
import Testing

/// The hot path of a load balancer: a packet of an established flow must not touch the
/// allocator. Counted (calls into malloc & co. on this thread), not timed, so the result is
/// deterministic.
@Suite struct AllocationTests {
    @Test("the counter sees allocations (so zero below means zero)")
    func counterCounts() throws {
        try #require(slb_allocation_counter_available() == 1)
        slb_allocation_counter_start()
        let array = Array(repeating: UInt64(7), count: 1_000)
        let calls = slb_allocation_counter_stop()
        #expect(array.count == 1_000)
        #expect(calls >= 1)
    }

    @Test("10,000 decisions for established flows allocate nothing")
    func establishedDecisionsAllocateNothing() throws {
        try #require(slb_allocation_counter_available() == 1)
        let engine = makeEngine(ipsecConfiguration(weights: [3, 1, 2]))
        var flows: [Flow] = []
        for n in 1...100 {
            let address = client(UInt8(n))
            flows.append(.udp(address, 500, to: vip, 500))
            flows.append(.udp(address, 4500, to: vip, 4500))
            flows.append(.esp(address, to: vip))
        }
        for flow in flows { _ = engine.decide(flow, now: t(0)) }
        for flow in flows { _ = engine.decide(flow, now: t(1)) }

        var forwarded = 0
        slb_allocation_counter_start()
        for i in 0..<10_000 {
            if case .forward = engine.decide(flows[i % flows.count], now: .milliseconds(2_000 + UInt64(i))) {
                forwarded += 1
            }
        }
        let calls = slb_allocation_counter_stop()
        #expect(forwarded == 10_000)
        #expect(calls == 0)
    }

    @Test("expiring nothing and probing a healthy real allocate nothing either")
    func timersAllocateNothing() throws {
        try #require(slb_allocation_counter_available() == 1)
        let engine = makeEngine(ipsecConfiguration())
        _ = placements(engine, count: 50)
        // One untimed round first: the Swift runtime instantiates generic metadata lazily on
        // first use, and whether another test already did so depends on test order. Those
        // one-time allocations are not what this test is about.
        _ = engine.expire(now: t(1))
        _ = engine.probeResult(real: RealID(0), probe: "PING", success: true, rtt: .milliseconds(1), now: t(1))
        slb_allocation_counter_start()
        for second in 2...101 {
            _ = engine.expire(now: t(UInt64(second)))
            _ = engine.probeResult(real: RealID(0), probe: "PING", success: true, rtt: .milliseconds(1),
                                   now: t(UInt64(second)))
        }
        let calls = slb_allocation_counter_stop()
        #expect(calls == 0)
    }

    @Test("least-connections picks with a real in slow start allocate nothing")
    func slowStartPicksAllocateNothing() throws {
        try #require(slb_allocation_counter_available() == 1)
        // No sticky (timer 0): each flow is a predictor pick. Source ports make the flows.
        let engine = makeEngine(ipsecConfiguration(weights: [1, 1, 1], predictor: .leastConns, sticky: 0, idle: 10))
        let flows = (0..<290).map { Flow.udp(client(1), UInt16(1_000 + $0), to: vip, 500) }
        failReal(engine, 0, at: t(0))
        // Grow the table to 200 entries first, then let them idle out: the slots stay.
        for i in 0..<200 { _ = engine.decide(flows[i], now: t(0)) }
        _ = engine.expire(now: t(20))
        for i in 200..<230 { _ = engine.decide(flows[i], now: t(20)) }
        _ = engine.probeResult(real: RealID(0), probe: "PING", success: true, rtt: nil, now: t(21))
        var toReturning = 0
        slb_allocation_counter_start()
        for i in 230..<290 where engine.decide(flows[i], now: t(21)).real == 0 { toReturning += 1 }
        let calls = slb_allocation_counter_stop()
        #expect(calls == 0)
        #expect(toReturning == 20)   // one pick in each round of three
    }
}
