/// A horizontal bar chart as a standalone SVG (no scripts, no external fonts), so results can
/// be looked at in any browser and embedded in README.md. Bars of one group share a colour.
public struct BarChart: Sendable {
    public struct Bar: Sendable {
        public var label: String
        public var value: Double
        public var group: Int
        public var note: String

        public init(label: String, value: Double, group: Int = 0, note: String = "") {
            self.label = label
            self.value = value
            self.group = group
            self.note = note
        }
    }

    public var title: String
    public var unit: String
    public var bars: [Bar]

    public init(title: String, unit: String, bars: [Bar]) {
        self.title = title
        self.unit = unit
        self.bars = bars
    }

    static let palette = ["#3366cc", "#dc3912", "#ff9900", "#109618", "#990099", "#0099c6"]

    public var svg: String {
        let labelWidth = 300.0, barWidth = 420.0, rowHeight = 22.0, top = 40.0
        let width = labelWidth + barWidth + 170
        let height = top + Double(bars.count) * rowHeight + 20
        let maximum = max(bars.map(\.value).max() ?? 0, .leastNonzeroMagnitude)
        var out = """
            <svg xmlns="http://www.w3.org/2000/svg" width="\(Int(width))" height="\(Int(height))" \
            font-family="sans-serif" font-size="12">
            <rect width="100%" height="100%" fill="white"/>
            <text x="10" y="22" font-size="15" font-weight="bold">\(BarChart.escape(title))</text>

            """
        for (i, bar) in bars.enumerated() {
            let y = top + Double(i) * rowHeight
            let length = bar.value.isFinite ? max(0, bar.value / maximum * barWidth) : 0
            let colour = BarChart.palette[((bar.group % BarChart.palette.count) + BarChart.palette.count) % BarChart.palette.count]
            out += """
                <text x="\(Int(labelWidth - 8))" y="\(Format.fixed(y + 15, 1))" text-anchor="end">\(BarChart.escape(bar.label))</text>
                <rect x="\(Int(labelWidth))" y="\(Format.fixed(y + 3, 1))" width="\(Format.fixed(length, 1))" height="\(Int(rowHeight - 6))" fill="\(colour)"/>
                <text x="\(Format.fixed(labelWidth + length + 6, 1))" y="\(Format.fixed(y + 15, 1))">\(BarChart.escape(BarChart.number(bar.value) + " " + unit + (bar.note.isEmpty ? "" : " " + bar.note)))</text>

                """
        }
        return out + "</svg>\n"
    }

    static func number(_ value: Double) -> String {
        if value >= 100 { return Format.grouped(Int(value.rounded())) }
        if value >= 1 { return Format.fixed(value, 2) }
        return Format.fixed(value, 4)
    }

    static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;")
    }
}
