import ArgumentParser
import BenchKit
import Foundation

/// `slb-bench`: the VPNSLB benchmark scenarios. Each prints a table on stdout, progress on
/// stderr, and writes JSON + SVG under Bench/results/DATE/ (see Bench/README.md).
struct SLBBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "slb-bench",
        abstract: "VPNSLB benchmarks: distribution, scale, forwarding (and how to run the micro benchmarks).",
        subcommands: [Distribution.self, Scale.self, Forwarding.self, Micro.self, Failover.self, List.self])
}

struct Common: ParsableArguments {
    @Option(help: "Farm file (IOS ip slb configuration).")
    var farm: String = FarmLoader.defaultFarm

    @Flag(help: "Small, fast version (the test suite's smoke run): structure, not speed.")
    var smoke = false

    @Option(help: "Directory for JSON and SVG (default: Bench/results/DATE under the current directory).")
    var output: String?

    @Flag(help: "No progress on stderr.")
    var quiet = false

    var destination: BenchOutput {
        if let output { return BenchOutput(directory: URL(fileURLWithPath: output), quiet: quiet) }
        let dated = BenchOutput.dated(root: URL(fileURLWithPath: FileManager.default.currentDirectoryPath))
        return BenchOutput(directory: dated.directory, quiet: quiet)
    }
}

struct Distribution: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: ScenarioName.distribution.summary)
    @OptionGroup var common: Common
    @Option(help: "Clients (default 100,000; smoke 2,000).") var clients: Int?
    @Option(help: "Population seed.") var seed: UInt64?
    @Flag(help: "Also run real IKEv2 tunnels (slb client) from 350 lab clients (smoke: 30) through slb run to the lab's slb gateways (root).") var live = false
    @Option(help: "The slb binary for --live (default: next to slb-bench).") var slb: String?

    func run() throws {
        var parameters = common.smoke ? DistributionScenario.Parameters.smoke(farm: common.farm)
                                      : .standard(farm: common.farm)
        if let clients { parameters.clients = clients }
        if let seed { parameters.seed = seed }
        let output = common.destination
        let configuration = try FarmLoader.load(common.farm)
        var scenario = try DistributionScenario(parameters: parameters, configuration: configuration,
                                                output: output, smoke: common.smoke)
        if live {
            scenario.live = try LiveDistribution(parameters: common.smoke ? .smoke : .standard,
                                                 farmText: try String(contentsOfFile: common.farm, encoding: .utf8),
                                                 configuration: configuration, slbPath: slb ?? siblingSLB(), output: output)
        }
        let document = try scenario.run()
        print(DistributionScenario.table(document))
        print("\nresults: \(output.directory.path)/distribution.{json,svg}")
    }
}

struct Scale: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: ScenarioName.scale.summary)
    @OptionGroup var common: Common
    @Option(help: "Clients (default 1,000,000; smoke 20,000).") var clients: Int?
    @Option(help: "Clients in the tables for the reload pause (default 100,000: 200,000 connections; smoke 2,000).")
    var reloadClients: Int?

    func run() throws {
        var parameters = common.smoke ? ScaleScenario.Parameters.smoke(farm: common.farm) : .standard(farm: common.farm)
        if let clients {
            parameters.clients = clients
            parameters.purgeClients = max(1, clients / 20)
            parameters.lookups = clients * 4
        }
        if let reloadClients { parameters.reloadClients = max(1, reloadClients) }
        let output = common.destination
        let scenario = try ScaleScenario(parameters: parameters, configuration: try FarmLoader.load(common.farm),
                                         output: output, smoke: common.smoke)
        let document = try scenario.run()
        print(ScaleScenario.table(document))
        print("\nresults: \(output.directory.path)/scale.{json,svg}")
    }
}

struct Forwarding: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: ScenarioName.forwarding.summary)
    @OptionGroup var common: Common
    @Option(help: "Interleaved runs per variant and packet kind (default 5; smoke 1).") var runs: Int?
    @Option(help: "Seconds of traffic per run (default 5; smoke 1).") var seconds: Double?
    @Option(help: "Packet kinds, comma separated: isakmp,esp.") var kinds: String?
    @Option(help: "The slb binary (default: next to slb-bench).") var slb: String?
    @Option(help: "slb run's packet I/O: packet-socket or pcap.") var backend: String?

    func run() throws {
        var parameters = common.smoke ? ForwardingScenario.Parameters.smoke(farm: common.farm) : .standard(farm: common.farm)
        if let runs { parameters.runs = runs }
        if let seconds { parameters.seconds = seconds }
        if let kinds { parameters.kinds = kinds.split(separator: ",").map(String.init) }
        if let backend { parameters.backend = backend }
        let output = common.destination
        let text = try String(contentsOfFile: common.farm, encoding: .utf8)
        _ = try FarmLoader.load(common.farm)
        let scenario = try ForwardingScenario(parameters: parameters, farmText: text, slbPath: slb ?? siblingSLB(),
                                              output: output, smoke: common.smoke)
        let document = try scenario.run()
        print(ForwardingScenario.table(document))
        print("\nresults: \(output.directory.path)/forwarding.{json,svg}")
    }
}

struct Micro: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: ScenarioName.micro.summary)
    func run() {
        print("""
            The micro benchmarks live in their own package (ordo-one/benchmark), so the root package
            never builds it. From the repository root:

                cd Bench && swift package benchmark                  # all, release build
                cd Bench && swift package benchmark --filter parse   # one group

            See Bench/README.md for the list and the last results.
            """)
    }
}

struct Failover: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: ScenarioName.failover.summary)
    @OptionGroup var common: Common
    @Option(help: "The project's own held clients (default 60; smoke 9).") var clients: Int?
    @Option(help: "Client DPD delay in seconds (inbound silence before a liveness check).") var dpd: Int?
    @Option(help: "Milliseconds between pings through each tunnel.") var pingInterval: Int?
    @Option(help: "ip slb probe interval (seconds) of the ping and ike probes.") var probeInterval: Int?
    @Option(help: "ip slb probe faildetect (consecutive misses).") var faildetect: Int?
    @Option(help: "Failures, comma separated: kill (slb gateway killed), link (link cut).") var failures: String?
    @Option(help: "IKE versions of the held clients, comma separated: v2, v1 (default v2,v1; smoke v2).") var ike: String?
    @Option(help: "The slb binary (default: next to slb-bench).") var slb: String?

    func run() throws {
        var parameters = common.smoke ? FailoverScenario.Parameters.smoke : .standard
        if let clients { parameters.clients = clients }
        if let dpd { parameters.dpdDelay = dpd }
        if let pingInterval { parameters.pingIntervalMilliseconds = pingInterval }
        if let probeInterval { parameters.probeInterval = probeInterval }
        if let faildetect { parameters.probeFaildetect = faildetect }
        if let failures { parameters.failures = failures.split(separator: ",").map(String.init) }
        if let ike {
            parameters.ikeVersions = try ike.split(separator: ",").map { word in
                switch word.lowercased() {
                case "v2", "2": return 2
                case "v1", "1": return 1
                default: throw ValidationError("--ike takes v2 and/or v1, not '\(word)'")
                }
            }
        }
        let output = common.destination
        let scenario = try FailoverScenario(parameters: parameters, slbPath: slb ?? siblingSLB(), output: output, smoke: common.smoke)
        let document = try scenario.run()
        print(FailoverScenario.table(document))
        print("\nresults: \(output.directory.path)/failover.{json,svg}")
    }
}

struct List: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List the scenarios.")
    func run() {
        for scenario in ScenarioName.allCases {
            print(scenario.rawValue.padding(toLength: 14, withPad: " ", startingAt: 0) + scenario.summary)
        }
    }
}

/// The `slb` built next to this `slb-bench` (same build directory).
func siblingSLB() -> String {
    URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        .deletingLastPathComponent().appendingPathComponent("slb").path
}

SLBBench.main()
