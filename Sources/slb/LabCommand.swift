import ArgumentParser
import Dispatch
import Foundation
import Lab
#if canImport(Glibc)
import Glibc
#endif

/// `slb lab up [--for DURATION] | down [--stale] | demo [--for SECONDS]`: the namespace lab of Sources/Lab/README.md.
struct LabCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lab",
        abstract: "Build or tear down the network-namespace lab (RFC 5737 addresses only).",
        subcommands: [Up.self, Down.self, Demo.self])

    struct Options: ParsableArguments {
        @Option(help: "Lab id: the namespaces are named vslb-<id>-slb, -cli, -gw1 ...")
        var id: String = LabID.standard.rawValue

        @Option(name: .customLong("state-dir"), help: "Where lab records live.")
        var stateDirectory: String = LabStateStore.defaultDirectory

        func labID() throws -> LabID {
            guard let id = LabID(id) else {
                throw ValidationError("--id: 1...\(LabID.maximumLength) lower-case letters or digits")
            }
            return id
        }

        var controller: LabController { LabController(store: LabStateStore(directory: stateDirectory)) }
    }

    struct Up: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Build the lab: slb, client host and N gateways with the VIP on loopback.")

        @OptionGroup var options: Options

        @Option(help: "Number of gateways (198.51.100.11 ...).")
        var gateways: Int = 3

        @Option(name: .customLong("for"),
                help: "Hold the lab for DURATION (90, 30s, 5m, 1h), then tear it down; Ctrl-C ends it early.")
        var duration: String?

        @Flag(help: "Print the commands instead of running them.")
        var dryRun = false

        @Flag(name: .customLong("gateways-run"), inversion: .prefixedNo,
              help: "Start `slb gateway` in every gateway namespace (lab PSK, a pool each); see LabGatewaysCommand.swift.")
        var gatewaysRun = true

        func validate() throws {
            if let duration, LabDuration.seconds(duration) == nil {
                throw ValidationError("--for: a duration of 1s...\(LabDuration.maximumSeconds)s, like 90, 30s, 5m or 1h")
            }
        }

        func run() throws {
            let plan = try LabPlan(id: try options.labID(), gatewayCount: gateways)
            if dryRun {
                for step in plan.steps { print(step.argv.joined(separator: " ")) }
                if gatewaysRun { printGatewayCommands(plan) }
                return
            }
            let controller = options.controller
            let hold = duration.flatMap(LabDuration.seconds)
            try controller.up(plan, owner: ProcessIdentity.current, handOver: hold == nil)
            print("lab \(plan.id) up: \(plan.namespaces.joined(separator: " "))")
            print("  client host \(plan.clientNamespace): 192.0.2.10-.254, 198.51.100.128/25")
            print("  slb \(plan.slbNamespace): 192.0.2.1/24 (brc), 198.51.100.1/25 (brg)")
            for n in plan.gatewayNumbers {
                print("  gateway \(plan.gatewayNamespace(n)): \(plan.gatewayAddress(n).map(String.init(describing:)) ?? "?"), VIP 203.0.113.100 on lo")
            }
            print("  run the SLB: ip netns exec \(plan.slbNamespace) slb run FILE   (public brc, inside brg)")
            if gatewaysRun { try startGateways(plan, controller) }
            print("  (or all in one, bounded: slb lab demo --for 10)")
            guard let hold else { return }
            print("holding for \(hold) s (Ctrl-C to end early)")
            waitForSignalOrTimeout(seconds: hold)
            try controller.down(plan.id)
            print("lab \(plan.id) down")
        }

        /// SIGINT/SIGTERM end the wait early; they are routed to a dispatch source so the
        /// teardown runs on this thread, not in a signal handler.
        private func waitForSignalOrTimeout(seconds: Int) {
            let stop = DispatchSemaphore(value: 0)
            var sources: [any DispatchSourceSignal] = []
            for sig in [SIGINT, SIGTERM] {
                signal(sig, SIG_IGN)
                let source = DispatchSource.makeSignalSource(signal: sig, queue: .global())
                source.setEventHandler { stop.signal() }
                source.resume()
                sources.append(source)
            }
            _ = stop.wait(timeout: .now() + .seconds(seconds))
            for source in sources { source.cancel() }
        }
    }

    struct Down: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Remove the lab's namespaces and processes; --stale also those of crashed runs.")

        @OptionGroup var options: Options

        @Flag(help: "Also remove every lab recorded by a run that died before tearing it down.")
        var stale = false

        func run() throws {
            let controller = options.controller
            let id = try options.labID()
            try controller.down(id)
            print("lab \(id) down")
            if stale {
                let removed = try controller.downStale()
                print(removed.isEmpty ? "no stale labs" : "stale labs removed: \(removed.map(\.rawValue).joined(separator: " "))")
            }
        }
    }
}
