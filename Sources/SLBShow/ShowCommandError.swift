/// Why a `show` command did not parse. The messages follow IOS's `% ...` style and name the
/// words that would have been accepted.
public enum ShowCommandError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The command stopped where a word was required.
    case incomplete(expected: [String])
    /// A word that is a prefix of several keywords with different meanings.
    case ambiguous(word: String, candidates: [String])
    /// A word that matches no keyword allowed at that position.
    case invalidInput(word: String, position: Int, expected: [String])
    /// A keyword that takes an argument was the last word.
    case missingArgument(keyword: String, argument: String)
    /// An argument that should be an IPv4 address is not one.
    case invalidAddress(word: String)
    /// `detail`, `--json` or a filter given twice, or two filters.
    case repeated(keyword: String)

    public var description: String {
        switch self {
        case .incomplete(let expected):
            "% Incomplete command: expected \(list(expected))"
        case .ambiguous(let word, let candidates):
            "% Ambiguous command: \"\(word)\" could be \(list(candidates))"
        case .invalidInput(let word, let position, let expected):
            "% Invalid input \"\(word)\" at word \(position + 1): expected \(list(expected))"
        case .missingArgument(let keyword, let argument):
            "% Incomplete command: \"\(keyword)\" needs \(argument)"
        case .invalidAddress(let word):
            "% Invalid input \"\(word)\": not an IPv4 address"
        case .repeated(let keyword):
            "% Invalid input: \"\(keyword)\" given twice (at most one filter and one detail)"
        }
    }

    private func list(_ words: [String]) -> String {
        switch words.count {
        case 0: "nothing"
        case 1: words[0]
        default: "one of " + words.joined(separator: ", ")
        }
    }
}
