import Dataplane
import Foundation
import Lab
import Runtime
import SLBCore
import SLBShow
import SLBWire
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// `slb run` with its runtime services in a namespace lab: three gateways (VIP on loopback),
/// clients sending IKE from port 500. Every step is bounded in time; the lab and the
/// process are torn down in `defer`s.
@Suite("slb run operations in the lab (root)", .serialized,
       .enabled(if: NetworkNamespace.isAvailable && SLBBinary.path != nil,
                "needs root, `ip netns` and a built .build/debug/slb: runtime lab tests skipped"))
struct LabIntegrationTests {
    static func farm(order: [Int] = [1, 2, 3], weights: [Int] = [3, 1, 2], purge: Bool = false) -> String {
        var text = """
            ip slb probe GW-PING ping
             interval 1
             faildetect 2
            ip slb serverfarm VPN3
            \(purge ? " failaction purge\n" : "") probe GW-PING

            """
        for n in order {
            text += " real 198.51.100.1\(n)\n  weight \(weights[n - 1])\n  inservice\n"
        }
        text += """
            ip slb vserver VPN3-ISAKMP
             virtual 203.0.113.100 udp isakmp
             serverfarm VPN3
             sticky 3600 group 7
             inservice

            """
        return text
    }

    /// Clients, their gateways (1-based), and the sinks, for one lab.
    final class Traffic {
        let lab: RuntimeLab
        var sinks: [GatewaySink] = []
        var clients: [IPv4Address: IKEClient] = [:]

        init(lab: RuntimeLab) throws {
            self.lab = lab
            for n in lab.plan.gatewayNumbers {
                sinks.append(try lab.inside(lab.plan.gatewayNamespace(n)) { try GatewaySink() })
            }
        }

        func client(_ host: UInt8) throws -> IKEClient {
            let address = IPv4Address(192, 0, 2, host)
            if let existing = clients[address] { return existing }
            let made = try lab.inside(lab.plan.clientNamespace) { try IKEClient(source: address) }
            clients[address] = made
            return made
        }

        /// Sends one IKE packet from each host and returns where each arrived (gateway number),
        /// waiting up to 3 s for all of them.
        func round(_ hosts: [UInt8]) throws -> [IPv4Address: Set<Int>] {
            for host in hosts { try client(host).send() }
            var seen: [IPv4Address: Set<Int>] = [:]
            let deadline = Date().addingTimeInterval(3)
            while Date() < deadline {
                for (i, sink) in sinks.enumerated() { for source in sink.drain() { seen[source, default: []].insert(i + 1) } }
                if seen.count >= hosts.count { break }
                usleep(20_000)
            }
            return seen
        }
    }

    static func control(_ lab: RuntimeLab) -> String { lab.directory.appendingPathComponent("slb.sock").path }

    static func ask(_ request: ControlRequest, _ lab: RuntimeLab) throws -> ControlAnswer {
        try request.send(to: control(lab), timeoutMilliseconds: 5000)
    }

    /// GET /metrics from inside the SLB namespace (the exporter listens on its loopback).
    static func scrape(_ lab: RuntimeLab, port: UInt16) throws -> String {
        try lab.inside(lab.plan.slbNamespace) {
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            defer { close(fd) }
            var timeout = timeval(tv_sec: 2, tv_usec: 0)
            setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = port.bigEndian
            address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
            let rc = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            guard rc == 0 else { throw SystemError("connect metrics") }
            let request = Array("GET /metrics HTTP/1.0\r\n\r\n".utf8)
            _ = request.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, 0) }
            var response: [UInt8] = []
            var buffer = [UInt8](repeating: 0, count: 65536)
            while true {
                let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
                if n <= 0 { break }
                response += buffer[0..<n]
            }
            return String(decoding: response, as: UTF8.self)
        }
    }

    @Test("show over the socket agrees with the engine; metrics agree with show reals; reload keeps every client; a bad reload is rejected; a drained real keeps its clients and gets no new ones")
    func operate() throws {
        let lab = try RuntimeLab(gateways: 3)
        defer { lab.tearDown() }
        let config = lab.directory.appendingPathComponent("farm.cfg")
        try Self.farm().write(to: config, atomically: true, encoding: .utf8)
        let traffic = try Traffic(lab: lab)
        let slb = try SLBProcess(lab: lab, arguments: [config.path, "--for", "90", "--control", Self.control(lab),
                                                       "--metrics", "127.0.0.1:19464"], logName: "slb.log")
        defer { _ = slb.terminate() }
        try #require(slb.waitFor("slb.run.ready", seconds: 5), "slb run did not start: \(slb.log)")
        usleep(1_300_000)   // first probes resolve the gateways' MACs

        // A second slb run on the same control socket refuses to start (and touches nothing).
        let intruder = try SLBProcess(lab: lab, arguments: [config.path, "--for", "5", "--control", Self.control(lab)],
                                      logName: "intruder.log")
        #expect(intruder.waitFor("another slb run answers", seconds: 5), "\(intruder.log)")
        #expect(intruder.terminate() != 0)

        let hosts = Array(UInt8(20)...UInt8(31))
        let placed = try traffic.round(hosts)
        try #require(placed.count == hosts.count, "not every client arrived: \(placed) \(slb.log)")
        #expect(placed.values.allSatisfy { $0.count == 1 })
        let home = placed.mapValues { $0.first ?? 0 }

        // show ip slb conns over the socket: every client's connection on the gateway it reached.
        let conns = try Self.ask(.show(["sh", "ip", "slb", "conn", "--json"]), lab)
        try #require(conns.ok, "\(conns.text)")
        let document = try ShowJSON.decode(ShowDocument.self, from: conns.text)
        let rows = document.connections ?? []
        #expect(rows.count == hosts.count)
        for row in rows {
            #expect(home[row.client].flatMap { lab.plan.gatewayAddress($0) } == row.real, "\(row.client)")
        }
        let text = try Self.ask(.show(["show", "ip", "slb", "conns"]), lab)
        #expect(text.ok && text.text.split(separator: "\n").count == hosts.count + 2)

        // Metrics (refreshed each second) against show ip slb reals --json.
        usleep(1_200_000)
        let reals = try ShowJSON.decode(ShowDocument.self, from: try Self.ask(.show(["reals", "--json"]), lab).text).reals ?? []
        let metrics = try Self.scrape(lab, port: 19464)
        #expect(metrics.hasPrefix("HTTP/1.0 200 OK"))
        for real in reals {
            #expect(metrics.contains("vpnslb_real_connections{farm=\"VPN3\",real=\"\(real.address)\"} \(real.connections)\n"),
                    "\(real.address) \(real.connections): \(metrics)")
        }

        // Reload under steady traffic: reals reordered (RealIDs renumbered) and reweighted.
        let senders = Array(traffic.clients.values)
        let sender = Thread {
            for _ in 0..<30 {
                for client in senders { client.send() }
                usleep(50_000)
            }
        }
        sender.start()
        try Self.farm(order: [3, 1, 2], weights: [1, 1, 1]).write(to: config, atomically: true, encoding: .utf8)
        let reload = try Self.ask(.reload(file: nil), lab)
        #expect(reload.ok, "\(reload.text)")
        #expect(reload.text.contains("connections-kept=\(hosts.count)"), "\(reload.text)")
        usleep(1_700_000)   // the sender's 1.5 s of traffic, straddling the reload
        var moved: [IPv4Address] = []
        for (i, sink) in traffic.sinks.enumerated() {
            for source in sink.drain() where home[source] != i + 1 { moved.append(source) }
        }
        #expect(moved.isEmpty, "clients re-placed by the reload: \(moved) \(slb.log)")

        // A bad file: rejected with its diagnostics; the running configuration keeps forwarding.
        let bad = lab.directory.appendingPathComponent("bad.cfg")
        try "ip slb serverfarm VPN3\n real 198.51.100.300\n".write(to: bad, atomically: true, encoding: .utf8)
        let rejected = try Self.ask(.reload(file: bad.path), lab)
        #expect(!rejected.ok)
        #expect(rejected.text.contains("bad.cfg:2"), "\(rejected.text)")
        let after = try traffic.round(hosts)
        #expect(after.mapValues { $0.first ?? 0 } == home)

        // Drain gateway 1: its clients stay, new clients go elsewhere.
        let drain = try Self.ask(.configure(["ip slb serverfarm VPN3", "real 198.51.100.11", "no inservice"]), lab)
        #expect(drain.ok, "\(drain.text)")
        let state = try ShowJSON.decode(ShowDocument.self, from: try Self.ask(.show(["reals", "--json"]), lab).text)
        #expect(state.reals?.first { $0.address == IPv4Address(198, 51, 100, 11) }?.state == .outOfService)
        let existing = try traffic.round(hosts)
        #expect(existing.mapValues { $0.first ?? 0 } == home)
        let newcomers = try traffic.round(Array(UInt8(40)...UInt8(47)))
        #expect(newcomers.count == 8)
        #expect(newcomers.values.allSatisfy { !$0.contains(1) }, "a drained real got new clients: \(newcomers)")

        let running = try Self.ask(.runningConfig(all: false), lab)
        #expect(running.text.contains("real 198.51.100.11"))

        // slb cli on a pipe: IOS prompts, a show, and an edit applied at `end`.
        let cli = Process()
        cli.executableURL = URL(fileURLWithPath: try #require(SLBBinary.path))
        cli.arguments = ["cli", "--control", Self.control(lab)]
        let input = Pipe(), output = Pipe()
        cli.standardInput = input
        cli.standardOutput = output
        cli.standardError = output
        try cli.run()
        input.fileHandleForWriting.write(Data("sh ip slb reals\nconf t\nip slb serverfarm VPN3\nreal 198.51.100.13\nweight 5\nend\nexit\n".utf8))
        try input.fileHandleForWriting.close()
        let transcript = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        cli.waitUntilExit()
        #expect(cli.terminationStatus == 0, "\(transcript)")
        for expected in ["slb# sh ip slb reals", "198.51.100.13", "slb(config)# ip slb serverfarm VPN3",
                         "slb(config-slb-sfarm)# real 198.51.100.13", "slb(config-slb-real)# weight 5", "% applied"] {
            #expect(transcript.contains(expected), "\(expected) missing: \(transcript)")
        }
        let weights = try ShowJSON.decode(ShowDocument.self, from: try Self.ask(.show(["reals", "--json"]), lab).text)
        #expect(weights.reals?.first { $0.address == IPv4Address(198, 51, 100, 13) }?.weight == 5)

        // SIGHUP (to the process this test started) reloads the file.
        try Self.farm(order: [1, 2, 3], weights: [2, 2, 2]).write(to: config, atomically: true, encoding: .utf8)
        kill(slb.process.processIdentifier, SIGHUP)
        #expect(slb.waitFor("slb.reload.sighup", seconds: 3), "\(slb.log)")
        let reloaded = try ShowJSON.decode(ShowDocument.self, from: try Self.ask(.show(["reals", "--json"]), lab).text)
        #expect(reloaded.reals?.allSatisfy { $0.weight == 2 } == true)

        #expect(slb.terminate() == 0, "\(slb.log)")
        #expect(slb.log.contains("slb.reload.applied"))
    }

    @Test("SIGTERM writes the state file, removes the nft table and exits 0; a restart keeps every client on its gateway")
    func restart() throws {
        let lab = try RuntimeLab(gateways: 3)
        defer { lab.tearDown() }
        let config = lab.directory.appendingPathComponent("farm.cfg")
        // Weights 1,1,1 and no sticky would re-place clients on a restart without state.
        try Self.farm(weights: [1, 1, 1]).write(to: config, atomically: true, encoding: .utf8)
        let stateFile = lab.directory.appendingPathComponent("slb.state").path
        let traffic = try Traffic(lab: lab)
        let arguments = [config.path, "--for", "60", "--control", Self.control(lab), "--state-file", stateFile]
        let first = try SLBProcess(lab: lab, arguments: arguments, logName: "first.log")
        try #require(first.waitFor("slb.run.ready", seconds: 5), "slb run did not start: \(first.log)")
        usleep(1_300_000)
        let hosts = Array(UInt8(50)...UInt8(61))
        let home = try traffic.round(hosts).mapValues { $0.first ?? 0 }
        try #require(home.count == hosts.count, "\(first.log)")
        #expect(first.terminate() == 0, "\(first.log)")
        #expect(first.log.contains("slb.state.saved"))
        #expect(FileManager.default.fileExists(atPath: stateFile))
        let runner = SystemCommandRunner()
        #expect(try !runner.run(["ip", "netns", "exec", lab.plan.slbNamespace, "nft", "list", "table", "ip", "vpnslb"]).succeeded,
                "the nft table must be gone after SIGTERM")

        // The second run starts with the reals in a different order: the round robin alone
        // would now start on another gateway, so only the restored tables keep the clients.
        try Self.farm(order: [2, 3, 1], weights: [1, 1, 1]).write(to: config, atomically: true, encoding: .utf8)
        let second = try SLBProcess(lab: lab, arguments: arguments + ["--log-format", "json"], logName: "second.log")
        defer { _ = second.terminate() }
        try #require(second.waitFor("slb.run.ready", seconds: 5), "slb run did not restart: \(second.log)")
        #expect(second.log.contains(#""message":"slb.state.restored""#), "\(second.log)")
        #expect(second.log.contains(#""slb.connections":"\#(hosts.count)""#), "\(second.log)")
        usleep(1_300_000)
        let again = try traffic.round(hosts).mapValues { $0.first ?? 0 }
        #expect(again == home, "clients re-placed by the restart: before \(home) after \(again)")
        #expect(second.terminate() == 0)

        // A corrupt state file is reported and ignored; the SLB still starts.
        try Data("not a state file".utf8).write(to: URL(fileURLWithPath: stateFile))
        let third = try SLBProcess(lab: lab, arguments: arguments, logName: "third.log")
        defer { _ = third.terminate() }
        #expect(third.waitFor("slb.run.ready", seconds: 5), "\(third.log)")
        #expect(third.log.contains("slb.state.rejected"), "\(third.log)")
        #expect(third.terminate() == 0)
    }
}
