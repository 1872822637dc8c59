/// PostgreSQL array literals (`{"a","b",NULL}`) for passing a column of values as one text parameter,
/// which `unnest` turns back into rows.
enum PostgresArray {
    /// Encodes the values, quoting every element so that no content needs special cases.
    ///
    /// - Throws: `DatabaseFailure.dataRejected` with SQLSTATE 22021, as the server would, for a value
    ///   containing U+0000: libpq passes parameters as C strings and would cut the value there.
    static func literal<Values: Sequence>(_ values: Values) throws -> String where Values.Element == String? {
        var text = "{"
        var first = true
        for value in values {
            if !first { text += "," }
            first = false
            guard let value else {
                text += "NULL"
                continue
            }
            text += "\""
            let needsEscaping = value.utf8.contains { $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\\") || $0 == 0 }
            if !needsEscaping {
                text += value
                text += "\""
                continue
            }
            for scalar in value.unicodeScalars {
                switch scalar {
                case "\"": text += "\\\""
                case "\\": text += "\\\\"
                case "\u{0}":
                    throw DatabaseFailure.dataRejected(
                        sqlState: "22021", message: "invalid byte sequence for encoding \"UTF8\": 0x00")
                default: text.unicodeScalars.append(scalar)
                }
            }
            text += "\""
        }
        text += "}"
        return text
    }

    /// Encodes values that never need quoting: UUIDs, numbers, booleans, times.
    static func plainLiteral<Values: Sequence>(_ values: Values) -> String where Values.Element == String {
        "{" + values.joined(separator: ",") + "}"
    }
}
