import ArgumentParser
import Foundation
import GatewayShow
import Lab
import SLBConfig
import SLBCore
import SLBShow
import SLBWire
#if canImport(Glibc)
import Glibc
#endif

extension LabCommand {
    /// `slb lab demo [--for SECONDS]`: the whole farm for a newcomer, ending by itself: lab up
    /// with `slb gateway` on every real, `slb run` on the default farm with a control socket,
    /// real IKEv2/ESP tunnels from the client host (`slb client --hold`) pinging the service
    /// behind the gateways, the live IOS tables asked for over the control sockets as an
    /// operator types them, a closing summary, then teardown (also on Ctrl-C/SIGTERM and on
    /// failure: every child ended by its PID, the lab removed).
    struct Demo: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run a bounded demo: lab with gateways, slb run on a farm, real client tunnels, live show tables, lab down.")

        @OptionGroup var options: Options

        @Option(help: "Farm configuration (its reals must be lab gateways 198.51.100.11 ...).")
        var config: String = "Farms/vpn-natt.cfg"

        @Option(name: .customLong("for"), help: "How long the tunnels are held (seconds, or 30s, 2m); at most 10m.")
        var duration: String = "20"

        @Option(help: "Number of client tunnels (one per source address, 192.0.2.10 ...).")
        var clients: Int = 12

        @Option(help: "How many of the clients pretend to be behind a NAT (slb client --natt: IKE and ESP on UDP 4500); default half, when the farm has a udp 4500 vserver.")
        var natt: Int?

        @Option(name: .customLong("ping-interval"), help: "Milliseconds between two pings through each tunnel.")
        var pingInterval: UInt64 = 500

        @Option(help: "Seconds between two table prints.")
        var every: Int = 7

        @Option(help: "Packet I/O backend of slb run: packet-socket or pcap.")
        var backend: String = "packet-socket"

        static let maximumSeconds = 600
        /// Beyond the hold: IKE setup before it, the client's report after it.
        static let slack = 30

        func validate() throws {
            guard let seconds = LabDuration.seconds(duration), (3...Demo.maximumSeconds).contains(seconds) else {
                throw ValidationError("--for: 3...\(Demo.maximumSeconds) seconds, like 10, 30s or 2m")
            }
            guard (1...245).contains(clients) else { throw ValidationError("--clients: 1...245") }
            guard (10...60_000).contains(pingInterval) else { throw ValidationError("--ping-interval: 10...60000 ms") }
            guard every >= 1 else { throw ValidationError("--every: at least 1") }
            if let natt { guard (0...clients).contains(natt) else { throw ValidationError("--natt: 0...--clients") } }
        }

        func run() throws {
            let seconds = LabDuration.seconds(duration) ?? 20
            guard let text = try? String(contentsOfFile: config, encoding: .utf8) else {
                throw ValidationError("\(config): cannot read (run from the repository root, or pass --config)")
            }
            let parsed = ConfigParser.parse(text, file: config)
            guard let configuration = parsed.configuration else {
                parsed.diagnostics.forEach { print($0.description) }
                throw ExitCode.failure
            }
            let gatewayCount = try Demo.gatewayCount(for: configuration)
            let hasNATTVserver = configuration.vservers.contains { $0.service == DemoStickyCheck.natTraversal }
            if let natt, natt > 0, !hasNATTVserver {
                throw ValidationError("--natt: \(config) has no udp 4500 vserver for NAT-T clients")
            }
            let nattClients = natt ?? (hasNATTVserver ? clients / 2 : 0)
            let vip = configuration.vservers.first?.address ?? LabAddressPlan.vip
            let slbPath = Demo.selfPath()
            DemoStop.install()

            // 1. The lab, with `slb gateway` in every gateway namespace (as `slb lab up`).
            let plan = try LabPlan(id: try options.labID(), gatewayCount: gatewayCount)
            let controller = options.controller
            // Not handed over: if the demo is killed hard, `slb lab down --stale` removes the lab.
            try controller.up(plan, owner: ProcessIdentity.current, handOver: false)
            print("lab \(plan.id) up: \(plan.namespaces.joined(separator: " "))")
            defer {
                do { try controller.down(plan.id); print("lab \(plan.id) down") } catch { print("lab down failed: \(error)") }
            }
            let gateways = LabGatewayPlan(lab: plan, directory: controller.store.gatewayDirectory(for: plan.id), executable: slbPath)
            for gateway in try LabGateways(controller: controller).start(gateways) {
                let n = gateway.number
                print("  slb gateway in \(plan.gatewayNamespace(n)) (\(plan.gatewayAddress(n).map(String.init(describing:)) ?? "?"), "
                      + "VIP \(vip) on lo, \(gateways.pool(n).map { "pool \($0)" } ?? "no pool"), pid \(gateway.process.pid))")
            }

            // 2. The SLB, with a control socket the operator's `slb show` talks to.
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("vslb-demo-\(plan.id)-\(getpid())").path
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            defer { try? FileManager.default.removeItem(atPath: directory) }
            let control = directory + "/slb.sock"
            let shell = DemoShell(slb: slbPath, slbControl: control)
            let slb = try DemoChild("slb run", argv: [try Demo.ipCommand(), "netns", "exec", plan.slbNamespace, slbPath, "run", config,
                                                     "--backend", backend, "--control", control, "--for", "\(seconds + Demo.slack)"],
                                    output: directory + "/slb.log")
            defer { slb.stop() }
            let ready = Date().addingTimeInterval(10)
            while !slb.output.contains("slb.run.ready") && slb.process.isRunning && Date() < ready { usleep(50_000) }
            guard slb.output.contains("slb.run.ready") else {
                print(slb.output)
                throw ValidationError("slb run did not start (log above)")
            }
            print("slb run \(config) in \(plan.slbNamespace), control socket \(control), pid \(slb.process.processIdentifier)")
            guard waitUntilForwarding(shell, reals: plan.gatewayNumbers.compactMap(plan.gatewayAddress)) else {
                shell.type(["show", "ip", "slb", "probe", "--control", control])
                throw ValidationError("the SLB's probes did not reach every gateway within 15 s")
            }

            // 3. Real tunnels, held for the demo's duration, pinging the service inside: the first
            // ones raw ESP, the rest with --natt (as behind a NAT: IKE and ESP on UDP 4500).
            let first = LabAddressPlan.firstPublicClient
            let plainCount = clients - nattClients
            let addresses = (0..<clients).map { IPv4Address(first.value &+ UInt32($0)) }
            let check = DemoStickyCheck(plain: Array(addresses.prefix(plainCount)), natt: Array(addresses.dropFirst(plainCount)),
                                        configuration: configuration)
            var clientRuns: [(child: DemoChild, log: String)] = []
            defer { for run in clientRuns { run.child.stop() } }
            let nattFirst = plainCount < addresses.count ? addresses[plainCount] : first
            for (natt, count, start) in [(false, plainCount, first), (true, nattClients, nattFirst)] where count > 0 {
                let name = natt ? "client-natt" : "client"
                let child = try DemoChild("slb client", argv: [try Demo.ipCommand(), "netns", "exec", plan.clientNamespace, slbPath, "client",
                                                              "--gateway", vip.description, "--source", start.description, "--count", "\(count)",
                                                              "--psk-file", gateways.pskPath, "--service", LabGatewayPlan.serviceAddress.description,
                                                              "--hold", "\(seconds)", "--ping-interval", "\(pingInterval)", "--json"]
                                                             + (natt ? ["--natt"] : []),
                                          output: directory + "/\(name).json", errors: directory + "/\(name).log")
                clientRuns.append((child, directory + "/\(name).log"))
                print((clientRuns.count == 1 ? "\n" : "") + "slb client in \(plan.clientNamespace): \(count) IKEv2 tunnels from \(start)... to VIP \(vip), "
                      + (natt ? "--natt (IKE and ESP in UDP 4500, as behind a NAT), " : "raw ESP, ")
                      + "each pinging \(LabGatewayPlan.serviceAddress) every \(pingInterval) ms for \(seconds) s (pid \(child.process.processIdentifier))")
            }
            let clientsRunning = { clientRuns.contains { $0.child.process.isRunning } }

            // 4. The live tables at a few points in time; the last one just before the hold ends.
            let start = Date()
            // Not two prints within 2 s of each other at the end.
            let points = stride(from: every, to: seconds - 1, by: every).filter { seconds - 1 - $0 >= 2 } + [seconds - 1]
            for (index, point) in points.enumerated() {
                guard DemoStop.pause(start.addingTimeInterval(Double(point)).timeIntervalSinceNow), clientsRunning() else { break }
                let last = gatewaySnapshots(shell, gateways, plan)
                let up = last.values.map(\.ikeSAs.count).reduce(0, +)
                print("\n=== \(point) s: \(up) tunnels up on the gateways ("
                      + plan.gatewayNumbers.map { "gw\($0) \(last[$0]?.ikeSAs.count ?? 0)" }.joined(separator: ", ") + ") ===")
                for table in ["conns", "reals", "vservers"] { shell.type(["show", "ip", "slb", table, "--control", control]) }
                if index == 0 { shell.type(["show", "ip", "slb", "sticky", "--control", control]) }
                if index == points.count - 1 {
                    shell.type(["gateway", "show", "crypto", "ikev2", "sa", "--control", gateways.controlPath(1)])
                }
            }
            if DemoStop.requested { print("\nstopping early (signal)") }
            // The gateways' SAs before the client's hold ends (it deletes them then).
            let final = gatewaySnapshots(shell, gateways, plan)
            // ... and the SLB's connection table: each client on one real, NAT-T clients on udp 4500.
            let stickyProblems = shell.table("conns")?.connections.map(check.problems) ?? ["no answer from show ip slb conns"]
            for run in clientRuns {
                run.child.stop()
                run.child.wait(seconds: Double(Demo.slack))
            }

            // 5. Closing summary.
            let reports = clientRuns.map { try? JSONDecoder().decode(ClientCommand.HeldReport.self, from: Data($0.child.output.utf8)) }
            let report = Demo.merge(reports)
            kill(slb.process.processIdentifier, SIGUSR1)
            usleep(300_000)
            printSummary(report: report, gateways: final, plan: plan, slbLog: slb.output,
                         clientLog: clientRuns.map { (try? String(contentsOfFile: $0.log, encoding: .utf8)) ?? "" }.joined(separator: "\n"))
            if stickyProblems.isEmpty {
                print("sticky: \(clients)/\(clients) clients with all their connections on one real "
                      + "(\(plainCount) with ISAKMP + ESP rows, \(nattClients) NAT-T with ISAKMP + NAT-T rows)")
            } else {
                print("sticky check FAILED for \(stickyProblems.count) clients:\n  " + stickyProblems.prefix(20).joined(separator: "\n  "))
            }
            if DemoStop.requested { throw ExitCode(130) }
            guard let report, report.upAtEnd == report.tunnels, report.tunnels == clients, stickyProblems.isEmpty else { throw ExitCode.failure }
        }

        /// The client processes' reports as one (nil if any is missing).
        static func merge(_ reports: [ClientCommand.HeldReport?]) -> ClientCommand.HeldReport? {
            guard let first = reports.first ?? nil else { return nil }
            var merged = first
            for case let r? in reports.dropFirst() {
                merged.tunnels += r.tunnels
                merged.upAtEnd += r.upAtEnd
                merged.results += r.results
            }
            return reports.contains { $0 == nil } ? nil : merged
        }

        private func gatewaySnapshots(_ shell: DemoShell, _ gateways: LabGatewayPlan, _ plan: LabPlan) -> [Int: GatewaySnapshot] {
            var out: [Int: GatewaySnapshot] = [:]
            for n in plan.gatewayNumbers { out[n] = shell.gateway(control: gateways.controlPath(n)) }
            return out
        }

        private func printSummary(report: ClientCommand.HeldReport?, gateways: [Int: GatewaySnapshot], plan: LabPlan,
                                  slbLog: String, clientLog: String) {
            print("\n=== summary ===")
            if let report {
                let sent = report.results.map(\.pingsSent).reduce(0, +)
                let answered = report.results.map(\.pingsAnswered).reduce(0, +)
                let reinitiated = report.results.filter { $0.establishments > 1 }.count
                let encapsulated = report.results.filter { $0.udpEncapsulation == true }.count
                print("tunnels: \(report.upAtEnd)/\(report.tunnels) up at the end (\(encapsulated) ESP-in-UDP/4500), \(reinitiated) re-initiated; "
                      + "pings to \(LabGatewayPlan.serviceAddress): \(answered)/\(sent) answered")
            } else {
                print("tunnels: no report from slb client\n" + clientLog.suffix(1500))
            }
            for n in plan.gatewayNumbers {
                guard let snapshot = gateways[n] else { print("gw\(n): no snapshot"); continue }
                let decrypted = snapshot.ipsecSAs.map(\.packetsDecrypted).reduce(0, +)
                let encrypted = snapshot.ipsecSAs.map(\.packetsEncrypted).reduce(0, +)
                print("gw\(n) \(plan.gatewayAddress(n).map(String.init(describing:)) ?? "?"): \(snapshot.ikeSAs.count) IKE SAs, "
                      + "\(snapshot.ipsecSAs.count) IPsec SAs, ESP packets decrypted \(decrypted), encrypted \(encrypted) (clients "
                      + snapshot.ikeSAs.map(\.remoteAddress).sorted { (IPv4Address($0)?.value ?? 0) < (IPv4Address($1)?.value ?? 0) }
                          .joined(separator: " ") + ")")
            }
            let lines = slbLog.split(separator: "\n")
            for line in lines where line.hasPrefix("slb.event ") { print("  " + line) }
            // SIGUSR1 made slb run log its dataplane counters; the last ones are the newest.
            if let counters = lines.last(where: { $0.hasPrefix("slb.dataplane.counters") }) { print("slb " + counters) }
        }

        /// Each real OPERATIONAL with a probe answer seen (reals start OPERATIONAL before any
        /// probe, IOS-style), then one more second for the forwarder's once-a-second ARP read;
        /// before that, frames to a real are dropped and a client waits out an IKE retransmission.
        private func waitUntilForwarding(_ shell: DemoShell, reals: [IPv4Address]) -> Bool {
            let deadline = Date().addingTimeInterval(15)
            while Date() < deadline && !DemoStop.requested {
                if let probes = shell.table("probe")?.probes,
                   Set(probes.filter { $0.state == .operational && $0.lastRTT != nil }.map(\.real)) == Set(reals) {
                    return DemoStop.pause(1.2)
                }
                usleep(200_000)
            }
            return false
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

        /// This executable, so the demo's `slb run`, gateways and client are the same build.
        static func selfPath() -> String {
            (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        }
    }
}
