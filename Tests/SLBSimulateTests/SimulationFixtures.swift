import Foundation
import SLBConfig
import SLBCore
import SLBShow
import SLBSimulate
import SLBWire
import Testing

/// The project's default farm (Farms/vpn-natt.cfg), parsed with SLBConfig, and helpers that
/// read the printed tables back the way an operator's script would.
enum Farm {
    static func text(_ name: String = "vpn-natt.cfg") throws -> String {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent()
        return try String(contentsOf: root.appendingPathComponent("Farms").appendingPathComponent(name), encoding: .utf8)
    }

    static func configuration(_ text: String) throws -> SLBConfiguration {
        let result = ConfigParser.parse(text, file: "vpn-natt.cfg")
        return try #require(result.configuration, "\(result.diagnostics)")
    }

    static func defaultFarm() throws -> SLBConfiguration { try configuration(try text()) }

    static let gateway1 = IPv4Address(198, 51, 100, 11)
    static let gateway2 = IPv4Address(198, 51, 100, 12)

    static func run(_ parameters: SimulationParameters, configuration: SLBConfiguration? = nil,
                    tables: [String] = ["conns", "reals", "vservers"], summary: Bool = true) throws -> (SimulationResult, String) {
        let result = try Simulation.run(configuration: try configuration ?? defaultFarm(), parameters: parameters)
        let requests = try tables.map { try ShowCommandParser.parse($0) }
        return (result, try SimulationReport.text(result, tables: requests, summary: summary))
    }
}

/// A printed table read back: the lines after `slb#COMMAND`, its header and rule.
struct PrintedTable {
    var header: String
    var rows: [String]

    init(_ output: String, command: String) throws {
        let lines = output.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let start = try #require(lines.firstIndex(of: "slb#\(command)"), "no \(command) in output")
        // slb#COMMAND, blank line, header, rule, rows up to the next blank line.
        try #require(lines.count > start + 3)
        header = lines[start + 2]
        rows = Array(lines[(start + 4)...].prefix { !$0.isEmpty })
    }

    /// Whitespace-separated fields of each row.
    var fields: [[String]] { rows.map { $0.split(separator: " ").map(String.init) } }
}
