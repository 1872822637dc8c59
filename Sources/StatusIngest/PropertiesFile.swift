import Foundation

/// Parses Java-style `.properties` text: `key=value` lines, `#` or `!` comments, blank lines ignored.
///
/// Only the subset the worker's file uses: no line continuations and no escapes; the first `=` or `:`
/// separates key and value, and both are trimmed.
enum PropertiesFile {
    static func parse(_ text: String, path: String) throws -> [(key: String, value: String)] {
        var entries: [(key: String, value: String)] = []
        for (index, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = rawLine.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") || line.hasPrefix("!") {
                continue
            }
            guard let separator = line.firstIndex(where: { $0 == "=" || $0 == ":" }) else {
                throw ConfigurationError("\(path):\(index + 1): expected key=value, found '\(line)'")
            }
            let key = line[..<separator].trimmingCharacters(in: .whitespaces)
            let value = line[line.index(after: separator)...].trimmingCharacters(in: .whitespaces)
            guard !key.isEmpty else {
                throw ConfigurationError("\(path):\(index + 1): the key before '=' is empty")
            }
            entries.append((key, value))
        }
        return entries
    }
}
