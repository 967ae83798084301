import SLBConfig
import SLBCore

/// A proposed new configuration, validated before the engine sees it: `slb configure` lines
/// applied to the running configuration through SLBConfig's `ConfigSession` (IOS mode stack,
/// unique prefixes, merge semantics as at a prompt), or `slb reload` of a whole file
/// (`ConfigParser`, duplicate blocks rejected as in `slb run`). Either is all-or-nothing: on
/// any error the running configuration stays and the diagnostics are the answer.
public enum ConfigurationChange {
    public struct Outcome: Sendable {
        /// The new configuration, nil when it was rejected.
        public var configuration: SLBConfiguration?
        public var diagnostics: [Diagnostic]
    }

    public static func applying(_ lines: [String], to running: SLBConfiguration) -> Outcome {
        var session = ConfigSession(configuration: running, file: "<configure>", redefinition: .merge)
        for (index, line) in lines.enumerated() { _ = session.apply(line, line: index + 1) }
        let result = session.result()
        return Outcome(configuration: result.configuration, diagnostics: result.diagnostics)
    }

    public static func parsing(_ text: String, file: String) -> Outcome {
        let result = ConfigParser.parse(text, file: file)
        return Outcome(configuration: result.configuration, diagnostics: result.diagnostics)
    }

    /// One line for the log and the CLI: what the reconfiguration kept and dropped.
    public static func summary(_ report: ReconfigureReport) -> String {
        var words = ["connections-kept=\(report.restore.connectionsRestored)",
                     "sticky-kept=\(report.restore.stickyRestored)",
                     "connections-dropped=\(report.restore.totalConnectionsDropped)",
                     "sticky-dropped=\(report.restore.totalStickyDropped)",
                     "purged=\(report.purgedConnections)"]
        if !report.draining.isEmpty {
            words.append("draining=\(report.draining.map(\.description).joined(separator: ","))")
        }
        return words.joined(separator: " ")
    }
}
