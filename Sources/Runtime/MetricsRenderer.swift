import SLBCore
import SLBWire

/// What one scrape shows, gathered on the forwarding thread once a second.
public struct MetricsInput: Sendable {
    public var snapshot: SLBSnapshot
    public var footprint: TableFootprint
    public var limits: (connections: Int, sticky: Int)
    /// Engine events by dotted name (`slb.real.down` ...).
    public var events: [String: UInt64]
    /// Dataplane drops by reason (`no-neighbour`, `ttl-expired`, ...), and packets in/out.
    public var dataplaneDrops: [String: UInt64]
    public var dataplanePackets: (received: UInt64, forwarded: UInt64)

    public init(snapshot: SLBSnapshot, footprint: TableFootprint, limits: (connections: Int, sticky: Int),
                events: [String: UInt64] = [:], dataplaneDrops: [String: UInt64] = [:],
                dataplanePackets: (received: UInt64, forwarded: UInt64) = (0, 0)) {
        self.snapshot = snapshot
        self.footprint = footprint
        self.limits = limits
        self.events = events
        self.dataplaneDrops = dataplaneDrops
        self.dataplanePackets = dataplanePackets
    }
}

/// Prometheus text exposition format 0.0.4 (HELP/TYPE lines, `name{label="v"} value`),
/// rendered by hand: a few dozen families do not justify a dependency tree (see README).
/// Families and samples come in a fixed order, so equal inputs give equal bytes (golden tests).
public enum MetricsRenderer {
    public static let contentType = "text/plain; version=0.0.4; charset=utf-8"

    public static func render(_ input: MetricsInput) -> String {
        var out = Exposition()
        let snapshot = input.snapshot

        out.family("vpnslb_real_connections", "gauge", "Connections currently assigned to the real.")
        for real in snapshot.reals { out.sample(labels: realLabels(real), Double(real.connections)) }
        out.family("vpnslb_real_connections_total", "counter", "Connections ever assigned to the real.")
        for real in snapshot.reals { out.sample(labels: realLabels(real), Double(real.totalConnections)) }
        out.family("vpnslb_real_packets_total", "counter", "Packets the SLB sent to the real.")
        for real in snapshot.reals { out.sample(labels: realLabels(real), Double(real.packets)) }
        out.family("vpnslb_real_weight", "gauge", "Configured weight of the real.")
        for real in snapshot.reals { out.sample(labels: realLabels(real), Double(real.weight)) }
        out.family("vpnslb_real_state", "gauge", "1 for the real's current IOS state, 0 for the others.")
        for real in snapshot.reals {
            for state in RealState.allCases {
                out.sample(labels: realLabels(real) + [("state", state.rawValue)], real.state == state ? 1 : 0)
            }
        }

        out.family("vpnslb_probe_up", "gauge", "1 when the probe instance is not failing.")
        for probe in snapshot.probes { out.sample(labels: probeLabels(probe), probe.state == .failed ? 0 : 1) }
        out.family("vpnslb_probe_rtt_seconds", "gauge", "Round-trip time of the last successful probe.")
        for probe in snapshot.probes {
            guard let rtt = probe.lastRTT else { continue }
            out.sample(labels: probeLabels(probe), Double(rtt.nanoseconds) / 1e9)
        }
        out.family("vpnslb_probe_outages_total", "counter", "Times the probe instance failed the real.")
        for probe in snapshot.probes { out.sample(labels: probeLabels(probe), Double(probe.outages)) }

        out.family("vpnslb_vserver_connections", "gauge", "Connections currently held by the vserver.")
        for vserver in snapshot.vservers { out.sample(labels: [("vserver", vserver.name)], Double(vserver.connections)) }
        out.family("vpnslb_vserver_connections_total", "counter", "Connections ever created by the vserver.")
        for vserver in snapshot.vservers { out.sample(labels: [("vserver", vserver.name)], Double(vserver.totalConnections)) }
        out.family("vpnslb_vserver_packets_total", "counter", "Packets the vserver load balanced.")
        for vserver in snapshot.vservers { out.sample(labels: [("vserver", vserver.name)], Double(vserver.packets)) }
        out.family("vpnslb_vserver_up", "gauge", "1 when the vserver is OPERATIONAL.")
        for vserver in snapshot.vservers {
            out.sample(labels: [("vserver", vserver.name)], vserver.state == .operational ? 1 : 0)
        }

        let stats = snapshot.stats
        out.family("vpnslb_packets_balanced_total", "counter", "Packets load balanced by the engine.")
        out.sample(labels: [], Double(stats.packetsBalanced))
        out.family("vpnslb_connections_created_total", "counter", "Connections created.")
        out.sample(labels: [], Double(stats.connectionsCreated))
        out.family("vpnslb_connections_destroyed_total", "counter", "Connections destroyed (idle, purge, clear).")
        out.sample(labels: [], Double(stats.connectionsDestroyed))
        out.family("vpnslb_connections_purged_total", "counter", "Connections removed by failaction purge or clear.")
        out.sample(labels: [], Double(stats.connectionsPurged))
        out.family("vpnslb_drops_total", "counter", "Packets dropped, by reason (engine and dataplane).")
        var drops = stats.drops
        drops["passed"] = stats.packetsPassed
        for (reason, count) in input.dataplaneDrops { drops[reason, default: 0] += count }
        for reason in drops.keys.sorted() { out.sample(labels: [("reason", reason)], Double(drops[reason] ?? 0)) }
        out.family("vpnslb_dataplane_packets_total", "counter", "Frames received on the public side and forwarded.")
        out.sample(labels: [("direction", "received")], Double(input.dataplanePackets.received))
        out.sample(labels: [("direction", "forwarded")], Double(input.dataplanePackets.forwarded))

        out.family("vpnslb_table_entries", "gauge", "Live entries of the connection and sticky tables.")
        out.sample(labels: [("table", "connections")], Double(input.footprint.connections))
        out.sample(labels: [("table", "sticky")], Double(input.footprint.sticky))
        out.family("vpnslb_table_limit", "gauge", "ip slb entries caps.")
        out.sample(labels: [("table", "connections")], Double(input.limits.connections))
        out.sample(labels: [("table", "sticky")], Double(input.limits.sticky))
        out.family("vpnslb_table_fill_ratio", "gauge", "Live entries divided by the cap.")
        out.sample(labels: [("table", "connections")], ratio(input.footprint.connections, input.limits.connections))
        out.sample(labels: [("table", "sticky")], ratio(input.footprint.sticky, input.limits.sticky))
        out.family("vpnslb_table_bytes", "gauge", "Memory the table holds, reserved capacity included.")
        out.sample(labels: [("table", "connections")], Double(input.footprint.connectionTableBytes))
        out.sample(labels: [("table", "sticky")], Double(input.footprint.stickyTableBytes))

        out.family("vpnslb_events_total", "counter", "Engine events by name.")
        for name in input.events.keys.sorted() { out.sample(labels: [("event", name)], Double(input.events[name] ?? 0)) }
        return out.text
    }

    private static func realLabels(_ real: RealSnapshot) -> [(String, String)] {
        [("farm", real.farm), ("real", real.address.description)]
    }

    private static func probeLabels(_ probe: ProbeSnapshot) -> [(String, String)] {
        [("probe", probe.probe), ("farm", probe.farm), ("real", probe.real.description)]
    }

    private static func ratio(_ count: Int, _ limit: Int) -> Double {
        limit > 0 ? Double(count) / Double(limit) : 0
    }
}

/// The text being built; one family's HELP/TYPE, then its samples.
struct Exposition {
    var text = ""
    private var name = ""

    mutating func family(_ name: String, _ type: String, _ help: String) {
        self.name = name
        text += "# HELP \(name) \(help)\n# TYPE \(name) \(type)\n"
    }

    mutating func sample(labels: [(String, String)], _ value: Double) {
        text += name
        if !labels.isEmpty {
            text += "{" + labels.map { "\($0.0)=\"\(Exposition.escape($0.1))\"" }.joined(separator: ",") + "}"
        }
        text += " " + Exposition.format(value) + "\n"
    }

    /// Integers without a fraction (counters stay exact up to 2^53), others in Swift's
    /// shortest round-trip form, which Prometheus's float parser accepts.
    static func format(_ value: Double) -> String {
        if value.isNaN { return "NaN" }
        if value.isInfinite { return value > 0 ? "+Inf" : "-Inf" }
        if value == value.rounded(), abs(value) < 9.007_199_254_740_992e15 { return String(Int64(value)) }
        return "\(value)"
    }

    /// Label values escape backslash, double quote and newline (exposition format spec).
    static func escape(_ value: String) -> String {
        var out = ""
        for character in value {
            switch character {
            case "\\": out += "\\\\"
            case "\"": out += "\\\""
            case "\n": out += "\\n"
            default: out.append(character)
            }
        }
        return out
    }
}
