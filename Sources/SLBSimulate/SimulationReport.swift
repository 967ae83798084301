import SLBCore
import SLBShow
import SLBWire

/// Prints a run as an operator reads it: a short summary (population, failures, events with
/// simulated timestamps, clients per real), then the requested `show ip slb` tables in IOS
/// format, each under the command that would print it; or all of that as one JSON document.
public enum SimulationReport {
    /// The book's three tables (seed 002, Example 6-14).
    public static let defaultTables: [ShowRequest] = [
        ShowRequest(table: .conns(.all)),
        ShowRequest(table: .reals(farm: nil)),
        ShowRequest(table: .vservers(name: nil)),
    ]

    public static func text(_ result: SimulationResult, tables: [ShowRequest], summary: Bool) throws -> String {
        var sections: [String] = []
        if summary { sections.append(summaryText(result)) }
        for request in tables {
            var plain = request
            plain.json = false
            // The renderer's answer starts with IOS's blank line after the command.
            sections.append("slb#\(plain.command)\n" + (try ShowRenderer.render(plain, result.snapshot)))
        }
        return sections.joined(separator: "\n")
    }

    public static func json(_ result: SimulationResult, tables: [ShowRequest]) throws -> String {
        let document = ReportDocument(
            parameters: .init(result.parameters),
            summary: .init(result),
            tables: tables.map { request in
                var plain = request
                plain.json = false
                return .init(command: plain.command, document: ShowRenderer.select(plain, from: result.snapshot))
            })
        return try ShowJSON.encode(document)
    }

    static func summaryText(_ result: SimulationResult) -> String {
        let parameters = result.parameters
        let summary = ReportDocument.Summary(result)
        var text = "slb simulate: \(result.clients.count) clients (\(summary.natTraversalClients) NAT-T, "
            + "\(summary.leavingClients) leaving), \(parameters.duration) s simulated, seed \(parameters.seed)\n"
        for failure in parameters.failures {
            let until = failure.until.map { " to \($0) s" } ?? ""
            text += "failure: probes of \(failure.real) fail from \(failure.from) s\(until)\n"
        }
        let drops = summary.packets.dropped.values.reduce(0, +)
        text += "packets: \(summary.packets.forwarded) forwarded, \(summary.packets.passed) not balanced, \(drops) dropped"
        if drops > 0 {
            text += " (" + summary.packets.dropped.keys.sorted().map { "\($0): \(summary.packets.dropped[$0] ?? 0)" }
                .joined(separator: ", ") + ")"
        }
        text += "\n"
        if summary.events.isEmpty {
            text += "events: none\n"
        } else {
            text += "events:\n"
            for event in summary.events {
                text += "  \(TimeSpan(nanoseconds: event.at.nanoseconds))  " + pad(event.name, 18) + pad(event.subject, 16)
                    + "\(event.farm)  \(event.detail)\n"
            }
        }
        text += "clients per real at \(TimeSpan.seconds(parameters.duration)):\n"
        for row in summary.clientsPerReal {
            text += "  " + pad(row.real, 18) + "\(row.clients)\n"
        }
        if summary.clientsWithoutConnections > 0 {
            text += "  " + pad("(no connections)", 18) + "\(summary.clientsWithoutConnections)\n"
        }
        text += "clients moved to another real: \(summary.movedClients)\n"
        text += "IKE restarts after a dead gateway: \(summary.ikeRestarts)\n"
        if !summary.splitClients.isEmpty {
            text += "clients split across reals: " + summary.splitClients.joined(separator: ", ") + "\n"
        }
        return text
    }

    private static func pad(_ text: String, _ width: Int) -> String {
        text + String(repeating: " ", count: max(width - text.count, 1))
    }
}

/// The JSON shape of a report (keys sorted on output; see SLBSimulate/README.md).
struct ReportDocument: Codable {
    struct Parameters: Codable {
        struct Failure: Codable {
            var real: IPv4Address
            var from: UInt64
            var until: UInt64?
        }
        var clients: Int
        var nattShare: Double
        var leaveShare: Double
        var seed: UInt64
        var duration: UInt64
        var failures: [Failure]

        init(_ parameters: SimulationParameters) {
            clients = parameters.clients
            nattShare = parameters.nattShare
            leaveShare = parameters.leaveShare
            seed = parameters.seed
            duration = parameters.duration
            failures = parameters.failures.map { Failure(real: $0.real, from: $0.from, until: $0.until) }
        }
    }

    struct Event: Codable {
        var at: MonotonicTime
        var name: String
        /// The real's address, or the vserver for `slb.farm.no_real`.
        var subject: String
        var farm: String
        var detail: String
    }

    struct RealCount: Codable {
        var real: String
        var clients: Int
    }

    struct Summary: Codable {
        var natTraversalClients: Int
        var leavingClients: Int
        var packets: SimulationResult.PacketCounts
        var events: [Event]
        var clientsPerReal: [RealCount]
        var clientsWithoutConnections: Int
        var movedClients: Int
        var ikeRestarts: Int
        var splitClients: [String]

        init(_ result: SimulationResult) {
            natTraversalClients = result.clients.filter(\.natTraversal).count
            leavingClients = result.clients.filter { $0.leaves != nil }.count
            packets = result.packets
            events = result.events.enumerated().sorted { ($0.element.time, $0.offset) < ($1.element.time, $1.offset) }
                .map { Event($0.element) }
            let owner = result.realOfClient
            var counts: [IPv4Address: Int] = [:]
            for client in result.clients { if let real = owner[client.address] { counts[real, default: 0] += 1 } }
            // Every real appears, in engine order, so an empty real is visible as 0.
            var seen = Set<IPv4Address>()
            clientsPerReal = result.snapshot.reals.compactMap { real in
                guard seen.insert(real.address).inserted else { return nil }
                return RealCount(real: real.address.description, clients: counts[real.address] ?? 0)
            }
            clientsWithoutConnections = result.clients.filter { owner[$0.address] == nil }.count
            movedClients = result.moves.filter { $0 > 0 }.count
            ikeRestarts = result.restarts.reduce(0, +)
            splitClients = result.splitClients.map(\.description)
        }
    }

    struct Table: Codable {
        var command: String
        var document: ShowDocument
    }

    var parameters: Parameters
    var summary: Summary
    var tables: [Table]
}

extension ReportDocument.Event {
    init(_ event: EngineEvent) {
        switch event {
        case .realDown(_, let address, let farm, let reason, let at):
            self.init(at: at, name: event.name, subject: address.description, farm: farm, detail: reason)
        case .realUp(_, let address, let farm, let at):
            self.init(at: at, name: event.name, subject: address.description, farm: farm, detail: "probes answer again")
        case .purge(_, let address, let farm, let connections, let at):
            self.init(at: at, name: event.name, subject: address.description, farm: farm,
                      detail: "\(connections) connections removed")
        case .farmNoReal(let farm, let vserver, let at):
            self.init(at: at, name: event.name, subject: vserver, farm: farm, detail: "no real can take a new connection")
        }
    }
}
