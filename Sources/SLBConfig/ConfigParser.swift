/// The outcome of reading a configuration.
public struct ParseResult: Sendable {
    /// nil when any diagnostic is an error.
    public var configuration: SLBConfiguration?
    /// Every diagnostic of the file, ordered by position.
    public var diagnostics: [Diagnostic]

    public init(configuration: SLBConfiguration?, diagnostics: [Diagnostic]) {
        self.configuration = configuration
        self.diagnostics = diagnostics
    }

    public var errors: [Diagnostic] { diagnostics.errors }

    /// Stable order by line then column; positionless diagnostics last.
    static func ordered(_ diagnostics: [Diagnostic]) -> [Diagnostic] {
        diagnostics.enumerated().sorted { a, b in
            let la = a.element.line == 0 ? Int.max : a.element.line
            let lb = b.element.line == 0 ? Int.max : b.element.line
            if la != lb { return la < lb }
            if a.element.column != b.element.column { return a.element.column < b.element.column }
            return a.offset < b.offset
        }.map(\.element)
    }
}

/// Reads an IOS configuration text — an `ip slb` file or a whole `show running-config` pasted as
/// is — into an `SLBConfiguration`. Every line is read, so every error is reported; lines that
/// are not `ip slb` configuration are skipped with one note per run of them.
public enum ConfigParser {
    public static func parse(_ text: String, file: String) -> ParseResult {
        var session = ConfigSession(file: file, redefinition: .reject)
        var skipped: [Diagnostic] = []
        var run: (first: Int, last: Int, text: String)?

        func closeRun() {
            guard let current = run else { return }
            let lines = current.first == current.last ? "line \(current.first)" : "lines \(current.first)-\(current.last)"
            skipped.append(Diagnostic(.note, at: SourceLocation(file: file, line: current.first, column: 1),
                                      "skipped \(lines): not ip slb configuration ('\(current.text)')"))
            run = nil
        }

        var number = 0
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            number += 1
            let result = session.apply(String(line), line: number)
            switch result.disposition {
            case .skipped:
                if run == nil {
                    run = (number, number, String(line.trimmedBlanks.prefix(40)))
                } else {
                    run?.last = number
                }
            case .comment:
                continue  // comments inside a skipped run do not end it
            case .applied, .rejected:
                closeRun()
            }
        }
        closeRun()
        var result = session.result()
        result.diagnostics = ParseResult.ordered(result.diagnostics + skipped)
        return result
    }
}

extension Substring {
    var trimmedBlanks: Substring {
        let blanks: Set<Character> = [" ", "\t", "\r"]
        var slice = self
        while let first = slice.first, blanks.contains(first) { slice = slice.dropFirst() }
        while let last = slice.last, blanks.contains(last) { slice = slice.dropLast() }
        return slice
    }
}
