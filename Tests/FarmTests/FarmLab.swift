#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Gateway
import GatewayShow
import Lab
import SLBCore
import SLBShow
import SLBWire
import Synchronization
import Testing

/// Every namespace test of this target, one at a time (each builds a whole lab and the host
/// has two vCPUs); skipped with the reason when not root or without `ip netns`/nft/slb.
@Suite(.serialized, .enabled(if: FarmLab.unavailableReason == nil, Comment(rawValue: FarmLab.unavailableReason ?? "")))
struct FarmNamespaceTests {}

/// A lab built the way an operator builds one: `slb lab up` (which starts `slb gateway` in
/// every gateway namespace) and torn down with `slb lab down` in a `defer`. Lab ids are
/// unique per process and fixture (`w<pid>x<n>`), with their own state directory, so nothing
/// touches a developer's `lab`.
final class FarmLab: @unchecked Sendable {
    // @unchecked: used by one test at a time (every suite here is serialized).
    let id: LabID
    let stateDirectory: String
    let plan: LabPlan
    let gateways: LabGatewayPlan
    let controller: LabController
    let upOutput: String

    static let counter = Atomic<Int>(0)

    /// The built `slb` (swift build --build-tests builds it next to the tests).
    static let slbPath: String? = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        let candidate = url.appendingPathComponent(".build/debug/slb").path
        return FileManager.default.isExecutableFile(atPath: candidate) ? candidate : nil
    }()

    /// Why namespace tests cannot run here, or nil.
    static let unavailableReason: String? = {
        guard geteuid() == 0 else { return "farm tests need root (network namespaces, nftables, raw sockets)" }
        guard SystemCommandRunner.resolve("ip") != nil, SystemCommandRunner.resolve("nft") != nil else {
            return "farm tests need iproute2 and nftables"
        }
        let probe = "vslbfprobe\(getpid())"
        guard shell(["ip", "netns", "add", probe]).status == 0 else { return "cannot create network namespaces" }
        _ = shell(["ip", "netns", "del", probe])
        guard slbPath != nil else { return "slb not built at .build/debug/slb (swift build)" }
        return nil
    }()

    static let strongSwanMissing: String? = {
        for path in ["/usr/lib/ipsec/charon", "/usr/sbin/swanctl"] where !FileManager.default.isExecutableFile(atPath: path) {
            return "strongSwan not installed (\(path)): apt-get install strongswan-charon strongswan-swanctl libcharon-extra-plugins libstrongswan-standard-plugins libstrongswan-extra-plugins"
        }
        guard FileManager.default.fileExists(atPath: "/dev/net/tun") else { return "kernel-libipsec needs /dev/net/tun" }
        guard SystemCommandRunner.resolve("ping") != nil else { return "ping not installed (iputils-ping)" }
        return nil
    }()

    /// `build: false` only names the lab (a test then builds it another way).
    init(gateways count: Int = 3, extra: [String] = [], build: Bool = true) throws {
        let serial = Self.counter.add(1, ordering: .relaxed).newValue % 100
        id = try #require(LabID("w\(getpid() % 10000)x\(serial)"))
        stateDirectory = "/tmp/vslb-farm-\(id)"
        controller = LabController(store: LabStateStore(directory: stateDirectory))
        plan = try LabPlan(id: id, gatewayCount: count)
        let slb = try #require(Self.slbPath)
        gateways = LabGatewayPlan(lab: plan, directory: controller.store.gatewayDirectory(for: id), executable: slb)
        guard build else { upOutput = ""; return }
        let up = Self.shell([slb, "lab", "up", "--id", id.rawValue, "--state-dir", stateDirectory, "--gateways", "\(count)"] + extra,
                            timeout: 60)
        upOutput = up.stdout + up.stderr
        guard up.status == 0 else {
            tearDown()
            throw FarmError("slb lab up failed (\(up.status)): \(upOutput)")
        }
    }

    /// `slb lab down`; if that fails, the library's teardown; then the state directory.
    func tearDown() {
        if let slb = Self.slbPath {
            let down = Self.shell([slb, "lab", "down", "--id", id.rawValue, "--state-dir", stateDirectory], timeout: 60)
            if down.status != 0 {
                Issue.record("slb lab down failed: \(down.stdout) \(down.stderr)")
                try? controller.down(id)
            }
        }
        try? FileManager.default.removeItem(atPath: stateDirectory)
    }

    var state: LabState? { try? controller.store.load(id) }

    /// The lab's PSK (the `*` line `slb lab up` wrote).
    func psk() throws -> String {
        let text = try String(contentsOfFile: gateways.pskPath, encoding: .utf8)
        for line in text.split(separator: "\n") where line.hasPrefix("* ") {
            return line.dropFirst(2).trimmingCharacters(in: CharacterSet(charactersIn: "\" "))
        }
        throw FarmError("no default PSK in \(gateways.pskPath)")
    }

    /// Gateway n's `slb gateway show crypto ipsec sa --json` (over its control socket).
    func gatewaySnapshot(_ n: Int) throws -> GatewaySnapshot {
        let r = Self.shell([try #require(Self.slbPath), "gateway", "show", "crypto", "ipsec", "sa", "--json",
                            "--control", gateways.controlPath(n)])
        guard r.status == 0 else { throw FarmError("gw\(n) show failed: \(r.stderr)") }
        return try GatewayControl.decode(Array(r.stdout.utf8))
    }

    /// 1-based number of the gateway with this address.
    func gatewayNumber(of real: IPv4Address) -> Int? {
        plan.gatewayNumbers.first { plan.gatewayAddress($0) == real }
    }

    func inNamespace(_ namespace: String, _ arguments: [String], timeout: TimeInterval = 60) -> ShellResult {
        Self.shell(["ip", "netns", "exec", namespace] + arguments, timeout: timeout)
    }

    /// Another client host on the public segment: namespace `vslb-<id>-s<k>` (the lab's prefix,
    /// so `slb lab down` removes it too) with one veth port on the SLB's client bridge.
    func addClientHost(_ k: Int, address: IPv4Address) throws -> String {
        let namespace = id.namespacePrefix + "s\(k)"
        let port = "sc\(k)"
        let steps: [[String]] = [
            ["ip", "netns", "add", namespace],
            ["ip", "-n", plan.slbNamespace, "link", "add", port, "type", "veth", "peer", "name", "eth0", "netns", namespace],
            ["ip", "-n", plan.slbNamespace, "link", "set", port, "master", LabPlan.clientBridge],
            ["ip", "-n", plan.slbNamespace, "link", "set", port, "up"],
            ["ip", "-n", namespace, "address", "add", "\(address)/24", "dev", "eth0"],
            ["ip", "-n", namespace, "link", "set", "lo", "up"],
            ["ip", "-n", namespace, "link", "set", "eth0", "up"],
            ["ip", "-n", namespace, "route", "add", "default", "via", LabAddressPlan.slbPublic.description],
        ]
        for step in steps {
            let r = Self.shell(step)
            guard r.status == 0 else { throw FarmError("\(step.joined(separator: " ")): \(r.stderr)") }
        }
        return namespace
    }

    struct ShellResult {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    /// Runs a command to completion (bounded by `timeout`, then SIGKILL to that PID).
    static func shell(_ arguments: [String], timeout: TimeInterval = 60) -> ShellResult {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = arguments
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        p.standardInput = FileHandle.nullDevice
        do { try p.run() } catch { return ShellResult(status: -1, stdout: "", stderr: "\(error)") }
        // Read before waiting so a chatty child cannot fill the pipe and block.
        let box = OutputBox()
        let group = DispatchGroup()
        group.enter()
        DispatchQueue.global().async { box.out = out.fileHandleForReading.readDataToEndOfFile(); group.leave() }
        group.enter()
        DispatchQueue.global().async { box.err = err.fileHandleForReading.readDataToEndOfFile(); group.leave() }
        let deadline = Date().addingTimeInterval(timeout)
        while p.isRunning && Date() < deadline { usleep(10_000) }
        if p.isRunning { kill(p.processIdentifier, SIGKILL) }
        p.waitUntilExit()
        group.wait()
        return ShellResult(status: p.terminationStatus, stdout: String(decoding: box.out, as: UTF8.self),
                           stderr: String(decoding: box.err, as: UTF8.self))
    }
}

private final class OutputBox: @unchecked Sendable {
    // Each field is written by one queue block and read after `group.wait()`.
    var out = Data()
    var err = Data()
}

struct FarmError: Error, CustomStringConvertible {
    var description: String
    init(_ d: String) { description = d }
}

/// A long-running child process (slb run, charon) with its output in a file; ended by PID.
final class Daemon: @unchecked Sendable {
    let process = Process()
    let logPath: String

    init(_ arguments: [String], log: String) throws {
        logPath = log
        _ = FileManager.default.createFile(atPath: log, contents: nil)
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = arguments
        process.standardOutput = handle
        process.standardError = handle
        process.standardInput = FileHandle.nullDevice
        try process.run()
    }

    var log: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }

    func waitFor(_ text: String, seconds: Double) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if log.contains(text) { return true }
            if !process.isRunning { return false }
            usleep(50_000)
        }
        return log.contains(text)
    }

    /// SIGTERM to this PID, SIGKILL after 3 s.
    func stop() {
        guard process.isRunning else { return }
        kill(process.processIdentifier, SIGTERM)
        let deadline = Date().addingTimeInterval(3)
        while process.isRunning && Date() < deadline { usleep(20_000) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }
}

/// `slb run` in the lab's slb namespace with its own control socket; the tests read its tables
/// the way an operator does, `slb show ip slb conns|vservers|reals|probe --json`.
final class SLBRunProcess: @unchecked Sendable {
    let daemon: Daemon
    let controlPath: String

    init(_ lab: FarmLab, config: String) throws {
        let dir = lab.stateDirectory + "/slb-run"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        chmod(dir, 0o700)
        let configPath = dir + "/farm.cfg"
        try config.write(toFile: configPath, atomically: true, encoding: .utf8)
        controlPath = dir + "/slb.sock"
        daemon = try Daemon(["ip", "netns", "exec", lab.plan.slbNamespace, try #require(FarmLab.slbPath), "run", configPath,
                             "--control", controlPath, "--for", "300"], log: dir + "/slb.log")
        guard daemon.waitFor("slb.run.ready", seconds: 10) else {
            daemon.stop()
            throw FarmError("slb run did not start: \(daemon.log)")
        }
    }

    var log: String { daemon.log }

    /// `slb show ip slb TABLE --json` over the control socket.
    func show(_ table: String) throws -> ShowDocument {
        let r = FarmLab.shell([try #require(FarmLab.slbPath), "show", "ip", "slb", table, "--json", "--control", controlPath])
        guard r.status == 0 else { throw FarmError("slb show ip slb \(table) --json: exit \(r.status) \(r.stderr)") }
        return try JSONDecoder().decode(ShowDocument.self, from: Data(r.stdout.utf8))
    }

    /// SIGUSR1 (to this PID): `slb run` logs its dataplane counters; returns those lines.
    func dataplaneCounters() -> [Substring] {
        let before = log.components(separatedBy: "slb.dataplane.counters").count
        kill(daemon.process.processIdentifier, SIGUSR1)
        let deadline = Date().addingTimeInterval(3)
        while Date() < deadline && log.components(separatedBy: "slb.dataplane.counters").count == before { usleep(20_000) }
        return log.split(separator: "\n").filter { $0.hasPrefix("slb.dataplane.") }.suffix(4)
    }

    /// Every connection row (`show ip slb conns`).
    func connections() throws -> [ConnectionSnapshot] { try show("conns").connections ?? [] }

    /// Connections of one vserver as `show ip slb vservers` counts them.
    func vserverConnections(_ name: String) throws -> Int? {
        try show("vservers").vservers?.first { $0.name == name }?.connections
    }

    /// Waits until the SLB can forward to every real: each is OPERATIONAL *with a probe reply
    /// seen* (reals start OPERATIONAL before any probe, IOS-style), the slb namespace's kernel
    /// has resolved each real's MAC, and the forwarding loop has had its once-a-second read of
    /// the ARP table. Before that, frames to a real are dropped (`no-neighbour`) and a client
    /// waits out a whole IKE retransmission (4 s and more).
    func waitUntilForwarding(to reals: [IPv4Address], in lab: FarmLab, seconds: Double = 15) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if let shown = try? show("reals").reals, let probes = try? show("probe").probes,
               shown.count == reals.count, shown.allSatisfy({ $0.state == .operational }),
               Set(probes.filter { $0.state == .operational && $0.lastRTT != nil }.map(\.real)) == Set(reals) {
                let arp = FarmLab.shell(["ip", "-n", lab.plan.slbNamespace, "neigh", "show", "dev", LabPlan.gatewayBridge]).stdout
                let resolved = arp.split(separator: "\n").filter { line in
                    line.contains("lladdr") && ["REACHABLE", "STALE", "DELAY", "PROBE", "PERMANENT"].contains { line.contains($0) }
                }
                if reals.allSatisfy({ real in resolved.contains { $0.hasPrefix("\(real) ") } }) {
                    usleep(1_200_000)
                    return true
                }
            }
            usleep(200_000)
        }
        return false
    }

    func stop() { daemon.stop() }
}

/// The gateway farm the tests balance: three `slb gateway`s, weight 1 each, round robin, one
/// sticky group over ISAKMP, NAT-T and ESP (spec ike.md §0.5: a client's 500, 4500 and ESP
/// must reach one gateway).
func gatewayFarm(directed: Bool, gateways: Int = 3) -> String {
    var text = """
        ip slb probe GW-PING ping
         interval 1
         faildetect 3
        ip slb serverfarm GATEWAYS
         predictor roundrobin
         failaction purge

        """
    if directed { text += " nat server\n" }
    text += " probe GW-PING\n"
    for n in 1...gateways {
        text += " real \(LabAddressPlan.gateway(n)?.description ?? "")\n  weight 1\n  inservice\n"
    }
    for (name, virtual) in [("IPSEC-ISAKMP", "udp isakmp"), ("IPSEC-NATT", "udp 4500"), ("IPSEC-ESP", "esp")] {
        text += "ip slb vserver \(name)\n virtual \(LabAddressPlan.vip) \(virtual)\n serverfarm GATEWAYS\n sticky 3600 group 1\n inservice\n"
    }
    return text
}
