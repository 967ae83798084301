import SLBWire

/// Parses the words of a `show` command into a `ShowRequest`.
///
/// Accepts `show ip slb TABLE ...` or just `TABLE ...` (for `slb show` and `slb simulate
/// --show`). Keywords match case-insensitively by unique prefix, as IOS does: `sh ip slb conn`,
/// `show ip slb realserver`, `sh ip sl re`. A prefix shared only by synonyms (`re` for `reals`
/// and `realserver`) is not ambiguous; an exact keyword wins over longer ones. `show` needs two
/// letters (`sh`): a lone `s` would also start `serverfarms`, `sticky` and `stats`.
///
/// Grammar (at most one filter, `detail` and `--json` anywhere after the table):
/// ```
/// conns [vserver NAME | client IP] [detail]
/// reals | realserver [sfarm NAME | vserver NAME] [detail]
/// vservers [name NAME] [detail]
/// serverfarms [name NAME] [detail]
/// sticky [client IP] [detail]
/// probe [name NAME] [detail]
/// stats
/// ```
public enum ShowCommandParser {
    private enum TableWord: Hashable { case conns, reals, vservers, serverfarms, sticky, probe, stats }
    private enum FilterWord: Hashable { case vserver, client, sfarm, name }
    private enum OptionWord: Hashable { case filter(FilterWord), detail }

    private static let tables: [(String, TableWord)] = [
        ("conns", .conns), ("probe", .probe), ("reals", .reals), ("realserver", .reals),
        ("serverfarms", .serverfarms), ("stats", .stats), ("sticky", .sticky), ("vservers", .vservers),
    ]

    /// The filter keyword each table takes (IOS: `conns` takes two).
    private static func filters(for table: TableWord) -> [(String, FilterWord)] {
        switch table {
        case .conns: [("client", .client), ("vserver", .vserver)]
        // `vserver NAME` is the 12.2 form (spec §3.2), `sfarm NAME` the later one.
        case .reals: [("sfarm", .sfarm), ("vserver", .vserver)]
        case .vservers, .serverfarms, .probe: [("name", .name)]
        case .sticky: [("client", .client)]
        case .stats: []
        }
    }

    /// The JSON switch is spelled like a command-line option so it cannot collide with a keyword.
    public static let jsonFlag = "--json"

    /// Splits on blanks and parses; for `--show "conns vserver X"` and the control socket.
    public static func parse(_ line: String) throws(ShowCommandError) -> ShowRequest {
        try parse(words: line.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init))
    }

    public static func parse(words: [String]) throws(ShowCommandError) -> ShowRequest {
        var position = 0
        var json = false
        // `--json` is position-free: take it out first, remembering a repeat.
        var rest: [(word: String, position: Int)] = []
        for (index, word) in words.enumerated() {
            if word == jsonFlag {
                guard !json else { throw .repeated(keyword: jsonFlag) }
                json = true
            } else {
                rest.append((word, index))
            }
        }

        if let first = rest.first, first.word.count >= 2, "show".hasPrefix(first.word.lowercased()) {
            for keyword in ["show", "ip", "slb"] {
                guard position < rest.count else { throw .incomplete(expected: [keyword]) }
                let word = rest[position]
                _ = try resolve(word.word, at: word.position, among: [(keyword, keyword)])
                position += 1
            }
        }

        guard position < rest.count else { throw .incomplete(expected: tables.map(\.0)) }
        let tableWord = rest[position]
        let table = try resolve(tableWord.word, at: tableWord.position, among: tables)
        position += 1

        var filter: (FilterWord, String)?
        var detail = false
        let filterWords = filters(for: table)
        var options: [(String, OptionWord)] = filterWords.map { ($0.0, .filter($0.1)) }
        if table != .stats { options.append(("detail", .detail)) }

        while position < rest.count {
            let word = rest[position]
            guard !options.isEmpty else {
                throw .invalidInput(word: word.word, position: word.position, expected: [jsonFlag])
            }
            switch try resolve(word.word, at: word.position, among: options) {
            case .detail:
                guard !detail else { throw .repeated(keyword: "detail") }
                detail = true
                position += 1
            case .filter(let kind):
                let keyword = filterWords.first { $0.1 == kind }?.0 ?? word.word
                guard filter == nil else { throw .repeated(keyword: keyword) }
                guard position + 1 < rest.count else {
                    throw .missingArgument(keyword: keyword, argument: kind == .client ? "an IPv4 address" : "a name")
                }
                filter = (kind, rest[position + 1].word)
                position += 2
            }
        }

        return ShowRequest(table: try build(table, filter: filter), detail: detail, json: json)
    }

    private static func build(_ table: TableWord, filter: (FilterWord, String)?) throws(ShowCommandError) -> ShowRequest.Table {
        func address(_ word: String) throws(ShowCommandError) -> IPv4Address {
            guard let address = IPv4Address(word) else { throw .invalidAddress(word: word) }
            return address
        }
        // `filters(for:)` offered each table only its own filter words, so other pairs cannot occur.
        switch (table, filter) {
        case (.conns, (.vserver, let name)?): return .conns(.vserver(name))
        case (.conns, (.client, let word)?): return .conns(.client(try address(word)))
        case (.conns, _): return .conns(.all)
        case (.reals, (.vserver, let name)?): return .realsOfVserver(name: name)
        case (.reals, let filter): return .reals(farm: filter?.1)
        case (.vservers, let filter): return .vservers(name: filter?.1)
        case (.serverfarms, let filter): return .serverfarms(name: filter?.1)
        case (.sticky, (_, let word)?): return .sticky(client: try address(word))
        case (.sticky, nil): return .sticky(client: nil)
        case (.probe, let filter): return .probe(name: filter?.1)
        case (.stats, _): return .stats
        }
    }

    /// IOS keyword matching: exact (case-insensitive) match first, else the unique meaning
    /// among the keywords the word is a prefix of.
    private static func resolve<Meaning: Hashable>(_ word: String, at position: Int,
                                                   among choices: [(String, Meaning)]) throws(ShowCommandError) -> Meaning {
        let lowered = word.lowercased()
        if let exact = choices.first(where: { $0.0 == lowered }) { return exact.1 }
        let matches = lowered.isEmpty ? [] : choices.filter { $0.0.hasPrefix(lowered) }
        var meanings: [Meaning] = []
        for match in matches where !meanings.contains(match.1) { meanings.append(match.1) }
        switch meanings.count {
        case 0: throw .invalidInput(word: word, position: position, expected: choices.map(\.0))
        case 1: return meanings[0]
        default: throw .ambiguous(word: word, candidates: matches.map(\.0))
        }
    }
}
