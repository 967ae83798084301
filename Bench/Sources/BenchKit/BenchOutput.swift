import Foundation

/// Where a scenario's results go and how it talks to the person running it: the readable
/// table on stdout, progress on stderr, JSON and SVG under `directory` (Bench/results/DATE/).
public struct BenchOutput: Sendable {
    public let directory: URL
    public let quiet: Bool

    public init(directory: URL, quiet: Bool = false) {
        self.directory = directory
        self.quiet = quiet
    }

    /// Bench/results/YYYY-MM-DD under `root` (the repository, by default the current directory).
    public static func dated(root: URL, date: Date = Date()) -> BenchOutput {
        BenchOutput(directory: root.appendingPathComponent("Bench/results/" + BenchOutput.day(date)))
    }

    public static func day(_ date: Date) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyy-MM-dd"
        return formatter.string(from: date)
    }

    public func progress(_ message: String) {
        guard !quiet else { return }
        FileHandle.standardError.write(Data(("slb-bench: " + message + "\n").utf8))
    }

    /// Writes `<name>.json` (and `<name>.svg` when a chart is given); returns the JSON path.
    @discardableResult
    public func write<Document: Encodable>(_ document: Document, name: String, chart: BarChart? = nil) throws -> URL {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let url = directory.appendingPathComponent(name + ".json")
        try encoder.encode(document).write(to: url)
        if let chart {
            try chart.svg.write(to: directory.appendingPathComponent(name + ".svg"), atomically: true, encoding: .utf8)
        }
        return url
    }
}

/// What every result file starts with: which scenario, when, which build, on what machine.
public struct RunInfo: Codable, Sendable, Hashable {
    public var scenario: String
    public var date: String
    public var smoke: Bool
    public var build: String
    public var command: String
    public var cpus: Int
    public var kernel: String

    public init(scenario: String, smoke: Bool, command: String = CommandLine.arguments.joined(separator: " ")) {
        self.scenario = scenario
        let formatter = ISO8601DateFormatter()
        date = formatter.string(from: Date())
        self.smoke = smoke
        #if DEBUG
        build = "debug"
        #else
        build = "release"
        #endif
        self.command = command
        cpus = ProcessInfo.processInfo.activeProcessorCount
        kernel = (try? String(contentsOfFile: "/proc/sys/kernel/osrelease", encoding: .utf8))?
            .trimmingCharacters(in: .whitespacesAndNewlines) ?? "unknown"
    }
}
