import SLBCore

/// `show ip slb stats` (spec §3.7): the IOS base block, values at column 29, then VPNSLB's
/// extra counters as the spec suggests ("extra lines after the base block"). The base block is
/// printed whole so a script reading IOS output finds every line; `Zombie Count` and
/// `Connections Reused` are always 0 here: both are TCP states (a connection kept after its
/// close, a TCP entry taken over by a new SYN), and VPNSLB balances UDP and ESP only.
public enum StatsTable {
    static let valueColumn = 29

    public static func render(_ stats: StatsSnapshot) -> String {
        var lines: [(String, UInt64)] = [
            ("Pkts via normal switching:", stats.packetsPassed),
            ("Pkts via special switching:", stats.packetsBalanced),
            ("Connections Created:", stats.connectionsCreated),
            ("Connections Established:", stats.connectionsEstablished),
            ("Connections Destroyed:", stats.connectionsDestroyed),
            ("Connections Reassigned:", stats.connectionsReassigned),
            ("Zombie Count:", 0),
            ("Connections Reused:", 0),
            ("Connections Purged:", stats.connectionsPurged),
            ("Sticky Objects Created:", stats.stickyCreated),
            ("Sticky Objects Destroyed:", stats.stickyDestroyed),
        ]
        var text = lines.map(line).joined()
        text += "Dropped packets:\n"
        lines = stats.drops.keys.sorted().map { reason in ("  \(reason):", stats.drops[reason] ?? 0) }
        text += lines.map(line).joined()
        return text
    }

    private static func line(_ entry: (label: String, value: UInt64)) -> String {
        let pad = max(valueColumn - entry.label.count, 1)
        return entry.label + String(repeating: " ", count: pad) + "\(entry.value)\n"
    }
}
