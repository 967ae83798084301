/// A word of a configuration line and the 1-based column where it starts.
public struct Token: Hashable, Sendable, CustomStringConvertible {
    public var text: String
    public var column: Int

    public init(_ text: String, column: Int) {
        self.text = text
        self.column = column
    }

    public var description: String { text }
}

/// One configuration line split into words. IOS separates words by blanks; `!` starts a comment
/// when it is the first word (IOS) or, as a VPNSLB extension, when it follows a blank
/// (`maxconns 4000   ! two per tunnel`), so annotated farm files stay valid.
public struct ConfigLine: Hashable, Sendable {
    public var tokens: [Token]
    /// True when the line starts with a blank: IOS writes every sub-command indented, so an
    /// unknown *indented* word inside an `ip slb` block is a mistake, while an unknown word at
    /// column 1 is the next (non-SLB) global command of a pasted running-config.
    public var isIndented: Bool
    /// Column just past the last word, where "found end of line" points.
    public var endColumn: Int

    public init(_ text: Substring) {
        var tokens: [Token] = []
        var current = ""
        var start = 0
        var column = 0
        var previousWasBlank = true
        for character in text {
            column += 1
            if character == " " || character == "\t" || character == "\r" {
                if !current.isEmpty { tokens.append(Token(current, column: start)); current = "" }
                previousWasBlank = true
                continue
            }
            if character == "!" && previousWasBlank && current.isEmpty { break }
            if current.isEmpty { start = column }
            current.append(character)
            previousWasBlank = false
        }
        if !current.isEmpty { tokens.append(Token(current, column: start)) }
        self.tokens = tokens
        self.isIndented = text.first == " " || text.first == "\t"
        self.endColumn = (tokens.last.map { $0.column + $0.text.count }) ?? 1
    }

    public init(_ text: String) { self.init(Substring(text)) }

    public var isEmpty: Bool { tokens.isEmpty }
}
