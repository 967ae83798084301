import ArgumentParser
import Foundation
import Runtime
import SLBConfig
import SLBShow
import SLBSimulate

/// `slb simulate FILE ...`: how a farm behaves with a synthetic client population, without a
/// network. The work is SLBSimulate's; this parses arguments, reads the file and prints.
struct SimulateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "simulate",
        abstract: "Simulate IPsec clients against a farm configuration and print 'show ip slb' tables.",
        discussion: """
            Clients from the lab plan (192.0.2.10-.254, then 198.51.100.129-.254) arrive during the \
            first half of the run, start IKE on udp 500 and then send ESP, or NAT-T on udp 4500 \
            from a NAT-assigned port. Output depends only on the arguments: one seed, one output. \
            Without --show it prints a summary and the book's three tables (conns, reals, vservers).
            """)

    @Argument(help: "Configuration file (IOS 'ip slb' syntax).")
    var file: String

    @Option(help: "Number of clients (0...\(ClientAddressPlan.capacity)).")
    var clients = SimulationParameters.defaultClients

    @Option(name: .customLong("natt-share"), help: "Share of clients behind NAT using NAT-T (0...1).")
    var nattShare = SimulationParameters.defaultNATTShare

    @Option(name: .customLong("leave-share"), help: "Share of clients that stop sending before the end (0...1).")
    var leaveShare = SimulationParameters.defaultLeaveShare

    @Option(help: "Seed of the population and probe timings.")
    var seed: UInt64 = 1

    @Option(help: "Simulated seconds (1...\(SimulationParameters.maximumDuration)).")
    var duration = SimulationParameters.defaultDuration

    @Option(name: .customLong("fail"), help: ArgumentHelp(
        "Fail a real's probes from a time: REAL@SECONDS or REAL@FROM-UNTIL (repeatable).", valueName: "REAL@SECONDS"))
    var failures: [String] = []

    @Option(name: .customLong("show"), help: ArgumentHelp(
        "A table to print, as after 'show ip slb': conns, reals, vservers, serverfarms, sticky, probe, stats, "
            + "with filters and 'detail' (quote it: --show 'conns client 192.0.2.10'). Repeatable.", valueName: "TABLE"))
    var shows: [String] = []

    @Flag(help: "Print the summary too when --show is given.")
    var summary = false

    @Flag(help: "Print one JSON document (parameters, summary, tables) instead of text.")
    var json = false

    func run() throws {
        var parsedFailures: [SimulationParameters.Failure] = []
        for text in failures {
            guard let failure = SimulationParameters.Failure(text) else {
                throw ValidationError("--fail \(text): expected REAL@SECONDS or REAL@FROM-UNTIL, e.g. 198.51.100.12@120")
            }
            parsedFailures.append(failure)
        }
        var tables: [ShowRequest] = []
        for text in shows {
            do {
                tables.append(try ShowCommandParser.parse(text))
            } catch {
                throw ValidationError("--show \(text): \(error)")
            }
        }

        let text: String
        do {
            text = try ConfigurationFile.read(path: file)
        } catch {
            FileHandle.standardError.write(Data("\(file): error: \(error)\n".utf8))
            throw ExitCode.failure
        }
        let parsed = ConfigParser.parse(text, file: file)
        let report = parsed.diagnostics.map { $0.description + "\n" }.joined()
        if !report.isEmpty { FileHandle.standardError.write(Data(report.utf8)) }
        guard let configuration = parsed.configuration else { throw ExitCode.failure }

        let parameters = SimulationParameters(clients: clients, nattShare: nattShare, leaveShare: leaveShare,
                                              seed: seed, failures: parsedFailures, duration: duration)
        let result: SimulationResult
        do {
            result = try Simulation.run(configuration: configuration, parameters: parameters)
        } catch .noVirtualServer {
            // The file's fault, not the arguments': one line naming the file, no usage text.
            FileHandle.standardError.write(Data("\(file): error: \(SimulationError.noVirtualServer)\n".utf8))
            throw ExitCode.failure
        } catch {
            throw ValidationError(error.description)
        }
        let chosen = tables.isEmpty ? SimulationReport.defaultTables : tables
        if json {
            print(try SimulationReport.json(result, tables: chosen), terminator: "")
        } else {
            print(try SimulationReport.text(result, tables: chosen, summary: tables.isEmpty || summary), terminator: "")
        }
    }
}
