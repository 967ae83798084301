import SLBConfig
import SLBCore
import SLBWire
import Testing

/// Which vserver takes a packet (spec §2.10, §6): exact VIP under the vserver's mask,
/// protocol, exact port before `any`, `client` ranges, in-service only; else not balanced.
@Suite struct MatchingTests {
    static let split = SLBConfiguration(
        farms: [farm("LAB", weights: [1]), farm("BRANCH", weights: [1]), farm("ANY", weights: [1]),
                farm("NET", weights: [1])],
        vservers: [
            VirtualServer(name: "CATCHALL", address: vip, service: .udp(port: nil), farm: "ANY", inService: true),
            VirtualServer(name: "LAB-IKE", address: vip, service: .udp(port: 500), farm: "LAB",
                          clients: [IPv4Network(address: IPv4Address(192, 0, 2, 0), mask: IPv4Mask(prefixLength: 25)!)],
                          inService: true),
            VirtualServer(name: "BRANCH-IKE", address: vip, service: .udp(port: 500), farm: "BRANCH",
                          clients: [IPv4Network(address: IPv4Address(192, 0, 2, 128), mask: IPv4Mask(prefixLength: 25)!)],
                          inService: true),
            VirtualServer(name: "NATT-OFF", address: vip, service: .udp(port: 4500), farm: "LAB"),
            VirtualServer(name: "SUBNET", address: IPv4Address(203, 0, 113, 0), mask: IPv4Mask(prefixLength: 28)!,
                          service: .esp, farm: "NET", inService: true),
            VirtualServer(name: "ONLY-LAB", address: IPv4Address(203, 0, 113, 50), service: .udp(port: 500),
                          farm: "LAB",
                          clients: [IPv4Network(address: IPv4Address(192, 0, 2, 0), mask: IPv4Mask(prefixLength: 25)!)],
                          inService: true),
        ])

    struct Case: CustomTestStringConvertible, Sendable {
        let name: String
        let flow: Flow
        let verdict: Verdict
        let vserver: String?
        var testDescription: String { name }
    }

    @Test(arguments: [
        Case(name: "client range picks the lab vserver", flow: .udp(client(10), 500, to: vip, 500),
             verdict: .forward(RealID(0)), vserver: "LAB-IKE"),
        Case(name: "second range picks the branch vserver", flow: .udp(client(200), 500, to: vip, 500),
             verdict: .forward(RealID(1)), vserver: "BRANCH-IKE"),
        Case(name: "exact port outside every range falls back to `any`",
             flow: .udp(IPv4Address(198, 51, 100, 200), 500, to: vip, 500),
             verdict: .forward(RealID(2)), vserver: "CATCHALL"),
        Case(name: "`any` takes other ports", flow: .udp(client(10), 1701, to: vip, 1701),
             verdict: .forward(RealID(2)), vserver: "CATCHALL"),
        Case(name: "an out-of-service exact port falls back to `any`", flow: .udp(client(10), 4500, to: vip, 4500),
             verdict: .forward(RealID(2)), vserver: "CATCHALL"),
        Case(name: "no ESP vserver on this VIP: not balanced", flow: .esp(client(10), to: vip),
             verdict: .pass, vserver: nil),
        Case(name: "the vserver mask covers 203.0.113.0/28", flow: .esp(client(10), to: IPv4Address(203, 0, 113, 9)),
             verdict: .forward(RealID(3)), vserver: "SUBNET"),
        Case(name: "outside the vserver mask: not balanced", flow: .esp(client(10), to: IPv4Address(203, 0, 113, 16)),
             verdict: .pass, vserver: nil),
        Case(name: "another VIP: not balanced", flow: .udp(client(10), 500, to: IPv4Address(203, 0, 113, 7), 500),
             verdict: .pass, vserver: nil),
        Case(name: "a TCP packet to the VIP: not balanced", flow: Flow(ipProtocol: .tcp, client: client(10),
             clientPort: 4000, vip: vip, vipPort: 500), verdict: .pass, vserver: nil),
        Case(name: "matched but the client is outside its ranges: counted drop",
             flow: .udp(client(200), 500, to: IPv4Address(203, 0, 113, 50), 500),
             verdict: .drop(.clientNotAllowed), vserver: nil),
    ])
    func match(_ c: Case) {
        let engine = makeEngine(MatchingTests.split)
        #expect(engine.decide(c.flow, now: t(0)) == c.verdict)
        let snapshot = engine.snapshot(now: t(0), connections: .all)
        #expect(snapshot.connections.map(\.vserver) == (c.vserver.map { [$0] } ?? []))
        switch c.verdict {
        case .pass: #expect(snapshot.stats.packetsPassed == 1)
        case .drop(let reason): #expect(snapshot.stats.drops[reason.rawValue] == 1)
        case .forward: #expect(snapshot.stats.packetsBalanced == 1)
        }
    }

    @Test("the backup farm takes new flows only while no primary real can")
    func backupFarm() {
        let configuration = SLBConfiguration(
            probes: [Probe(name: "PING", faildetect: 1)],
            farms: [farm("PRIMARY", weights: [1, 1], maxConns: 1, probes: ["PING"]),
                    ServerFarm(name: "SPARE", reals: [RealServer(address: gateway(9), inService: true)])],
            vservers: [VirtualServer(name: "IKE", address: vip, service: .udp(port: 500), farm: "PRIMARY",
                                     backupFarm: "SPARE", idle: 60, inService: true)])
        let engine = makeEngine(configuration)
        #expect(placements(engine, count: 4, at: t(0)) == [0, 1, 2, 2])
        #expect(engine.forwarding(for: RealID(2)) == Forwarding(real: RealID(2), address: gateway(9), mode: .dispatched))
        _ = engine.decide(.udp(client(10), 500, to: vip, 500), now: t(30))
        _ = engine.expire(now: t(60))        // client 11 on real 1 idles out
        #expect(placements(engine, count: 1, firstClient: 40, at: t(60)) == [1])
    }

    @Test("no eligible real: a counted drop and one farmNoReal event per transition")
    func farmNoRealOncePerTransition() {
        var f = farm(weights: [1], maxConns: 1)
        f.probes = []
        let engine = makeEngine(SLBConfiguration(farms: [f], vservers: [isakmp(idle: 60)]))
        #expect(placements(engine, count: 3, at: t(1)) == [0, nil, nil])
        #expect(engine.takeEvents() == [.farmNoReal(farm: "GW", vserver: "ISAKMP", at: t(1))])
        #expect(engine.takeEvents().isEmpty)
        #expect(engine.snapshot(now: t(1), connections: .none).vservers[0].state == .inopReal)
        _ = engine.expire(now: t(61))
        #expect(placements(engine, count: 2, firstClient: 50, at: t(62)) == [0, nil])
        #expect(engine.takeEvents() == [.farmNoReal(farm: "GW", vserver: "ISAKMP", at: t(62))])
        let stats = engine.snapshot(now: t(62), connections: .none).stats
        #expect(stats.drops[DropReason.noRealAvailable.rawValue] == 3)
    }

    @Test("farmNoReal fires again after the farm recovered, even with no flow in between")
    func farmNoRealAfterRecovery() {
        let configuration = SLBConfiguration(probes: [Probe(name: "PING", faildetect: 1)],
                                             farms: [farm(weights: [1], probes: ["PING"])], vservers: [isakmp()])
        let engine = makeEngine(configuration)
        failReal(engine, 0, at: t(1), misses: 1)
        #expect(placements(engine, count: 2, at: t(2)) == [nil, nil])
        #expect(engine.takeEvents().count == 1)
        _ = engine.probeResult(real: RealID(0), probe: "PING", success: true, rtt: nil, now: t(3))
        failReal(engine, 0, at: t(4), misses: 1)
        #expect(placements(engine, count: 2, firstClient: 40, at: t(5)) == [nil, nil])
        #expect(engine.takeEvents() == [.farmNoReal(farm: "GW", vserver: "ISAKMP", at: t(5))])
    }

    @Test("out-of-service vservers take nothing; out-of-service reals get nothing")
    func outOfService() {
        var f = farm(weights: [1, 1])
        f.reals[0].inService = false
        var off = esp()
        off.inService = false
        let engine = makeEngine(SLBConfiguration(farms: [f], vservers: [isakmp(), off]))
        #expect(placements(engine, count: 3) == [1, 1, 1])
        #expect(engine.decide(.esp(client(10), to: vip), now: t(0)) == .pass)
        let snapshot = engine.snapshot(now: t(0), connections: .none)
        #expect(snapshot.vservers.map(\.state) == [.operational, .outOfService])
        #expect(snapshot.reals.map(\.state) == [.outOfService, .operational])
    }

    @Test("directed mode rewrites to the real's address and port")
    func directedForwarding() {
        let configuration = SLBConfiguration(
            farms: [ServerFarm(name: "NAT", nat: .server,
                               reals: [RealServer(address: gateway(1), port: 1500, inService: true)])],
            vservers: [isakmp("NAT")])
        let engine = makeEngine(configuration)
        #expect(engine.forwarding(for: RealID(0)) == Forwarding(real: RealID(0), address: gateway(1),
                                                                mode: .directed(port: 1500)))
        #expect(engine.forwarding(for: RealID(7)).address == IPv4Address(0))
    }
}
