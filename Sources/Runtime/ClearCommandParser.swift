import SLBCore
import SLBWire

/// `clear ip slb connections [vserver NAME | serverfarm NAME]` and `clear ip slb counters`
/// (spec §4), keywords by unique prefix as IOS accepts them (`clear ip slb conn`), and
/// `clear ip slb sticky [client IP] [group N]`, a VPNSLB extension (IOS has no generic
/// client-IP sticky clear; spec §4 recommends this one, flagged non-IOS).
public enum ClearCommand: Hashable, Sendable {
    case connections(ClearScope)
    case counters
    /// nil filters match everything; `group` is the group `show ip slb sticky` prints.
    case sticky(client: IPv4Address?, group: Int?)

    /// Largest group `show ip slb sticky` can print: 4097 + a vserver index below 65536
    /// (configured groups are 1–255; private group-0 objects show above 4096).
    static let maximumStickyGroup = 4097 + Int(UInt16.max)

    public enum ParseError: Error, Hashable, Sendable, CustomStringConvertible {
        case incomplete(expected: [String])
        case unknown(String, expected: [String])
        case ambiguous(String, candidates: [String])
        case extra(String)
        case invalidValue(String, expected: String)

        public var description: String {
            switch self {
            case .incomplete(let expected): "% Incomplete command: expected \(expected.joined(separator: " | "))"
            case .unknown(let word, let expected): "% Invalid input '\(word)': expected \(expected.joined(separator: " | "))"
            case .ambiguous(let word, let candidates): "% Ambiguous command '\(word)': could be \(candidates.joined(separator: " or "))"
            case .extra(let word): "% Invalid input '\(word)': nothing more expected"
            case .invalidValue(let word, let expected): "% Invalid input '\(word)': expected \(expected)"
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
        let subcommands = ["connections", "counters", "sticky"]
        guard let what = rest.popFirst() else { throw .incomplete(expected: subcommands) }
        switch try resolve(what, among: subcommands) {
        case "counters":
            if let word = rest.first { throw .extra(word) }
            return .counters
        case "sticky":
            return try parseSticky(&rest)
        default:
            guard let filter = rest.popFirst() else { return .connections(.all) }
            let keyword = try resolve(filter, among: ["serverfarm", "vserver"])
            guard let name = rest.popFirst() else { throw .incomplete(expected: ["NAME"]) }
            if let word = rest.first { throw .extra(word) }
            return .connections(keyword == "vserver" ? .vserver(name) : .serverfarm(name))
        }
    }

    /// `[client IP] [group N]`, in either order, each at most once.
    private static func parseSticky(_ rest: inout ArraySlice<String>) throws(ParseError) -> ClearCommand {
        var client: IPv4Address?
        var group: Int?
        while let word = rest.popFirst() {
            var open: [String] = []
            if client == nil { open.append("client") }
            if group == nil { open.append("group") }
            guard !open.isEmpty else { throw .extra(word) }
            let keyword = try resolve(word, among: open)
            guard let value = rest.popFirst() else {
                throw .incomplete(expected: [keyword == "client" ? "an IPv4 address" : "a group number"])
            }
            if keyword == "client" {
                guard let address = IPv4Address(value) else { throw .invalidValue(value, expected: "an IPv4 address") }
                client = address
            } else {
                guard value.count <= 5, let number = Int(value), (1...maximumStickyGroup).contains(number) else {
                    throw .invalidValue(value, expected: "a group number 1-\(maximumStickyGroup)")
                }
                group = number
            }
        }
        return .sticky(client: client, group: group)
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
