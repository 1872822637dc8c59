/// Lays rows out as a plain-text table with a header row, each column as wide as its widest cell.
enum TablePrinter {
    static func render(headers: [String], rows: [[String]]) -> String {
        var widths = headers.map(\.count)
        for row in rows {
            for (index, cell) in row.enumerated() where index < widths.count {
                widths[index] = max(widths[index], cell.count)
            }
        }
        func line(_ cells: [String]) -> String {
            var text = ""
            for (index, cell) in cells.enumerated() {
                let isLast = index == cells.count - 1
                text += isLast ? cell : cell.padding(toLength: widths[index], withPad: " ", startingAt: 0) + "  "
            }
            return text
        }
        var lines = [line(headers)]
        lines.append(contentsOf: rows.map(line))
        return lines.joined(separator: "\n")
    }

    /// Cuts `text` to `width` characters, ending with `…` when it was longer, and flattens line breaks.
    static func truncate(_ text: String, to width: Int) -> String {
        let flat = text.replacingOccurrences(of: "\n", with: " ")
        guard flat.count > width else { return flat }
        return String(flat.prefix(max(width - 1, 0))) + "…"
    }
}
