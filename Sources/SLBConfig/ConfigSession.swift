import SLBWire

/// Applies IOS configuration lines, one at a time, to a configuration: the interpreter behind
/// `ConfigParser` (a whole file), `slb configure 'line' ...` and an interactive CLI.
///
/// It keeps the IOS mode stack (global → probe | serverfarm → real | vserver). A line is tried
/// in the current mode, then in each enclosing mode; the first mode that knows its keyword runs
/// it and becomes the current mode, exactly how IOS leaves a sub-mode without `exit`.
public struct ConfigSession: Sendable {
    /// What happens when a file opens the same object twice (`ip slb serverfarm X` in two
    /// places, or `real IP` twice in one farm). IOS merges, which is right at a prompt;
    /// in a file it is almost always a copy-paste mistake, so `ConfigParser` rejects it.
    public enum Redefinition: Sendable {
        case merge
        case reject
    }

    public enum Disposition: Hashable, Sendable {
        /// The line changed the configuration or the mode.
        case applied
        /// Blank or `!` comment.
        case comment
        /// Not `ip slb` configuration (a pasted `interface` block, `hostname`, ...).
        case skipped
        /// Rejected with an error, or consumed as part of a rejected block.
        case rejected
    }

    public struct LineResult: Hashable, Sendable {
        public var disposition: Disposition
        public var diagnostics: [Diagnostic]
    }

    public internal(set) var draft: ConfigDraft
    public internal(set) var modes: [ConfigMode] = [.global]
    public internal(set) var sources = SourceMap()
    /// Every diagnostic of every applied line, in order.
    public private(set) var diagnostics: [Diagnostic] = []
    public let file: String
    public let redefinition: Redefinition

    /// Objects opened by this session, with where, to report redefinitions.
    var opened: [SourceMap.Key: SourceLocation] = [:]
    /// Where each object of `draft` is, by name: O(1) lookups per line.
    var index: DraftIndex
    /// Vservers whose `virtual` was rejected: reported once, not again as "no virtual".
    var rejectedVirtuals: Set<String> = []
    private var pending: [Diagnostic] = []
    private var currentLine = 0

    public init(configuration: SLBConfiguration = SLBConfiguration(), file: String = "<configure>",
                redefinition: Redefinition = .merge) {
        draft = ConfigDraft(configuration)
        index = DraftIndex(draft)
        self.file = file
        self.redefinition = redefinition
    }

    public var mode: ConfigMode { modes.last ?? .global }

    /// The IOS prompt for the current mode: `Router(config-slb-real)#`.
    public func prompt(hostname: String = "Router") -> String { "\(hostname)(\(mode.prompt))#" }

    // MARK: applying lines

    public mutating func apply(_ text: String, line: Int) -> LineResult {
        currentLine = line
        pending = []
        let configLine = ConfigLine(text)
        let disposition = configLine.isEmpty ? .comment : dispatch(configLine)
        diagnostics += pending
        return LineResult(disposition: disposition, diagnostics: pending)
    }

    /// The configuration as it stands, validated: nil when any line or check gave an error.
    public func result() -> ParseResult {
        var all = diagnostics
        all += incompleteVserverDiagnostics()
        all += ConfigValidator.validate(draft.configuration, file: file, sources: sources)
        let configuration = all.hasErrors ? nil : draft.configuration
        return ParseResult(configuration: configuration, diagnostics: ParseResult.ordered(all))
    }

    /// Vservers still without a `virtual` are not part of the model the validator sees, so
    /// their own omission and their farm references are checked here.
    private func incompleteVserverDiagnostics() -> [Diagnostic] {
        var found: [Diagnostic] = []
        for vserver in draft.vservers where vserver.virtual == nil {
            let name = vserver.name
            if !rejectedVirtuals.contains(name) {
                found.append(Diagnostic(.error, at: location(.vserver(name)),
                                        "vserver \(name) has no virtual address: expected 'virtual A.B.C.D {udp PORT|esp}'"))
            }
            if vserver.farm == nil {
                found.append(Diagnostic(.error, at: location(.vserver(name)),
                                        "vserver \(name) has no serverfarm: expected 'serverfarm NAME'"))
            }
            for (reference, key, what) in [(vserver.farm, SourceMap.Key.farmReference(vserver: name), "serverfarm"),
                                           (vserver.backupFarm, .backupReference(vserver: name), "backup serverfarm")] {
                if let reference, index.farm(reference, in: draft) == nil {
                    found.append(Diagnostic(.error, at: sources[key] ?? location(.vserver(name)),
                                            "vserver \(name) uses unknown \(what) \(reference)"))
                }
            }
        }
        return found
    }

    func location(_ key: SourceMap.Key) -> SourceLocation {
        sources[key] ?? SourceLocation(file: file, line: 0, column: 0)
    }

    func here(_ column: Int) -> SourceLocation { SourceLocation(file: file, line: currentLine, column: column) }

    mutating func emit(_ severity: Diagnostic.Severity, _ column: Int, _ message: String) {
        pending.append(Diagnostic(severity, at: here(column), message))
    }

    // MARK: dispatch

    private enum Classification {
        case command(keyword: String, negated: Bool, argumentsFrom: Int)
        case ambiguous(Token, [String])
        case incomplete(CommandError)
        case none
    }

    private mutating func dispatch(_ line: ConfigLine) -> Disposition {
        let searchable: [(depth: Int, mode: ConfigMode)]
        switch mode {
        case .foreign, .unsupported: searchable = [(0, .global)]
        default: searchable = modes.enumerated().reversed().map { ($0.offset, $0.element) }
        }
        for (depth, candidate) in searchable {
            switch classify(line, in: candidate) {
            case .none:
                continue
            case .ambiguous(let token, let candidates):
                emit(.error, token.column, "ambiguous command '\(token.text)': could be \(listing(candidates))")
                return .rejected
            case .incomplete(let error):
                emit(.error, error.column, error.message)
                return .rejected
            case .command(let keyword, let negated, let start):
                modes.removeLast(modes.count - depth - 1)
                if case .discarding = candidate { return .rejected }
                let arguments = Arguments(line, from: start)
                return run(keyword, negated: negated, arguments, in: candidate, line: line)
            }
        }
        return unknown(line)
    }

    private func classify(_ line: ConfigLine, in mode: ConfigMode) -> Classification {
        guard let first = line.tokens.first else { return .none }
        guard let kind = mode.kind else {
            // Global: `ip slb` is matched exactly. The full IOS global command set is unknown
            // here, so a prefix such as `i` cannot be proven unique; any other word is skipped.
            let words = line.tokens.map { $0.text.lowercased() }
            if words.count == 1, words[0] == "exit" || words[0] == "end" {
                return .command(keyword: words[0], negated: false, argumentsFrom: 1)
            }
            if words.count >= 2, words[0] == "ip", words[1] == "slb" {
                return .command(keyword: "ip", negated: false, argumentsFrom: 2)
            }
            if words.count >= 3, words[0] == "no", words[1] == "ip", words[2] == "slb" {
                return .command(keyword: "ip", negated: true, argumentsFrom: 3)
            }
            return .none
        }
        let commands = CommandTable.commands(for: kind)
        switch KeywordMatcher.match(first.text, in: CommandTable.keywords(commands)) {
        case .none:
            return .none
        case .ambiguous(let candidates):
            return .ambiguous(first, candidates)
        case .matched("no"):
            guard line.tokens.count > 1 else {
                return .incomplete(CommandError(column: line.endColumn,
                                                message: "expected a command after 'no', found end of line"))
            }
            let second = line.tokens[1]
            let negatable = commands.filter(\.negatable).map(\.keyword)
            switch KeywordMatcher.match(second.text, in: negatable) {
            case .matched(let keyword): return .command(keyword: keyword, negated: true, argumentsFrom: 2)
            case .ambiguous(let candidates): return .ambiguous(second, candidates)
            case .none: return .none
            }
        case .matched(let keyword):
            return .command(keyword: keyword, negated: false, argumentsFrom: 1)
        }
    }

    /// A line no mode on the stack knows.
    private mutating func unknown(_ line: ConfigLine) -> Disposition {
        guard let first = line.tokens.first else { return .comment }
        switch mode {
        case .discarding, .unsupported:
            if line.isIndented { return .rejected }
        case .probe, .serverFarm, .real, .virtualServer:
            let kinds = modes.compactMap(\.kind)
            let known = kinds.flatMap { CommandTable.commands(for: $0) }
                .filter { $0.support == .supported && $0.keyword != "exit" && $0.keyword != "end" }
                .map(\.keyword)
            let suggestion = KeywordMatcher.suggestion(for: first.text, in: known)
            if line.isIndented || suggestion != nil {
                let kind = kinds.last ?? .probe
                let expected = CommandTable.commands(for: kind)
                    .filter { $0.support == .supported && $0.keyword != "exit" && $0.keyword != "end" }
                    .map(\.keyword)
                var message = "expected a \(kind.noun) command (\(listing(expected))), found '\(first.text)'"
                if let suggestion { message += "; did you mean '\(suggestion)'?" }
                emit(.error, first.column, message)
                return .rejected
            }
        case .global, .foreign:
            break
        }
        modes = [.global, .foreign]
        return .skipped
    }

    // MARK: running a command

    private mutating func run(_ keyword: String, negated: Bool, _ arguments: Arguments, in mode: ConfigMode,
                              line: ConfigLine) -> Disposition {
        if keyword == "exit" || keyword == "end" {
            do throws(CommandError) { try arguments.end() } catch { emit(.error, error.column, error.message); return .rejected }
            if keyword == "end" { modes = [.global] } else if modes.count > 1 { modes.removeLast() }
            return .applied
        }
        let before = pending.count
        do throws(CommandError) {
            switch mode {
            case .global:
                try globalCommand(negated: negated, arguments)
            case .probe(let name):
                try probeCommand(keyword, negated: negated, arguments, probe: name)
            case .serverFarm(let name):
                try farmCommand(keyword, negated: negated, arguments, farm: name)
            case .real(let farm, let key):
                try realCommand(keyword, negated: negated, arguments, farm: farm, real: key)
            case .virtualServer(let name):
                try vserverCommand(keyword, negated: negated, arguments, vserver: name)
            case .discarding, .foreign, .unsupported:
                return .rejected
            }
        } catch {
            emit(.error, error.column, error.message)
            return .rejected
        }
        return pending[before...].contains { $0.severity == .error } ? .rejected : .applied
    }

    mutating func push(_ mode: ConfigMode) { modes.append(mode) }

    /// Records that this session opened `key`; in `.reject` mode a second opening is an error.
    mutating func open(_ key: SourceMap.Key, what: String, column: Int) {
        let location = here(column)
        if let previous = opened[key] {
            if redefinition == .reject {
                emit(.error, column, "duplicate \(what): already defined at line \(previous.line)")
            }
        } else {
            opened[key] = location
            if sources[key] == nil || redefinition == .reject { sources[key] = location }
        }
    }

    /// Warns that an IOS command was accepted but has no effect in VPNSLB. The caller has
    /// read the command's arguments with their IOS grammar and ranges: a command that IOS
    /// would reject is an error here too, not a warning.
    mutating func ignored(_ spec: CommandSpec?, _ column: Int, _ arguments: Arguments) throws(CommandError) {
        try arguments.end()
        if case .ignored(let reason)? = spec?.support {
            emit(.warning, column, "'\(spec?.keyword ?? "")' is accepted and ignored: \(reason)")
        }
    }
}

// MARK: `?` help

extension ConfigSession {
    /// The commands `?` lists after `prefix` (empty for all), in the current mode, then in the
    /// enclosing modes that a line could also reach, as IOS does.
    public func help(_ prefix: String = "") -> [CommandSpec] {
        let lowered = prefix.lowercased()
        var seen: Set<String> = []
        var specs: [CommandSpec] = []
        let reachable: [ConfigMode] = switch mode {
        case .foreign, .unsupported: [.global]
        default: modes.reversed()
        }
        for level in reachable {
            for spec in level.commands where spec.keyword.hasPrefix(lowered) && seen.insert(spec.keyword).inserted {
                specs.append(spec)
            }
        }
        return specs
    }
}
