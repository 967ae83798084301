import Foundation

/// The outcome of one external command.
public struct CommandResult: Hashable, Sendable {
    public var status: Int32
    public var output: String
    public var errorOutput: String

    public init(status: Int32, output: String = "", errorOutput: String = "") {
        self.status = status
        self.output = output
        self.errorOutput = errorOutput
    }

    public var succeeded: Bool { status == 0 }
}

/// Runs `ip`, `bridge`, `sysctl`, `nft`. A protocol so the executor's logic (ordering,
/// rollback, idempotent teardown) is tested without root by recording the commands.
public protocol CommandRunning: Sendable {
    func run(_ argv: [String]) throws -> CommandResult
}

public struct CommandError: Error, CustomStringConvertible, Sendable {
    public var argv: [String]
    public var result: CommandResult?
    public var reason: String

    public var description: String {
        let stderr = result.map { $0.errorOutput.trimmingCharacters(in: .whitespacesAndNewlines) } ?? ""
        let status = result.map { " (exit \($0.status))" } ?? ""
        return "`\(argv.joined(separator: " "))` failed\(status): \(stderr.isEmpty ? reason : stderr)"
    }
}

/// Runs commands with Foundation `Process`, looking executables up in the system directories
/// only (not `$PATH`): the lab runs as root and must not pick up a stray `ip` from a user path.
public struct SystemCommandRunner: CommandRunning {
    public static let searchDirectories = ["/usr/sbin", "/sbin", "/usr/bin", "/bin"]

    public init() {}

    public func run(_ argv: [String]) throws -> CommandResult {
        guard let name = argv.first else {
            throw CommandError(argv: argv, result: nil, reason: "empty command")
        }
        guard let path = SystemCommandRunner.resolve(name) else {
            throw CommandError(argv: argv, result: nil, reason: "\(name) not found in \(SystemCommandRunner.searchDirectories)")
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = Array(argv.dropFirst())
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        do {
            try process.run()
        } catch {
            throw CommandError(argv: argv, result: nil, reason: "cannot start: \(error)")
        }
        // Read both pipes before waiting, so a chatty command cannot block on a full pipe.
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        let errData = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return CommandResult(status: process.terminationStatus,
                             output: String(decoding: outData, as: UTF8.self),
                             errorOutput: String(decoding: errData, as: UTF8.self))
    }

    public static func resolve(_ name: String) -> String? {
        if name.hasPrefix("/") { return name }
        for directory in searchDirectories {
            let candidate = directory + "/" + name
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }
}
