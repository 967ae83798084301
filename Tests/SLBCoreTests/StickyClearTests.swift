import SLBConfig
import SLBCore
import SLBWire
import Testing

/// `clear ip slb sticky [client IP] [group N]` (VPNSLB extension, spec §4): idle sticky
/// objects go, objects in use by connections stay.
@Suite struct StickyClearTests {
    /// Clients 10 (real 0) and 11 (real 1) have idled out, their objects wait on the sticky
    /// timer; client 12 (real 0) is connected.
    static func loaded() -> Engine {
        let engine = makeEngine(ipsecConfiguration(weights: [1, 1], sticky: 3600, idle: 60))
        _ = engine.decide(.udp(client(10), 500, to: vip, 500), now: t(0))
        _ = engine.decide(.udp(client(11), 500, to: vip, 500), now: t(0))
        _ = engine.expire(now: t(70))
        _ = engine.decide(.udp(client(12), 500, to: vip, 500), now: t(70))
        return engine
    }

    struct Case: CustomTestStringConvertible, Sendable {
        let client: IPv4Address?
        let group: Int?
        let result: StickyClearResult?
        var testDescription: String {
            "client \(client.map(String.init(describing:)) ?? "any") group \(group.map(String.init) ?? "any")"
        }
    }

    @Test("matching idle objects are removed, objects in use are kept and counted", arguments: [
        Case(client: nil, group: nil, result: StickyClearResult(removed: 2, inUse: 1)),
        Case(client: client(10), group: nil, result: StickyClearResult(removed: 1, inUse: 0)),
        Case(client: client(12), group: nil, result: StickyClearResult(removed: 0, inUse: 1)),
        Case(client: client(99), group: nil, result: StickyClearResult(removed: 0, inUse: 0)),
        Case(client: nil, group: 1, result: StickyClearResult(removed: 2, inUse: 1)),
        Case(client: client(10), group: 1, result: StickyClearResult(removed: 1, inUse: 0)),
        Case(client: nil, group: 7, result: nil),
    ])
    func clear(_ c: Case) {
        let engine = Self.loaded()
        #expect(engine.clearSticky(client: c.client, group: c.group) == c.result)
        let removed = c.result?.removed ?? 0
        let snapshot = engine.snapshot(now: t(71), connections: .all)
        #expect(snapshot.sticky.count == 3 - removed)
        #expect(snapshot.stats.stickyDestroyed == UInt64(removed))
        #expect(snapshot.connections.count == 1)   // connections are never touched
        // Client 10 was bound to real 0; once its object is gone the round robin places it
        // afresh (next in turn: real 1).
        let cleared = c.result != nil && c.result!.removed > 0 && (c.client == nil || c.client == client(10))
        #expect(engine.decide(.udp(client(10), 500, to: vip, 500), now: t(72)).real == (cleared ? 1 : 0))
        // The connected client keeps its binding: its ESP follows its IKE.
        #expect(engine.decide(.esp(client(12), to: vip), now: t(72)).real == 0)
    }

    @Test("clear connections, then clear sticky, resets a client completely")
    func connectionsThenSticky() {
        let engine = Self.loaded()
        _ = engine.clearConnections(.all, now: t(80))
        #expect(engine.clearSticky(client: nil, group: nil) == StickyClearResult(removed: 3, inUse: 0))
        #expect(engine.snapshot(now: t(80), connections: .all).sticky.isEmpty)
    }

    @Test("a private (group 0) domain is cleared under the group show prints")
    func privateGroup() {
        let configuration = SLBConfiguration(
            farms: [farm(weights: [1, 1])],
            vservers: [isakmp(sticky: StickySettings(seconds: 600, group: 0), idle: 60)])
        let engine = makeEngine(configuration)
        _ = engine.decide(.udp(client(10), 500, to: vip, 500), now: t(0))
        _ = engine.expire(now: t(61))
        let group = engine.snapshot(now: t(61), connections: .all).sticky.first?.group
        #expect(group == Engine.privateStickyGroupBase)
        #expect(engine.clearSticky(client: nil, group: 1) == nil)
        #expect(engine.clearSticky(client: nil, group: Engine.privateStickyGroupBase)
            == StickyClearResult(removed: 1, inUse: 0))
    }
}
