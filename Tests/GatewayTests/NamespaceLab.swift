#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Testing

/// A two-namespace lab for the gateway, driven with `ip` and the built `slb` binary:
/// ```
///  client ns  198.51.100.1/24, 192.0.2.1/24 on the veth; 192.0.2.128/26 local on lo
///     └─veth─ gateway ns  198.51.100.11/24, VIP 203.0.113.100/32 on lo, default via .1
/// ```
/// Names carry a per-run prefix; `tearDown` kills the processes it started (by PID) and
/// deletes the namespaces, and every test calls it in a `defer`.
final class NamespaceLab: @unchecked Sendable {
    // @unchecked: used by one test at a time (the suite is serialized).
    static let vip = "203.0.113.100"
    static let gatewayAddress = "198.51.100.11"
    static let clientBase = "192.0.2.128"

    let prefix: String
    let dir: String
    var gatewayNS: String { prefix + "g" }
    var clientNS: String { prefix + "c" }
    var pskPath: String { dir + "/psk" }
    var controlPath: String { dir + "/run/gateway.sock" }
    private var processes: [Process] = []

    nonisolated(unsafe) static var counter = 0

    /// Why the lab cannot run here, or nil when it can.
    static let unavailableReason: String? = {
        guard geteuid() == 0 else { return "namespace tests need root" }
        guard FileManager.default.isExecutableFile(atPath: "/usr/sbin/ip") || FileManager.default.isExecutableFile(atPath: "/sbin/ip") else {
            return "namespace tests need iproute2 (ip netns)"
        }
        let probe = "gwprobe\(getpid())"
        guard run(["ip", "netns", "add", probe]).status == 0 else { return "cannot create network namespaces (ip netns add failed)" }
        _ = run(["ip", "netns", "del", probe])
        guard FileManager.default.isExecutableFile(atPath: slbPath) else { return "slb binary not built at \(slbPath) (swift build)" }
        return nil
    }()

    static var isAvailable: Bool { unavailableReason == nil }

    /// The `slb` executable next to the test bundle (same build directory).
    static let slbPath: String = {
        let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? ""
        var url = URL(fileURLWithPath: exe).deletingLastPathComponent()
        // The test runner lives inside the .xctest bundle directory or next to it.
        for _ in 0..<3 {
            let candidate = url.appendingPathComponent("slb").path
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
            url.deleteLastPathComponent()
        }
        return url.appendingPathComponent("slb").path
    }()

    init() throws {
        Self.counter += 1
        prefix = "gw\(getpid() % 100000)x\(Self.counter)"
        dir = "/tmp/vpnslb-gwtest-\(prefix)"
        try FileManager.default.createDirectory(atPath: dir + "/run", withIntermediateDirectories: true)
        chmod(dir + "/run", 0o700)
        let steps: [[String]] = [
            ["ip", "netns", "add", gatewayNS],
            ["ip", "netns", "add", clientNS],
            ["ip", "link", "add", prefix + "a", "type", "veth", "peer", "name", prefix + "b"],
            ["ip", "link", "set", prefix + "a", "netns", gatewayNS],
            ["ip", "link", "set", prefix + "b", "netns", clientNS],
            ["ip", "-n", gatewayNS, "addr", "add", Self.gatewayAddress + "/24", "dev", prefix + "a"],
            ["ip", "-n", gatewayNS, "addr", "add", Self.vip + "/32", "dev", "lo"],
            ["ip", "-n", gatewayNS, "link", "set", "lo", "up"],
            ["ip", "-n", gatewayNS, "link", "set", prefix + "a", "up"],
            ["ip", "-n", gatewayNS, "route", "add", "default", "via", "198.51.100.1"],
            ["ip", "-n", clientNS, "addr", "add", "198.51.100.1/24", "dev", prefix + "b"],
            ["ip", "-n", clientNS, "addr", "add", "192.0.2.1/24", "dev", prefix + "b"],
            ["ip", "-n", clientNS, "link", "set", "lo", "up"],
            ["ip", "-n", clientNS, "link", "set", prefix + "b", "up"],
            ["ip", "-n", clientNS, "route", "add", Self.vip + "/32", "via", Self.gatewayAddress],
            // Extra client sources (testbed.md): a local route makes the whole /26 ours.
            ["ip", "-n", clientNS, "route", "add", "local", Self.clientBase + "/26", "dev", "lo"],
        ]
        for step in steps {
            let r = Self.run(step)
            guard r.status == 0 else {
                tearDown()
                throw LabError("\(step.joined(separator: " ")): \(r.stderr)")
            }
        }
        try writePSKFile("* \"lab-psk-0123456789\"\n")
    }

    func writePSKFile(_ text: String) throws {
        _ = FileManager.default.createFile(atPath: pskPath, contents: Data(text.utf8), attributes: [.posixPermissions: 0o600])
        chmod(pskPath, 0o600)
    }

    func tearDown() {
        for p in processes where p.isRunning {
            kill(p.processIdentifier, SIGTERM)
        }
        for p in processes {
            let deadline = Date().addingTimeInterval(3)
            while p.isRunning && Date() < deadline { usleep(20_000) }
            if p.isRunning { kill(p.processIdentifier, SIGKILL); p.waitUntilExit() }
        }
        processes.removeAll()
        _ = Self.run(["ip", "netns", "del", gatewayNS])
        _ = Self.run(["ip", "netns", "del", clientNS])
        try? FileManager.default.removeItem(atPath: dir)
    }

    // MARK: processes

    /// Starts a long-running process inside `ns`; its output goes to `logName` in the lab dir.
    @discardableResult
    func start(in ns: String, _ arguments: [String], log logName: String) throws -> Process {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/sbin/ip")
        p.arguments = ["netns", "exec", ns] + arguments
        let path = dir + "/" + logName
        _ = FileManager.default.createFile(atPath: path, contents: nil)
        let log = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        p.standardOutput = log
        p.standardError = log
        try p.run()
        processes.append(p)
        return p
    }

    func log(_ name: String) -> String { (try? String(contentsOfFile: dir + "/" + name, encoding: .utf8)) ?? "" }

    func startGateway(extra: [String] = []) throws -> Process {
        let p = try start(in: gatewayNS, [Self.slbPath, "gateway", "--vip", Self.vip, "--psk-file", pskPath,
                                          "--control", controlPath] + extra, log: "gateway.log")
        for _ in 0..<200 {
            // "gateway up" is logged by the loop once every socket is bound.
            if FileManager.default.fileExists(atPath: controlPath), log("gateway.log").contains("gateway up") { return p }
            guard p.isRunning else { break }
            usleep(25_000)
        }
        throw LabError("gateway did not open its control socket: \(log("gateway.log"))")
    }

    func inNS(_ ns: String, _ arguments: [String], timeout: TimeInterval = 60) -> (status: Int32, stdout: String, stderr: String) {
        Self.run(["ip", "netns", "exec", ns] + arguments, timeout: timeout)
    }

    func show(_ words: [String]) -> (status: Int32, stdout: String, stderr: String) {
        inNS(gatewayNS, [Self.slbPath, "gateway", "show"] + words + ["--control", controlPath])
    }

    /// Runs a command to completion (bounded by `timeout`, then SIGKILL).
    static func run(_ arguments: [String], timeout: TimeInterval = 60) -> (status: Int32, stdout: String, stderr: String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = arguments
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        do { try p.run() } catch { return (-1, "", "\(error)") }
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
        return (p.terminationStatus, String(decoding: box.out, as: UTF8.self), String(decoding: box.err, as: UTF8.self))
    }
}

private final class OutputBox: @unchecked Sendable {
    // Each field is written by one queue block and read after `group.wait()`.
    var out = Data()
    var err = Data()
}

struct LabError: Error, CustomStringConvertible {
    var description: String
    init(_ d: String) { description = d }
}
