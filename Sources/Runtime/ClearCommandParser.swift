import SLBCore

/// `clear ip slb connections [vserver NAME | serverfarm NAME]` and `clear ip slb counters`
/// (spec §4), keywords by unique prefix as IOS accepts them (`clear ip slb conn`).
public enum ClearCommand: Hashable, Sendable {
    case connections(ClearScope)
    case counters

    public enum ParseError: Error, Hashable, Sendable, CustomStringConvertible {
        case incomplete(expected: [String])
        case unknown(String, expected: [String])
        case ambiguous(String, candidates: [String])
        case extra(String)

        public var description: String {
            switch self {
            case .incomplete(let expected): "% Incomplete command: expected \(expected.joined(separator: " | "))"
            case .unknown(let word, let expected): "% Invalid input '\(word)': expected \(expected.joined(separator: " | "))"
            case .ambiguous(let word, let candidates): "% Ambiguous command '\(word)': could be \(candidates.joined(separator: " or "))"
            case .extra(let word): "% Invalid input '\(word)': nothing more expected"
            }
        }
    }

    public static func parse(words: [String]) throws(ParseError) -> ClearCommand {
        var rest = words[...]
        // `clear ip slb` is optional, as `show ip slb` is for `slb show`.
        if let first = rest.first, first.count >= 2, "clear".hasPrefix(first.lowercased()) {
            for keyword in ["clear", "ip", "slb"] {
                guard let word = rest.popFirst() else { throw .incomplete(expected: [keyword]) }
                _ = try resolve(word, among: [keyword])
            }
        }
        guard let what = rest.popFirst() else { throw .incomplete(expected: ["connections", "counters"]) }
        switch try resolve(what, among: ["connections", "counters"]) {
        case "counters":
            if let word = rest.first { throw .extra(word) }
            return .counters
        default:
            guard let filter = rest.popFirst() else { return .connections(.all) }
            let keyword = try resolve(filter, among: ["serverfarm", "vserver"])
            guard let name = rest.popFirst() else { throw .incomplete(expected: ["NAME"]) }
            if let word = rest.first { throw .extra(word) }
            return .connections(keyword == "vserver" ? .vserver(name) : .serverfarm(name))
        }
    }

    private static func resolve(_ word: String, among keywords: [String]) throws(ParseError) -> String {
        let lower = word.lowercased()
        if keywords.contains(lower) { return lower }
        let matches = keywords.filter { $0.hasPrefix(lower) }
        guard !lower.isEmpty, let match = matches.first else { throw .unknown(word, expected: keywords) }
        guard matches.count == 1 else { throw .ambiguous(word, candidates: matches) }
        return match
    }
}
