import ArgumentParser
import Dataplane
import Dispatch
import Foundation
import Lab
import SLBConfig
import SLBCore
import SLBShow
import SLBWire
#if canImport(Glibc)
import Glibc
#endif

extension LabCommand {
    /// `slb lab demo [--for SECONDS]`: the whole thing for a newcomer, ending by itself: lab up,
    /// `slb run` on the default farm in the slb namespace, paced client traffic from the client
    /// namespace, the live `show ip slb conns`, `reals` and `vservers` tables every few
    /// seconds, the gateways' receive counts, then teardown.
    struct Demo: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run a bounded demo: lab up, slb run on a farm, client traffic, live show tables, lab down.")

        @OptionGroup var options: Options

        @Option(help: "Farm configuration (its reals must be lab gateways 198.51.100.11 ...).")
        var config: String = "Farms/vpn-natt.cfg"

        @Option(name: .customLong("for"), help: "How long the traffic runs (seconds, or 30s, 2m); at most 10m.")
        var duration: String = "10"

        @Option(help: "Number of clients (192.0.2.10 ...).")
        var clients: Int = 12

        @Option(help: "Packets per second, all clients together (ISAKMP, NAT-T, ESP in turn).")
        var rate: Int = 60

        @Option(help: "Seconds between two table prints.")
        var every: Int = 3

        @Option(help: "Packet I/O backend of slb run: packet-socket or pcap.")
        var backend: String = "packet-socket"

        static let maximumSeconds = 600

        func validate() throws {
            guard let seconds = LabDuration.seconds(duration), seconds <= Demo.maximumSeconds else {
                throw ValidationError("--for: 1...\(Demo.maximumSeconds) seconds, like 10, 30s or 2m")
            }
            guard (1...245).contains(clients) else { throw ValidationError("--clients: 1...245") }
            guard (1...10_000).contains(rate) else { throw ValidationError("--rate: 1...10000 packets per second") }
            guard every >= 1 else { throw ValidationError("--every: at least 1") }
        }

        func run() throws {
            let seconds = LabDuration.seconds(duration) ?? 10
            guard let text = try? String(contentsOfFile: config, encoding: .utf8) else {
                throw ValidationError("\(config): cannot read (run from the repository root, or pass --config)")
            }
            let parsed = ConfigParser.parse(text, file: config)
            guard let configuration = parsed.configuration else {
                parsed.diagnostics.forEach { print($0.description) }
                throw ExitCode.failure
            }
            let gateways = try Demo.gatewayCount(for: configuration)
            let vip = configuration.vservers.first?.address ?? LabAddressPlan.vip

            let plan = try LabPlan(id: try options.labID(), gatewayCount: gateways)
            let controller = options.controller
            // Not handed over: if the demo dies, `slb lab down --stale` removes the lab.
            try controller.up(plan, owner: ProcessIdentity.current, handOver: false)
            print("lab \(plan.id) up: \(plan.namespaces.joined(separator: " "))")
            defer {
                do { try controller.down(plan.id); print("lab \(plan.id) down") } catch { print("lab down failed: \(error)") }
            }

            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("vslb-demo-\(plan.id)-\(getpid())")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            let logFile = directory.appendingPathComponent("slb.log")
            let snapshotFile = directory.appendingPathComponent("snapshot.json")
            _ = FileManager.default.createFile(atPath: logFile.path, contents: nil)

            let slb = Process()
            slb.executableURL = URL(fileURLWithPath: try Demo.ipCommand())
            slb.arguments = ["netns", "exec", plan.slbNamespace, Demo.selfPath(), "run", config, "--backend", backend,
                             "--for", "\(seconds + 30)", "--report-json", snapshotFile.path,
                             "--control", directory.appendingPathComponent("control.sock").path]
            slb.standardError = try FileHandle(forWritingTo: logFile)
            slb.standardOutput = FileHandle.nullDevice
            try slb.run()
            defer {
                if slb.isRunning { slb.terminate() }
                slb.waitUntilExit()
            }
            func log() -> String { (try? String(contentsOf: logFile, encoding: .utf8)) ?? "" }
            let ready = Date().addingTimeInterval(5)
            while !log().contains("slb.run.ready") && slb.isRunning && Date() < ready { usleep(50_000) }
            guard log().contains("slb.run.ready") else {
                print(log())
                throw ValidationError("slb run did not start (log above)")
            }
            print("slb run \(config) in \(plan.slbNamespace) (log \(logFile.path))")

            let sinks = try plan.gatewayNumbers.map { n in try NetworkNamespace.run(plan.gatewayNamespace(n)) { try DemoGatewaySink() } }
            let addresses = (0..<clients).map { IPv4Address(LabAddressPlan.firstPublicClient.value + UInt32($0)) }
            let senders = try NetworkNamespace.run(plan.clientNamespace) { try DemoClients(addresses: addresses) }
            // The first probes resolve the gateways' MACs (the loop reads them each second).
            usleep(1_200_000)
            print("traffic: \(clients) clients (\(addresses.first.map(String.init(describing:)) ?? "")...) → VIP \(vip), \(rate) packets/s for \(seconds) s")

            let start = Clock.now
            let end = start + .seconds(UInt64(seconds))
            var nextPrint = start + .seconds(UInt64(every))
            var n = 0
            let interval = 1e9 / Double(rate)
            while Clock.now < end {
                let due = start + TimeSpan(nanoseconds: UInt64(Double(n) * interval))
                let now = Clock.now
                if now < due { usleep(UInt32(min((due - now).nanoseconds / 1000, 100_000))); continue }
                senders.send(n, vip: vip)
                n += 1
                if Clock.now >= nextPrint {
                    sinks.forEach { $0.drain() }
                    printTables(slb: slb, snapshotFile: snapshotFile, elapsed: Clock.now - start, sent: senders.sent, sinks: sinks, plan: plan)
                    nextPrint = nextPrint + .seconds(UInt64(every))
                }
            }
            usleep(300_000)
            sinks.forEach { $0.drain() }
            printTables(slb: slb, snapshotFile: snapshotFile, elapsed: Clock.now - start, sent: senders.sent, sinks: sinks, plan: plan)

            slb.terminate()
            slb.waitUntilExit()
            print("\nslb run events and dataplane counters:")
            let lines = log().split(separator: "\n")
            for line in lines where line.hasPrefix("slb.event ") || line.hasPrefix("slb.probe.") {
                print("  " + line)
            }
            // The exit report's counters are the last ones logged.
            if let counters = lines.last(where: { $0.hasPrefix("slb.dataplane.counters") }) { print("  " + counters) }
            try? FileManager.default.removeItem(at: directory)
        }

        private func printTables(slb: Process, snapshotFile: URL, elapsed: TimeSpan, sent: Int, sinks: [DemoGatewaySink], plan: LabPlan) {
            try? FileManager.default.removeItem(at: snapshotFile)
            kill(slb.processIdentifier, SIGUSR1)
            let deadline = Date().addingTimeInterval(2)
            while !FileManager.default.fileExists(atPath: snapshotFile.path) && Date() < deadline { usleep(20_000) }
            guard let data = try? Data(contentsOf: snapshotFile),
                  let snapshot = try? JSONDecoder().decode(SLBSnapshot.self, from: data) else {
                print("(no snapshot from slb run)")
                return
            }
            print("\n=== \(elapsed.nanoseconds / 1_000_000_000) s: clients sent \(sent) packets; gateways received "
                  + plan.gatewayNumbers.map { "gw\($0) \(sinks[$0 - 1].received)" }.joined(separator: ", ") + " ===")
            for request in [ShowRequest(table: .conns(.all)), ShowRequest(table: .reals(farm: nil)), ShowRequest(table: .vservers(name: nil))] {
                print("slb# " + request.command)
                print((try? ShowRenderer.render(request, snapshot)) ?? "(cannot render)")
            }
        }

        /// Enough lab gateways for the farm's reals (198.51.100.11 is gateway 1).
        static func gatewayCount(for configuration: SLBConfiguration) throws -> Int {
            var highest = 1
            for real in configuration.farms.flatMap(\.reals) {
                guard let n = (1...LabAddressPlan.maximumGateways).first(where: { LabAddressPlan.gateway($0) == real.address }) else {
                    throw ValidationError("real \(real.address) is not a lab gateway (198.51.100.11-.126)")
                }
                highest = max(highest, n)
            }
            return highest
        }

        static func ipCommand() throws -> String {
            guard let path = SystemCommandRunner.resolve("ip") else { throw ValidationError("ip (iproute2) not found") }
            return path
        }

        /// This executable, so the demo's `slb run` is the same build.
        static func selfPath() -> String {
            (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        }
    }
}
