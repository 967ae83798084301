/// The fixed-column layout IOS uses for `show ip slb` tables: every column starts at a fixed
/// offset (the sum of the widths before it) and the last column runs to the end of the line.
///
/// Overflow policy (so long values never break alignment): a `.truncate` column (names) is cut
/// to `width - 1` characters, keeping at least one space before the next column, as IOS cuts
/// vserver names. A `.keep` column (addresses, numbers, durations) is never cut, because a cut
/// address or counter would be wrong rather than short; every table sizes those columns so the
/// widest possible address (`255.255.255.255:65535`) still fits. Should a `.keep` value ever be
/// wider, the rest of that one row moves right by the excess, still one space apart.
struct TableLayout: Sendable {
    struct Column: Sendable {
        enum Overflow: Sendable { case truncate, keep }
        let title: String
        /// Characters from this column's start to the next column's start.
        let width: Int
        let overflow: Overflow

        init(_ title: String, _ width: Int, _ overflow: Overflow = .keep) {
            self.title = title
            self.width = width
            self.overflow = overflow
        }
    }

    /// All columns; the last one's `width` is ignored (it is not padded).
    let columns: [Column]
    /// Length of the dashed rule under the header. IOS does not derive it from the header
    /// (the seed's vservers rule is 70 dashes under a 67-character header), so each table states it.
    let ruleLength: Int

    var header: String { row(columns.map(\.title)) }
    var rule: String { String(repeating: "-", count: ruleLength) }

    /// One line; `values` pairs with `columns` (missing values print empty, extra ones are ignored).
    func row(_ values: [String]) -> String {
        var line = ""
        for (index, column) in columns.enumerated() {
            let value = index < values.count ? values[index] : ""
            if index == columns.count - 1 {
                line += value
                break
            }
            let room = max(column.width - 1, 0)
            var cell = value
            if cell.count > room, column.overflow == .truncate {
                cell = String(cell.prefix(room))
            }
            line += cell
            line += String(repeating: " ", count: max(column.width - cell.count, 1))
        }
        return trimmingTrailingSpaces(line)
    }

    /// Header, rule and rows, each line ending in a newline.
    func render(_ rows: [[String]]) -> String {
        var text = header + "\n" + rule + "\n"
        for values in rows {
            text += row(values) + "\n"
        }
        return text
    }
}

/// IOS prints no trailing blanks; neither do we (an empty last cell would otherwise leave them).
func trimmingTrailingSpaces(_ line: String) -> String {
    var end = line.endIndex
    while end > line.startIndex {
        let before = line.index(before: end)
        guard line[before] == " " else { break }
        end = before
    }
    return String(line[..<end])
}
