import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Starts a lab's embedded gateways (`LabGatewayPlan`): writes the root-only PSK and COOKIE
/// secret, installs the ESP counters in every gateway namespace, starts one `slb gateway` per
/// namespace and records each PID (with its start time) in the lab state *before* waiting for
/// it, so `slb lab down` and `down --stale` end it by PID even if start-up fails half-way.
public struct LabGateways: Sendable {
    public let controller: LabController

    public init(controller: LabController) {
        self.controller = controller
    }

    /// How long a gateway may take to bind its sockets (debug build, busy 2-vCPU host).
    public static let startTimeout: TimeInterval = 15

    public struct Started: Sendable {
        public var number: Int
        public var process: ProcessIdentity
    }

    public enum GatewayError: Error, CustomStringConvertible {
        case notStarted(namespace: String, reason: String)

        public var description: String {
            switch self {
            case .notStarted(let namespace, let reason): "gateway in \(namespace) did not come up: \(reason)"
            }
        }
    }

    /// Starts every gateway of `plan` (the lab must be up). On failure the caller tears the lab
    /// down (`LabController.down`), which also ends the gateways already started.
    @discardableResult
    public func start(_ plan: LabGatewayPlan, psk: String? = nil, cookieSecret: String? = nil) throws -> [Started] {
        try writeProtected(plan.directory, directory: true)
        try writeProtected(plan.pskPath, contents: "# slb lab \(plan.lab.id): one PSK for every peer\n* \"\(try psk ?? LabGateways.randomSecret())\"\n")
        try writeProtected(plan.cookieSecretPath, contents: try (cookieSecret ?? LabGateways.randomSecret()) + "\n")
        try Data(LabGatewayPlan.counterRules.utf8).write(to: URL(fileURLWithPath: plan.counterRulesPath))
        for n in plan.lab.gatewayNumbers {
            let argv = plan.counterArguments(n)
            let result = try controller.runner.run(argv)
            guard result.succeeded else { throw CommandError(argv: argv, result: result, reason: "failed") }
        }

        var started: [Started] = []
        var processes: [Int: Process] = [:]
        for n in plan.lab.gatewayNumbers {
            let process = try spawn(plan.arguments(n), log: plan.logPath(n))
            guard let identity = ProcessIdentity.of(pid: process.processIdentifier) else {
                throw GatewayError.notStarted(namespace: plan.lab.gatewayNamespace(n), reason: "exited at once: \(tail(plan.logPath(n)))")
            }
            try controller.record(identity, in: plan.lab.id)
            started.append(Started(number: n, process: identity))
            processes[n] = process
        }
        // All start in parallel; each is ready once its loop logged "gateway up" (every socket
        // bound) and its control socket exists.
        let deadline = Date().addingTimeInterval(LabGateways.startTimeout)
        for n in plan.lab.gatewayNumbers {
            while !(FileManager.default.fileExists(atPath: plan.controlPath(n)) && logText(plan.logPath(n)).contains("gateway up")) {
                guard let process = processes[n], process.isRunning else {
                    throw GatewayError.notStarted(namespace: plan.lab.gatewayNamespace(n), reason: tail(plan.logPath(n)))
                }
                guard Date() < deadline else {
                    throw GatewayError.notStarted(namespace: plan.lab.gatewayNamespace(n),
                                                  reason: "not ready after \(Int(LabGateways.startTimeout)) s: \(tail(plan.logPath(n)))")
                }
                usleep(25_000)
            }
        }
        return started
    }

    /// 32 hex digits from the kernel's CSPRNG (128 bits, the COOKIE secret's minimum).
    public static func randomSecret() throws -> String {
        let bytes = Array(FileHandle(forReadingAtPath: "/dev/urandom")?.readData(ofLength: 16) ?? Data())
        guard bytes.count == 16 else { throw CocoaError(.fileReadUnknown, userInfo: [NSFilePathErrorKey: "/dev/urandom"]) }
        return bytes.map { String(format: "%02x", $0) }.joined()
    }

    /// The `esp_in` / `esp_out` packet counters of gateway namespace `namespace`.
    public func espCounters(namespace: String) throws -> (input: UInt64, output: UInt64) {
        func read(_ name: String) throws -> UInt64 {
            let argv = ["ip", "netns", "exec", namespace, "nft", "list", "counter", "ip", LabGatewayPlan.counterTable, name]
            let result = try controller.runner.run(argv)
            guard result.succeeded, let packets = LabGateways.packets(inCounterListing: result.output) else {
                throw CommandError(argv: argv, result: result, reason: "no counter \(name)")
            }
            return packets
        }
        return (try read("esp_in"), try read("esp_out"))
    }

    /// `packets N bytes M` from `nft list counter`.
    public static func packets(inCounterListing text: String) -> UInt64? {
        let words = text.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" })
        guard let index = words.firstIndex(of: "packets"), index + 1 < words.count else { return nil }
        return UInt64(words[index + 1])
    }

    // MARK: files and processes

    /// A file or directory only root can read (the gateway refuses a PSK file others can read).
    private func writeProtected(_ path: String, contents: String = "", directory: Bool = false) throws {
        if directory {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
            guard chmod(path, 0o700) == 0 else { throw CocoaError(.fileWriteNoPermission, userInfo: [NSFilePathErrorKey: path]) }
            return
        }
        // Created with mode 600 (not chmod after writing): the secret is never readable by others.
        let descriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0o600)
        guard descriptor >= 0 else { throw CocoaError(.fileWriteNoPermission, userInfo: [NSFilePathErrorKey: path]) }
        defer { close(descriptor) }
        let bytes = Array(contents.utf8)
        guard fchmod(descriptor, 0o600) == 0, write(descriptor, bytes, bytes.count) == bytes.count else {
            throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: path])
        }
    }

    /// Started detached from our standard streams (output to `log`), so the gateway outlives
    /// a plain `slb lab up`.
    private func spawn(_ argv: [String], log: String) throws -> Process {
        guard let name = argv.first, let path = SystemCommandRunner.resolve(name) else {
            throw CommandError(argv: argv, result: nil, reason: "\(argv.first ?? "") not found")
        }
        _ = FileManager.default.createFile(atPath: log, contents: nil, attributes: [.posixPermissions: 0o600])
        let output = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = Array(argv.dropFirst())
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = output
        process.standardError = output
        do { try process.run() } catch {
            throw CommandError(argv: argv, result: nil, reason: "cannot start: \(error)")
        }
        try? output.close()
        return process
    }

    private func logText(_ path: String) -> String { (try? String(contentsOfFile: path, encoding: .utf8)) ?? "" }

    private func tail(_ path: String) -> String { String(logText(path).suffix(2000)) }
}
