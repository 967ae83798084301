import SLBConfig
import SLBShow

/// The interactive `slb cli`: IOS exec and configuration modes, prompts, `?` help and unique
/// prefixes, as a pure state machine (the command performs its actions: print, send a control
/// request, quit), so it is tested without a terminal or a daemon.
///
/// Configuration lines are checked as they are typed (a local `ConfigSession` gives the IOS
/// prompt and the diagnostics at once) and sent to the running SLB together at `end` (or
/// `exit` from global configuration), validated as a whole. IOS applies each line at once;
/// here a half-built vserver (no `virtual` yet) would be an invalid configuration, so the
/// edit is committed when it is complete.
public struct CLISession: Sendable {
    public enum Action: Hashable, Sendable {
        case print(String)
        case send(ControlRequest)
        case quit
    }

    public let hostname: String
    public private(set) var running: SLBConfiguration
    private var session: ConfigSession?
    private var pending: [String] = []

    public init(hostname: String = "slb", running: SLBConfiguration) {
        self.hostname = hostname
        self.running = running
    }

    public var isConfiguring: Bool { session != nil }

    /// `slb#` in exec mode, `slb(config)#`, `slb(config-slb-sfarm)#` ... while configuring.
    public var prompt: String {
        guard let session else { return "\(hostname)#" }
        return session.prompt(hostname: hostname)
    }

    /// The running configuration changed (fetched again after a commit).
    public mutating func update(running: SLBConfiguration) { self.running = running }

    static let execCommands: [(keyword: String, help: String)] = [
        ("clear", "Reset functions (clear ip slb connections | counters | sticky)"),
        ("configure", "Enter configuration mode (configure terminal)"),
        ("copy", "Save the running configuration (copy running-config startup-config)"),
        ("end", "Leave the CLI"),
        ("exit", "Leave the CLI"),
        ("show", "Show running system information (show ip slb ..., show running-config)"),
        ("write", "Save the running configuration to the file (write memory)"),
    ]

    public mutating func input(_ line: String) -> [Action] {
        let trimmed = line.trimmingBlanks
        if session != nil { return configure(trimmed) }
        if trimmed.hasSuffix("?") { return [.print(execHelp(String(trimmed.dropLast())))] }
        let words = trimmed.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
        guard let first = words.first else { return [] }
        let matches = Self.execCommands.filter { $0.keyword.hasPrefix(first.lowercased()) }
        guard !matches.isEmpty else { return [.print("% Invalid input detected at '\(first)'")] }
        guard matches.count == 1 || matches.contains(where: { $0.keyword == first.lowercased() }) else {
            return [.print("% Ambiguous command: \"\(first)\"")]
        }
        let keyword = matches.count == 1 ? matches[0].keyword : first.lowercased()
        switch keyword {
        case "show":
            let rest = Array(words.dropFirst())
            if let word = rest.first, word.count >= 2, "running-config".hasPrefix(word.lowercased()) {
                return [.send(.runningConfig(all: rest.dropFirst().first.map { "all".hasPrefix($0.lowercased()) } ?? false))]
            }
            return [.send(.show(words))]
        case "clear":
            return [.send(.clear(words))]
        case "configure":
            if let word = words.dropFirst().first, !"terminal".hasPrefix(word.lowercased()) {
                return [.print("% Invalid input detected at '\(word)': only configure terminal")]
            }
            session = ConfigSession(configuration: running, file: "<cli>", redefinition: .merge)
            pending = []
            return [.print("Enter configuration commands, one per line.  End with end.")]
        case "write":
            if let word = words.dropFirst().first, !"memory".hasPrefix(word.lowercased()) || words.count > 2 {
                return [.print("% Invalid input detected at '\(words.count > 2 ? words[2] : word)': only write memory")]
            }
            return [.send(.writeMemory(force: false))]
        case "copy":
            // IOS `copy running-config startup-config`: the only copy the SLB knows.
            let targets = ["running-config", "startup-config"]
            let rest = Array(words.dropFirst())
            guard rest.count == targets.count else {
                return [.print("% Incomplete or invalid: only copy running-config startup-config")]
            }
            for (word, target) in zip(rest, targets) where word.count < 2 || !target.hasPrefix(word.lowercased()) {
                return [.print("% Invalid input detected at '\(word)': only copy running-config startup-config")]
            }
            return [.send(.writeMemory(force: false))]
        default:
            return [.quit]
        }
    }

    private mutating func configure(_ line: String) -> [Action] {
        guard var current = session else { return [] }
        if line.hasSuffix("?") { return [.print(configHelp(current, String(line.dropLast())))] }
        let word = line.split(separator: " ").first.map { $0.lowercased() } ?? ""
        let atGlobal = current.mode == .global
        if word == "end" || (word == "exit" && atGlobal) {
            session = nil
            let lines = pending
            pending = []
            return lines.isEmpty ? [] : [.send(.configure(lines))]
        }
        let result = current.apply(line, line: pending.count + 1)
        session = current
        switch result.disposition {
        case .applied: pending.append(line)
        case .comment, .skipped, .rejected: break
        }
        return result.diagnostics.isEmpty ? [] : [.print(result.diagnostics.map(\.description).joined(separator: "\n"))]
    }

    private func execHelp(_ prefix: String) -> String {
        let words = prefix.split(separator: " ").map(String.init)
        if words.count <= 1 {
            let stem = words.first?.lowercased() ?? ""
            return Self.execCommands.filter { $0.keyword.hasPrefix(stem) }
                .map { Self.column($0.keyword, $0.help) }.joined(separator: "\n")
        }
        // `show ip slb ?`: what the show parser expects next.
        do {
            _ = try ShowCommandParser.parse(words: words)
            return "  <cr>"
        } catch {
            return "  \(error)"
        }
    }

    private func configHelp(_ session: ConfigSession, _ prefix: String) -> String {
        let stem = prefix.split(separator: " ").last.map(String.init) ?? ""
        var lines = session.help(prefix.hasSuffix(" ") ? "" : stem).map { Self.column($0.keyword, $0.help) }
        if stem.isEmpty || "end".hasPrefix(stem) { lines.append(Self.column("end", "Exit to exec mode and apply")) }
        if stem.isEmpty || "exit".hasPrefix(stem) { lines.append(Self.column("exit", "Exit from the current mode")) }
        return lines.joined(separator: "\n")
    }

    static func column(_ keyword: String, _ help: String) -> String {
        "  " + keyword.padding(toLength: max(keyword.count, 14)) + " " + help
    }
}

extension String {
    var trimmingBlanks: String {
        var text = Substring(self)
        while let first = text.first, first == " " || first == "\t" || first == "\r" || first == "\n" { text.removeFirst() }
        while let last = text.last, last == " " || last == "\t" || last == "\r" || last == "\n" { text.removeLast() }
        return String(text)
    }

    func padding(toLength length: Int) -> String {
        count >= length ? self : self + String(repeating: " ", count: length - count)
    }
}
