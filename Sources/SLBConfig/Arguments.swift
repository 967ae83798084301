import SLBWire

/// A rejected command: where, and the `expected X, found Y` message.
struct CommandError: Error {
    var column: Int
    var message: String
}

/// A cursor over the words of one command. Every read either returns a typed value or throws a
/// `CommandError` that points at the offending word (or at the end of the line when a word is
/// missing), so handlers never index the token array themselves.
struct Arguments {
    let tokens: [Token]
    let endColumn: Int
    private(set) var index: Int

    init(_ line: ConfigLine, from index: Int = 0) {
        tokens = line.tokens
        endColumn = line.endColumn
        self.index = index
        commandColumn = index > 0 && index <= tokens.count ? tokens[index - 1].column : 1
    }

    /// Column of the command keyword (the word before the first argument).
    let commandColumn: Int

    var isAtEnd: Bool { index >= tokens.count }
    var peek: Token? { index < tokens.count ? tokens[index] : nil }
    /// Column of the next word, or of the end of line.
    var column: Int { peek?.column ?? endColumn }

    static func found(_ token: Token?) -> String { token.map { "'\($0.text)'" } ?? "end of line" }

    func failure(expected: String) -> CommandError {
        CommandError(column: column, message: "expected \(expected), found \(Arguments.found(peek))")
    }

    mutating func next(expected: String) throws(CommandError) -> Token {
        guard let token = peek else { throw failure(expected: expected) }
        index += 1
        return token
    }

    /// A keyword from `keywords`, by unique prefix.
    mutating func keyword(_ keywords: [String], expected: String? = nil) throws(CommandError) -> String {
        let what = expected ?? listing(keywords)
        guard let token = peek else { throw failure(expected: what) }
        switch KeywordMatcher.match(token.text, in: keywords) {
        case .matched(let keyword):
            index += 1
            return keyword
        case .ambiguous(let candidates):
            throw CommandError(column: token.column,
                               message: "ambiguous keyword '\(token.text)': could be \(listing(candidates))")
        case .none:
            throw failure(expected: what)
        }
    }

    /// Consumes the next word when it is (a prefix of) `keyword`.
    mutating func optionalKeyword(_ keywords: [String]) throws(CommandError) -> String? {
        guard let token = peek else { return nil }
        switch KeywordMatcher.match(token.text, in: keywords) {
        case .matched(let keyword):
            index += 1
            return keyword
        case .ambiguous(let candidates):
            throw CommandError(column: token.column,
                               message: "ambiguous keyword '\(token.text)': could be \(listing(candidates))")
        case .none:
            return nil
        }
    }

    /// A decimal number in `range`. Digits only: IOS takes no sign, no hex, no separators.
    mutating func number<T: FixedWidthInteger>(_ range: ClosedRange<T>, _ what: String) throws(CommandError) -> T {
        let expected = "\(what) \(range.lowerBound)-\(range.upperBound)"
        guard let token = peek else { throw failure(expected: expected) }
        guard let value = Arguments.decimal(token.text, as: T.self), range.contains(value) else {
            throw failure(expected: expected)
        }
        index += 1
        return value
    }

    /// `no` forms: IOS accepts the positive form's argument after `no` (`no weight 10`) and
    /// ignores its value, but still rejects a word that is not one (`no weight foo`).
    mutating func optionalNumber<T: FixedWidthInteger>(_ range: ClosedRange<T>, _ what: String) throws(CommandError) -> T? {
        if isAtEnd { return nil }
        return try number(range, what)
    }

    /// A number that the positive form requires and its `no` form may omit.
    mutating func number<T: FixedWidthInteger>(_ range: ClosedRange<T>, _ what: String,
                                               optional: Bool) throws(CommandError) -> T? {
        if optional { return try optionalNumber(range, what) }
        return try number(range, what)
    }

    static func decimal<T: FixedWidthInteger>(_ text: String, as: T.Type) -> T? {
        guard !text.isEmpty, text.utf8.count <= 20, text.utf8.allSatisfy({ (0x30...0x39).contains($0) }) else {
            return nil
        }
        return T(text)   // nil on overflow
    }

    mutating func address(_ what: String) throws(CommandError) -> IPv4Address {
        guard let token = peek, let address = IPv4Address(token.text) else {
            throw failure(expected: what)
        }
        index += 1
        return address
    }

    /// A dotted netmask; a non-contiguous one is named as such, since IOS rejects it too.
    mutating func mask(_ what: String) throws(CommandError) -> IPv4Mask {
        guard let token = peek, IPv4Address(token.text) != nil else { throw failure(expected: what) }
        guard let mask = IPv4Mask(token.text) else {
            throw CommandError(column: token.column,
                               message: "expected \(what) with contiguous ones, found '\(token.text)'")
        }
        index += 1
        return mask
    }

    /// An object name. IOS limits probe, farm and vserver names to 15 characters
    /// (CISCO-SLB-MIB `SlbServerString`, SIZE 1..15).
    mutating func name(_ what: String) throws(CommandError) -> String {
        guard let token = peek else { throw failure(expected: what) }
        guard token.text.count <= ConfigLimits.maximumNameLength else {
            throw CommandError(column: token.column,
                               message: "expected \(what) of at most \(ConfigLimits.maximumNameLength) characters, found '\(token.text)' (\(token.text.count))")
        }
        index += 1
        return token.text
    }

    /// The rest of the line must be empty.
    func end() throws(CommandError) {
        if let token = peek {
            throw CommandError(column: token.column, message: "expected end of line, found '\(token.text)'")
        }
    }

}

/// IOS CLI ranges, quoted from the command reference / CISCO-SLB-MIB (see README.md).
public enum ConfigLimits {
    public static let maximumNameLength = 15
    public static let weight: ClosedRange<UInt8> = 1...255
    public static let maxConns: ClosedRange<UInt32> = 1...UInt32.max
    public static let retry: ClosedRange<UInt16> = 1...3600
    public static let idle: ClosedRange<UInt32> = 10...65535
    public static let probeInterval: ClosedRange<UInt32> = 1...65535
    public static let faildetect: ClosedRange<UInt8> = 1...255
    public static let sticky: ClosedRange<UInt16> = 0...65535
    public static let stickyGroup: ClosedRange<UInt8> = 0...255
    public static let realPort: ClosedRange<UInt16> = 1...65535
    public static let virtualPort: ClosedRange<UInt16> = 0...65535
    public static let entries: ClosedRange<Int> = 1...TableLimits.maximumEntries
    public static let delay: ClosedRange<UInt16> = 1...600
    public static let reassign: ClosedRange<UInt8> = 1...4
    /// `faildetect numconns 1-255 [numclients 1-8]` on a real (spec §1.4).
    public static let faildetectNumconns: ClosedRange<UInt8> = 1...255
    public static let faildetectNumclients: ClosedRange<UInt8> = 1...8
    /// `synguard syn-count [interval]` (spec §1.5): count of outstanding SYNs (0 = off), the
    /// period in milliseconds; the ranges of the IOS command reference.
    public static let synguardCount: ClosedRange<UInt32> = 0...1_073_741_823
    public static let synguardPeriod: ClosedRange<UInt16> = 50...5000
    /// `bindid` (DFP), CISCO-SLB-MIB `slbServerFarmBindId`.
    public static let bindID: ClosedRange<UInt16> = 0...65533
}
