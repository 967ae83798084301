import SLBConfig
import SLBCore
import SLBWire
import Testing

/// Buddied vservers drawing from different farms (spec §2.5 sticky groups couple services
/// "handled by more than one virtual server"): a binding is honoured by the vserver's own
/// real at the bound gateway's address, under that real's own state.
@Suite struct StickyAcrossFarmsTests {
    struct Case: CustomTestStringConvertible, Sendable {
        let name: String
        /// The ESP farm's reals (gateway numbers), in configuration order.
        let espReals: [UInt8]
        /// A gateway whose real in the ESP farm has failed its probe.
        let failedInESPFarm: UInt8?
        let espGateway: UInt8
        let nattGateway: UInt8
        var testDescription: String { name }
    }

    @Test("ISAKMP (farm IKE), then ESP (farm ESP), then NAT-T (farm IKE) of one client", arguments: [
        Case(name: "same gateways in another order: ESP follows by address",
             espReals: [2, 1], failedInESPFarm: nil, espGateway: 1, nattGateway: 1),
        Case(name: "the gateway failed in the ESP farm: ESP balanced anew, the binding and NAT-T follow it",
             espReals: [2, 1], failedInESPFarm: 1, espGateway: 2, nattGateway: 2),
        Case(name: "the gateway is not in the ESP farm: ESP balanced anew, NAT-T rebalanced in its own farm",
             espReals: [3], failedInESPFarm: nil, espGateway: 3, nattGateway: 2),
    ])
    func acrossFarms(_ c: Case) throws {
        let group = StickySettings(seconds: 600, group: 1)
        let espFarm = ServerFarm(name: "ESP", failactionPurge: true, probes: ["PING"],
                                 reals: c.espReals.map { RealServer(address: gateway($0), weight: 1, inService: true) })
        let configuration = SLBConfiguration(
            probes: [Probe(name: "PING", faildetect: 1)],
            farms: [farm("IKE", weights: [1, 1], purge: true, probes: ["PING"]), espFarm],
            vservers: [isakmp("IKE", sticky: group), natt("IKE", sticky: group), esp("ESP", sticky: group)])
        let engine = makeEngine(configuration)
        if let failed = c.failedInESPFarm {
            let real = try #require(c.espReals.firstIndex(of: failed)) + 2   // after the IKE farm's two reals
            _ = engine.probeResult(real: RealID(Int32(real)), probe: "PING", success: false, rtt: nil, now: t(0))
        }
        let a = client(10)
        func gatewayOf(_ verdict: Verdict) -> IPv4Address? { verdict.real.map { engine.probeTargets[$0].address } }

        #expect(gatewayOf(engine.decide(.udp(a, 500, to: vip, 500), now: t(1))) == gateway(1))
        #expect(gatewayOf(engine.decide(.esp(a, to: vip), now: t(1))) == gateway(c.espGateway))
        #expect(gatewayOf(engine.decide(.udp(a, 4500, to: vip, 4500), now: t(1))) == gateway(c.nattGateway))
        // One sticky object for the client, bound to where its latest new flow was placed.
        let sticky = engine.snapshot(now: t(1), connections: .client(a)).sticky
        #expect(sticky.count == 1)
        #expect(sticky.first?.real == gateway(c.nattGateway))
    }
}
