import SLBCore
import SLBWire

/// `show ip slb probe [name NAME] [detail]` (spec §3.6; the seed does not show it).
///
/// One row per (probe, real). Columns follow the spec (State 15, Outages 9, Current 9,
/// Cumulative), except `Server:Port`, widened from 21 to 22 so `255.255.255.255:65535` keeps a
/// space after it. Durations are `hh:mm:ss`; an outage of 100 hours or more is longer than its
/// column and moves the rest of that row right (never cut).
public enum ProbeTable {
    static let layout = TableLayout(columns: [
        .init("Server:Port", 22),
        .init("State", 15),
        .init("Outages", 9),
        .init("Current", 9),
        .init("Cumulative", 0),
    ], ruleLength: 65)  // the spec's 64 plus the widened first column

    public static func summary(_ probes: [ProbeSnapshot]) -> String {
        layout.render(probes.map { probe in
            [endpoint(probe.real, probe.port),
             probe.state.rawValue,
             String(probe.outages),
             probe.currentOutage?.description ?? "never",
             probe.cumulativeOutage.description]
        })
    }

    /// Probe name and type, interval, faildetect and progress towards it, outages, last RTT.
    public static func detail(_ probes: [ProbeSnapshot]) -> String {
        var text = ""
        for probe in probes {
            text += "\(probe.probe), type = \(probe.kind.rawValue), real = \(endpoint(probe.real, probe.port)), farm = \(probe.farm)\n"
            text += "  state = \(probe.state.rawValue), interval = \(probe.interval), faildetect = \(probe.faildetect), consecutive misses = \(probe.consecutiveMisses)\n"
            text += "  outages = \(probe.outages), current outage = \(probe.currentOutage?.description ?? "never"), cumulative outage = \(probe.cumulativeOutage)\n"
            text += "  last rtt = \(probe.lastRTT.map(milliseconds) ?? "none")\n"
        }
        return text
    }
}
