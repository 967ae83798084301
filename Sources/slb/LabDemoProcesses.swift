import Foundation
import GatewayShow
import Lab
import SLBShow
#if canImport(Glibc)
import Glibc
#endif

/// Set by SIGINT/SIGTERM. A caught signal (not SIG_IGN, not a blocked mask) so the demo's
/// children get the default disposition back at exec and still die on `terminate()`.
nonisolated(unsafe) private var demoStopRequested: sig_atomic_t = 0

enum DemoStop {
    static func install() {
        // A parent may have spawned us with these blocked (the mask is inherited, e.g. from a
        // test runner's thread); unblock them here, on the thread that sleeps in `pause`.
        var set = sigset_t()
        sigemptyset(&set)
        for sig in [SIGINT, SIGTERM] {
            signal(sig) { _ in demoStopRequested = 1 }
            sigaddset(&set, sig)
        }
        pthread_sigmask(SIG_UNBLOCK, &set, nil)
    }

    static var requested: Bool { demoStopRequested != 0 }

    /// Sleeps up to `seconds`, in short steps, returning early (false) once a stop is requested.
    static func pause(_ seconds: Double) -> Bool {
        let end = Date().addingTimeInterval(seconds)
        while Date() < end {
            if requested { return false }
            usleep(50_000)
        }
        return !requested
    }
}

/// One child of the demo (`slb run`, `slb client`), output to a file, ended by its PID.
final class DemoChild {
    let process = Process()
    let outputPath: String
    let name: String

    init(_ name: String, argv: [String], output: String, errors: String? = nil) throws {
        self.name = name
        outputPath = output
        process.executableURL = URL(fileURLWithPath: argv[0])
        process.arguments = Array(argv.dropFirst())
        _ = FileManager.default.createFile(atPath: output, contents: nil)
        process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: output))
        if let errors {
            _ = FileManager.default.createFile(atPath: errors, contents: nil)
            process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: errors))
        } else {
            process.standardError = process.standardOutput
        }
        process.standardInput = FileHandle.nullDevice
        try process.run()
    }

    var output: String { (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? "" }

    /// Waits for the child to exit by itself, up to `seconds`.
    @discardableResult
    func wait(seconds: Double) -> Bool {
        let end = Date().addingTimeInterval(seconds)
        while process.isRunning && Date() < end { usleep(50_000) }
        return !process.isRunning
    }

    /// SIGTERM to this PID, then SIGKILL if it is still there after 3 s.
    func stop() {
        guard process.isRunning else { return }
        kill(process.processIdentifier, SIGTERM)
        if !wait(seconds: 3) { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }
}

/// The operator's commands, run as they would be typed (same executable), their output kept.
struct DemoShell {
    let slb: String
    let slbControl: String

    /// Prints `slb# <command>` and the command's output, as on a terminal.
    func type(_ arguments: [String], shown: String? = nil) {
        print("\nslb# " + (shown ?? (["slb"] + arguments).joined(separator: " ")))
        let result = run(arguments)
        print(result.output.trimmingCharacters(in: .newlines))
        if result.status != 0 { print("(exit \(result.status)) \(result.errorOutput)") }
    }

    func run(_ arguments: [String]) -> CommandResult {
        (try? SystemCommandRunner().run([slb] + arguments)) ?? CommandResult(status: -1, errorOutput: "cannot run \(slb)")
    }

    func table(_ name: String) -> ShowDocument? {
        let r = run(["show", "ip", "slb", name, "--json", "--control", slbControl])
        guard r.status == 0 else { return nil }
        return try? JSONDecoder().decode(ShowDocument.self, from: Data(r.output.utf8))
    }

    func gateway(control: String) -> GatewaySnapshot? {
        let r = run(["gateway", "show", "crypto", "ipsec", "sa", "--json", "--control", control])
        guard r.status == 0 else { return nil }
        return try? JSONDecoder().decode(GatewaySnapshot.self, from: Data(r.output.utf8))
    }
}
