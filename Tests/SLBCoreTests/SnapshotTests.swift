import SLBConfig
import SLBCore
import SLBWire
import Testing

/// What `show ip slb ...` gets from the engine.
@Suite struct SnapshotTests {
    func populated() -> Engine {
        let engine = makeEngine(ipsecConfiguration(weights: [1, 1]))
        _ = engine.decide(.udp(client(10), 500, to: vip, 500), now: t(0))
        _ = engine.decide(.esp(client(10), to: vip), now: t(1))
        _ = engine.decide(.udp(client(11), 4500, to: vip, 4500), now: t(2))
        _ = engine.decide(.udp(client(10), 500, to: vip, 500), now: t(3))
        return engine
    }

    @Test("reals, farms and vservers carry every field")
    func objects() {
        let snapshot = populated().snapshot(now: t(4), connections: .none)
        #expect(snapshot.taken == t(4))
        #expect(snapshot.reals == [
            RealSnapshot(id: RealID(0), address: gateway(1), port: nil, farm: "GW", weight: 1, adminWeight: 1,
                         state: .operational, connections: 2, maxConns: RealServer.defaultMaxConns,
                         totalConnections: 2, retry: 60, remainder: 0, serverFailures: 0, packets: 3),
            RealSnapshot(id: RealID(1), address: gateway(2), port: nil, farm: "GW", weight: 1, adminWeight: 1,
                         state: .operational, connections: 1, maxConns: RealServer.defaultMaxConns,
                         totalConnections: 1, retry: 60, remainder: 0, serverFailures: 0, packets: 1),
        ])
        #expect(snapshot.farms == [FarmSnapshot(name: "GW", predictor: .roundRobin, nat: .none, failactionPurge: false,
                                                probes: ["PING", "IKE"], realCount: 2, operationalReals: 2)])
        #expect(snapshot.vservers.map(\.name) == ["ISAKMP", "NATT", "ESP"])
        #expect(snapshot.vservers[0] == VServerSnapshot(
            name: "ISAKMP", index: 1, address: vip, mask: .host, ipProtocol: .udp, port: 500, state: .operational,
            farm: "GW", backupFarm: nil, idle: 3600, stickySeconds: 3600, stickyGroup: 1, stickyNetmask: .host,
            connections: 1, totalConnections: 1, packets: 2))
        #expect(snapshot.vservers[2].port == 0)
        #expect(snapshot.vservers.map(\.connections) == [1, 1, 1])
        #expect(snapshot.connections.isEmpty && snapshot.sticky.isEmpty)
        #expect(snapshot.stats.drops.count == DropReason.allCases.count)
    }

    @Test("connection rows in table order with every field")
    func connectionRows() {
        let rows = populated().snapshot(now: t(4), connections: .all).connections
        #expect(rows == [
            ConnectionSnapshot(vserver: "ISAKMP", ipProtocol: .udp, client: client(10), clientPort: 500, vip: vip,
                               vipPort: 500, real: gateway(1), realPort: nil, state: .established, nat: .none,
                               sticky: true, created: t(0), lastSeen: t(3), packets: 2),
            ConnectionSnapshot(vserver: "ESP", ipProtocol: .esp, client: client(10), clientPort: 0, vip: vip,
                               vipPort: 0, real: gateway(1), realPort: nil, state: .initial, nat: .none,
                               sticky: true, created: t(1), lastSeen: t(1), packets: 1),
            ConnectionSnapshot(vserver: "NATT", ipProtocol: .udp, client: client(11), clientPort: 4500, vip: vip,
                               vipPort: 4500, real: gateway(2), realPort: nil, state: .initial, nat: .none,
                               sticky: true, created: t(2), lastSeen: t(2), packets: 1),
        ])
    }

    @Test("filters select connection and sticky rows", arguments: [
        (ConnectionFilter.none, 0, 0),
        (.all, 3, 2),
        (.vserver("ESP"), 1, 1),
        (.vserver("NATT"), 1, 1),
        (.vserver("NOPE"), 0, 0),
        (.client(client(10)), 2, 1),
        (.client(client(99)), 0, 0),
    ] as [(ConnectionFilter, Int, Int)])
    func filters(filter: ConnectionFilter, connections: Int, sticky: Int) {
        let snapshot = populated().snapshot(now: t(4), connections: filter)
        #expect(snapshot.connections.count == connections)
        #expect(snapshot.sticky.count == sticky)
    }

    @Test("sticky rows show client, mask, group, real, farm and references")
    func stickyRows() {
        let sticky = populated().snapshot(now: t(4), connections: .client(client(10))).sticky
        #expect(sticky == [StickySnapshot(client: client(10), netmask: .host, group: 1, real: gateway(1), farm: "GW",
                                          connections: 2, expiresIn: nil)])
    }

    @Test("probe rows while a real is down show the outage in progress")
    func probeRowsDuringOutage() {
        let engine = makeEngine(ipsecConfiguration(weights: [1, 1]))
        failReal(engine, 1, at: t(10))
        let probes = engine.snapshot(now: t(25), connections: .none).probes
        let row = probes.first { $0.probe == "PING" && $0.real == gateway(2) }
        #expect(row == ProbeSnapshot(probe: "PING", kind: .ping, real: gateway(2), port: 0, farm: "GW", state: .failed,
                                     interval: 1, faildetect: 3, consecutiveMisses: 3, outages: 1,
                                     currentOutage: .seconds(15), cumulativeOutage: .seconds(15), lastRTT: nil))
        #expect(probes.map(\.probe) == ["PING", "IKE", "PING", "IKE"])
        #expect(probes.first { $0.probe == "IKE" }?.port == 500)
    }

    @Test("probeTargets lists every real in engine order with its resolved probes")
    func probeTargets() {
        let engine = makeEngine(ipsecConfiguration(weights: [1, 1]))
        #expect(engine.probeTargets.map(\.real) == [RealID(0), RealID(1)])
        #expect(engine.probeTargets.map(\.address) == [gateway(1), gateway(2)])
        #expect(engine.probeTargets.first?.probes.map(\.name) == ["PING", "IKE"])
        #expect(engine.probeTargets.first?.farm == "GW")
    }
}
