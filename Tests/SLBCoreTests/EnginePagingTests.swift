import SLBConfig
import SLBCore
import SLBWire
import Testing

/// `connectionRows(after:limit:)` and `stickyRows`: the incremental listing behind a large
/// `show ip slb conns` served between packet batches.
@Suite("Engine incremental table walk")
struct EnginePagingTests {
    static func loaded(clients: Int) -> Engine {
        let engine = Engine(configuration: ipsecConfiguration(), hashSeed: 11)
        for n in 0..<clients {
            let c = IPv4Address(0xC000_0200 | UInt32(n & 0xFF) | UInt32(n >> 8) << 8)
            _ = engine.decide(.udp(c, 500, to: vip, 500), now: t(1))
            _ = engine.decide(.esp(c, to: vip), now: t(1))
        }
        return engine
    }

    static func walk(_ engine: Engine, limit: Int, filter: ConnectionFilter = .all) -> [ConnectionSnapshot] {
        var rows: [ConnectionSnapshot] = []
        var cursor: TableCursor? = .start
        var pages = 0
        while let at = cursor, pages < 100_000 {
            let page = engine.connectionRows(after: at, limit: limit, filter: filter)
            rows += page.rows
            cursor = page.next
            pages += 1
        }
        return rows
    }

    @Test("pages of any size concatenate to exactly the full snapshot", arguments: [1, 7, 64, 4096, 100_000])
    func pagesConcatenate(limit: Int) {
        let engine = Self.loaded(clients: 300)
        let full = engine.snapshot(now: t(2), connections: .all).connections
        #expect(full.count == 600)
        #expect(Self.walk(engine, limit: limit) == full)
    }

    @Test("filters match the snapshot's", arguments: [ConnectionFilter.vserver("ESP"), .client(IPv4Address(192, 0, 2, 5)),
                                                      .vserver("NO-SUCH")])
    func filters(filter: ConnectionFilter) {
        let engine = Self.loaded(clients: 50)
        #expect(Self.walk(engine, limit: 16, filter: filter) == engine.snapshot(now: t(2), connections: filter).connections)
    }

    @Test("inserts and deletes between pages: no row twice, every connection present throughout is listed once")
    func stableUnderChurn() {
        let engine = Self.loaded(clients: 200)
        var cursor: TableCursor? = .start
        var rows: [ConnectionSnapshot] = []
        var round: UInt64 = 0
        while let at = cursor {
            let page = engine.connectionRows(after: at, limit: 32)
            rows += page.rows
            cursor = page.next
            round += 1
            // New clients arrive and the table grows while the listing runs.
            for n in 0..<20 {
                let c = IPv4Address(198, 51, 100, UInt8(128 + (Int(round) * 20 + n) % 120))
                _ = engine.decide(.udp(c, UInt16(1000 + round), to: vip, 4500), now: t(2))
            }
        }
        let keys = rows.map { "\($0.vserver) \($0.client):\($0.clientPort)" }
        #expect(Set(keys).count == keys.count)
        let original = Set(Self.loaded(clients: 200).snapshot(now: t(2), connections: .all).connections
            .map { "\($0.vserver) \($0.client):\($0.clientPort)" })
        #expect(original.isSubset(of: Set(keys)))
    }

    @Test("clearing the table mid-walk ends the walk cleanly")
    func clearedMidWalk() {
        let engine = Self.loaded(clients: 100)
        let first = engine.connectionRows(after: .start, limit: 10)
        #expect(first.next != nil)
        _ = engine.clearConnections(.all, now: t(2))
        let rest = Self.walk(engine, limit: 10)
        #expect(rest.isEmpty)
        _ = engine.connectionRows(after: TableCursor(slot: 1_000_000), limit: 10)
    }

    @Test("sticky pages concatenate to the snapshot's sticky rows")
    func stickyPages() {
        let engine = Self.loaded(clients: 120)
        var cursor: TableCursor? = .start
        var rows: [StickySnapshot] = []
        while let at = cursor {
            let page = engine.stickyRows(after: at, limit: 5, now: t(2))
            rows += page.rows
            cursor = page.next
        }
        #expect(rows.count == 120)
        #expect(rows == engine.snapshot(now: t(2), connections: .all).sticky)
    }
}
