import SLBConfig
import SLBCore
import SLBWire
import Testing

/// Sticky objects and groups (spec §2.4, §2.5).
@Suite struct StickyTests {
    @Test("ISAKMP, NAT-T and ESP of one client reach one real; sticky hits do not move the rotation")
    func groupBindsAllThreeVServers() {
        let engine = makeEngine(ipsecConfiguration(weights: [1, 1, 1]))
        let a = client(10), b = client(11)
        #expect(engine.decide(.udp(a, 500, to: vip, 500), now: t(0)).real == 0)
        #expect(engine.decide(.udp(b, 500, to: vip, 500), now: t(0)).real == 1)
        #expect(engine.decide(.udp(a, 4500, to: vip, 4500), now: t(1)).real == 0)
        #expect(engine.decide(.esp(a, to: vip), now: t(1)).real == 0)
        #expect(engine.decide(.esp(b, to: vip), now: t(1)).real == 1)
        // Three sticky hits later, the next new client still gets the next real in turn.
        #expect(engine.decide(.udp(client(12), 500, to: vip, 500), now: t(2)).real == 2)

        let snapshot = engine.snapshot(now: t(2), connections: .all)
        #expect(snapshot.sticky.count == 3)
        #expect(snapshot.sticky.first { $0.client == a }?.connections == 3)
        #expect(snapshot.sticky.allSatisfy { $0.group == 1 && $0.expiresIn == nil })
        #expect(snapshot.stats.stickyCreated == 3)
    }

    @Test("the sticky timer starts only when the object's last connection goes")
    func timerStartsAfterLastConnection() {
        let engine = makeEngine(ipsecConfiguration(weights: [1, 1, 1], sticky: 300, idle: 60))
        let a = client(10)
        #expect(engine.decide(.udp(a, 500, to: vip, 500), now: t(0)).real == 0)
        #expect(engine.decide(.esp(a, to: vip), now: t(0)).real == 0)
        #expect(engine.decide(.esp(a, to: vip), now: t(30)).real == 0)

        _ = engine.expire(now: t(61))          // ISAKMP idle since 0: gone; ESP seen at 30 stays
        var object = engine.snapshot(now: t(61), connections: .client(a)).sticky
        #expect(object.map(\.connections) == [1])
        #expect(object.first?.expiresIn == nil)

        _ = engine.expire(now: t(90))          // ESP idle since 30: gone, timer starts at 90
        object = engine.snapshot(now: t(100), connections: .client(a)).sticky
        #expect(object.map(\.connections) == [0])
        #expect(object.first?.expiresIn == .seconds(290))

        // Meanwhile the rotation moved on, but the client returns to its real.
        #expect(placements(engine, count: 1, firstClient: 50, at: t(100)) == [1])
        #expect(engine.decide(.udp(a, 500, to: vip, 500), now: t(200)).real == 0)
        _ = engine.expire(now: t(261))
        _ = engine.expire(now: t(389))          // 261 + 300 = 561 is the new deadline; still held
        #expect(engine.snapshot(now: t(389), connections: .client(a)).sticky.count == 1)
    }

    @Test("an unreferenced object expires after the timer, then the client is balanced afresh")
    func objectExpires() {
        let engine = makeEngine(ipsecConfiguration(weights: [1, 1, 1], sticky: 300, idle: 60))
        let a = client(10)
        #expect(engine.decide(.udp(a, 500, to: vip, 500), now: t(0)).real == 0)
        _ = engine.expire(now: t(60))
        _ = engine.expire(now: t(359))
        #expect(engine.snapshot(now: t(359), connections: .all).sticky.count == 1)
        _ = engine.expire(now: t(360))
        let snapshot = engine.snapshot(now: t(360), connections: .all)
        #expect(snapshot.sticky.isEmpty)
        #expect(snapshot.stats.stickyDestroyed == 1)
        #expect(engine.decide(.udp(a, 500, to: vip, 500), now: t(361)).real == 1)
    }

    @Test("within a group the largest sticky timer applies")
    func largestTimerInGroup() {
        var configuration = ipsecConfiguration(weights: [1, 1])
        configuration.vservers[0].sticky = StickySettings(seconds: 100, group: 1)
        configuration.vservers[2].sticky = StickySettings(seconds: 300, group: 1)
        configuration.vservers[1].sticky = StickySettings(seconds: 200, group: 1)
        let engine = makeEngine(configuration)
        #expect(engine.decide(.udp(client(10), 500, to: vip, 500), now: t(0)).real == 0)
        _ = engine.clearConnections(.all, now: t(10))
        #expect(engine.snapshot(now: t(10), connections: .all).sticky.first?.expiresIn == .seconds(300))
    }

    @Test("group 0 is private to its vserver and shown as 4097 + vserver index")
    func groupZeroIsPrivate() {
        let configuration = SLBConfiguration(
            farms: [farm(weights: [1, 1, 1])],
            vservers: [isakmp(sticky: StickySettings(seconds: 60)), esp(sticky: StickySettings(seconds: 60))])
        let engine = makeEngine(configuration)
        let a = client(10)
        #expect(engine.decide(.udp(a, 500, to: vip, 500), now: t(0)).real == 0)
        #expect(engine.decide(.esp(a, to: vip), now: t(0)).real == 1)
        let groups = engine.snapshot(now: t(0), connections: .all).sticky.map(\.group)
        #expect(groups == [4097, 4098])
    }

    @Test("the sticky netmask binds a whole client subnet")
    func netmaskBindsSubnet() {
        var configuration = ipsecConfiguration(weights: [1, 1, 1])
        let settings = StickySettings(seconds: 3600, group: 1, netmask: IPv4Mask(prefixLength: 24)!)
        for i in configuration.vservers.indices { configuration.vservers[i].sticky = settings }
        let engine = makeEngine(configuration)
        #expect(engine.decide(.udp(client(10), 500, to: vip, 500), now: t(0)).real == 0)
        #expect(engine.decide(.udp(client(20), 500, to: vip, 500), now: t(0)).real == 0)
        #expect(engine.decide(.udp(IPv4Address(198, 51, 100, 200), 500, to: vip, 500), now: t(0)).real == 1)
        let sticky = engine.snapshot(now: t(0), connections: .client(client(99))).sticky
        #expect(sticky.map(\.client) == [IPv4Address(192, 0, 2, 0)])
        #expect(sticky.first?.connections == 2)
    }

    /// Spec §7 item 4: with maxconns 2, the third buddied connection still lands on the
    /// throttled real; a new client does not.
    @Test("a sticky client still reaches its real at MAXCONNS")
    func stickyOnThrottledReal() {
        let engine = makeEngine(ipsecConfiguration(weights: [1, 1], maxConns: 2))
        let a = client(10)
        #expect(engine.decide(.udp(a, 500, to: vip, 500), now: t(0)).real == 0)
        #expect(engine.decide(.udp(a, 4500, to: vip, 4500), now: t(0)).real == 0)
        #expect(engine.snapshot(now: t(0), connections: .none).reals[0].state == .maxConns)
        #expect(engine.decide(.esp(a, to: vip), now: t(0)).real == 0)
        #expect(engine.snapshot(now: t(0), connections: .none).reals[0].connections == 3)
        #expect(placements(engine, count: 2, firstClient: 20) == [1, 1])
    }

    @Test("a sticky hit on a failed real is rebound by the predictor and later flows follow")
    func rebindAfterFailure() {
        let engine = makeEngine(ipsecConfiguration(weights: [1, 1, 1]))
        let a = client(10)
        #expect(engine.decide(.udp(a, 500, to: vip, 500), now: t(0)).real == 0)
        failReal(engine, 0, at: t(1))
        // No purge: the existing ISAKMP connection still goes to the dead real (IOS).
        #expect(engine.decide(.udp(a, 500, to: vip, 500), now: t(2)).real == 0)
        // The new ESP connection cannot use the binding: predictor, then rebind.
        #expect(engine.decide(.esp(a, to: vip), now: t(2)).real == 1)
        #expect(engine.decide(.udp(a, 4500, to: vip, 4500), now: t(3)).real == 1)
        let snapshot = engine.snapshot(now: t(3), connections: .client(a))
        #expect(snapshot.sticky.map(\.real) == [gateway(2)])
        #expect(snapshot.sticky.first?.connections == 3)
        #expect(snapshot.stats.stickyCreated == 1)
    }

    @Test("a binding to a real outside the vserver's farms is not honoured")
    func bindingOutsideFarm() {
        let settings = StickySettings(seconds: 60, group: 7)
        let configuration = SLBConfiguration(
            farms: [farm("EAST", weights: [1, 1]),
                    ServerFarm(name: "WEST", reals: [RealServer(address: gateway(9), inService: true)])],
            vservers: [isakmp("EAST", sticky: settings), esp("WEST", sticky: settings)])
        let engine = makeEngine(configuration)
        let a = client(10)
        #expect(engine.decide(.udp(a, 500, to: vip, 500), now: t(0)).real == 0)
        #expect(engine.decide(.esp(a, to: vip), now: t(0)).real == 2)
        #expect(engine.snapshot(now: t(0), connections: .client(a)).sticky.map(\.real) == [gateway(9)])
    }
}
