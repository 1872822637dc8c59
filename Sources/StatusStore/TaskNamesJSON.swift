import StatusCore

/// The SQLite form of a flow's task names: a JSON array of strings.
enum TaskNamesJSON {
    static func encode(_ names: [String]) -> String {
        var text = "["
        for (index, name) in names.enumerated() {
            if index > 0 { text += "," }
            appendQuoted(name, to: &text)
        }
        text += "]"
        return text
    }

    /// Returns the names, or nil when the text is not a JSON array of strings.
    static func decode(_ text: String) -> [String]? {
        guard case .array(let items)? = try? JSONParser.parse(text) else { return nil }
        var names: [String] = []
        names.reserveCapacity(items.count)
        for item in items {
            guard case .string(let name) = item else { return nil }
            names.append(name)
        }
        return names
    }

    private static func appendQuoted(_ value: String, to text: inout String) {
        text += "\""
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\"": text += "\\\""
            case "\\": text += "\\\\"
            case "\n": text += "\\n"
            case "\r": text += "\\r"
            case "\t": text += "\\t"
            default:
                if scalar.value < 0x20 {
                    let hex = String(scalar.value, radix: 16)
                    text += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    text.unicodeScalars.append(scalar)
                }
            }
        }
        text += "\""
    }
}
