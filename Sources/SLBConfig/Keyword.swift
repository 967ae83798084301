/// How an IOS keyword is looked up: case-insensitively, and any unique prefix of a keyword
/// selects it (`inserv`, `pred leastc`), the way the IOS parser does. An exact match wins even
/// when the word is also the prefix of a longer keyword.
public enum KeywordMatch: Hashable, Sendable {
    case matched(String)
    case ambiguous([String])
    case none
}

public enum KeywordMatcher {
    public static func match(_ word: String, in keywords: [String]) -> KeywordMatch {
        let lowered = word.lowercased()
        if keywords.contains(lowered) { return .matched(lowered) }
        let candidates = keywords.filter { $0.hasPrefix(lowered) }
        switch candidates.count {
        case 0: return .none
        case 1: return .matched(candidates[0])
        default: return .ambiguous(candidates)
        }
    }

    /// Levenshtein distance, bounded by `limit` (returns limit + 1 when farther), for
    /// "did you mean" suggestions. Inputs are single keywords, so O(n·m) is fine.
    static func distance(_ a: String, _ b: String, limit: Int) -> Int {
        let x = Array(a.lowercased()), y = Array(b.lowercased())
        if abs(x.count - y.count) > limit { return limit + 1 }
        if x.isEmpty || y.isEmpty { return max(x.count, y.count) }
        var previous = Array(0...y.count)
        for i in 1...x.count {
            var current = [i] + Array(repeating: 0, count: y.count)
            for j in 1...y.count {
                let cost = x[i - 1] == y[j - 1] ? 0 : 1
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            }
            previous = current
        }
        return previous[y.count]
    }

    /// The keyword a mistyped word most probably meant: distance 1 for short words, 2 for
    /// words of six letters or more (so `ntp` does not turn into `nat`).
    static func suggestion(for word: String, in keywords: [String]) -> String? {
        let limit = word.count >= 6 ? 2 : 1
        var best: (String, Int)?
        for keyword in keywords {
            let d = distance(word, keyword, limit: limit)
            if d <= limit, d < (best?.1 ?? Int.max) { best = (keyword, d) }
        }
        return best?.0
    }
}

/// "a, b or c" for messages.
func listing(_ words: [String], conjunction: String = "or") -> String {
    switch words.count {
    case 0: return ""
    case 1: return words[0]
    default: return words.dropLast().joined(separator: ", ") + " \(conjunction) " + (words.last ?? "")
    }
}
