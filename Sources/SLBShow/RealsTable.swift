import SLBCore
import SLBWire

/// `show ip slb reals [sfarm NAME] [detail]` (IOS also accepts `realserver`).
///
/// Summary columns measured from seed 002, Example 6-14 (`show ip slb realserver`): real at 0,
/// farm name at 22, weight at 39, state at 47, conns at 62, under a 67-dash rule. The real
/// column holds `255.255.255.255:65535`; farm names are cut to 16 characters.
public enum RealsTable {
    static let layout = TableLayout(columns: [
        .init("real", 22),
        .init("farm name", 17, .truncate),
        .init("weight", 8),
        .init("state", 15),
        .init("conns", 0),
    ], ruleLength: 67)

    public static func summary(_ reals: [RealSnapshot]) -> String {
        layout.render(reals.map { real in
            [realName(real.address, real.port),
             real.farm,
             String(real.weight),
             real.state.rawValue,
             String(real.connections)]
        })
    }

    /// The IOS detail block (spec §3.2) with the fields a UDP/ESP farm has. IOS's TCP-only
    /// lines (dummy_conns, reassign, failconn/failclient thresholds, metric) are left out
    /// rather than printed as made-up zeros; `packets` and, while it lasts, `slow start = active`
    /// (least connections, spec §2.2) are VPNSLB additions.
    public static func detail(_ reals: [RealSnapshot]) -> String {
        var text = ""
        for real in reals {
            text += "\(realName(real.address, real.port)), \(real.farm), state = \(real.state.rawValue), type = server\n"
            text += "  conns = \(real.connections), maxconns = \(real.maxConns)\n"
            text += "  weight = \(real.weight), weight(admin) = \(real.adminWeight), remainder = \(real.remainder)\n"
            text += "  retry = \(real.retry)\n"
            text += "  total conns established = \(real.totalConnections), server failures = \(real.serverFailures)\n"
            text += "  packets = \(real.packets)\n"
            // VPNSLB addition, only while it applies (leastconns, just placed in service).
            if real.slowStart == true { text += "  slow start = active\n" }
        }
        return text
    }
}
