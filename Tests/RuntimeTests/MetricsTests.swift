import Runtime
import SLBConfig
import SLBCore
import SLBWire
import Testing

/// Prometheus exposition: a golden rendering, escaping, and the HTTP answer.
@Suite("Metrics")
struct MetricsTests {
    static func input() throws -> MetricsInput {
        let configuration = try parsed()
        let engine = loadedEngine(clients: 4, configuration: configuration)
        _ = engine.probeResult(real: RealID(0), probe: "PING", success: true, rtt: .milliseconds(2), now: t(2))
        for _ in 0..<3 { _ = engine.probeResult(real: RealID(2), probe: "PING", success: false, rtt: nil, now: t(2)) }
        let limits = configuration.entries
        var footprint = engine.tableFootprint
        // Byte counts depend on the allocator's growth; the golden pins the entries.
        footprint.connectionTableBytes = 4096
        footprint.stickyTableBytes = 2048
        return MetricsInput(snapshot: engine.snapshot(now: t(2), connections: .none), footprint: footprint,
                            limits: (limits.connections, limits.sticky), events: ["slb.real.down": 1],
                            dataplaneDrops: ["no-neighbour": 2], dataplanePackets: (received: 20, forwarded: 18))
    }

    @Test("golden exposition text")
    func golden() throws {
        let text = MetricsRenderer.render(try Self.input())
        #expect(text == MetricsGolden.text, "\(text)")
    }

    @Test("every sample line parses as name{labels} value")
    func wellFormed() throws {
        for line in MetricsRenderer.render(try Self.input()).split(separator: "\n") where !line.hasPrefix("#") {
            // Label values may hold blanks (`reason="no real available"`): the value follows the last one.
            let blank = try #require(line.lastIndex(of: " "))
            #expect(Double(line[line.index(after: blank)...]) != nil, "\(line)")
            #expect(line.hasPrefix("vpnslb_"))
            #expect(line[..<blank].hasSuffix("}") || !line[..<blank].contains("{"), "\(line)")
        }
    }
}
