/// A strict RFC 8259 JSON parser over UTF-8 bytes.
///
/// It accepts exactly the JSON grammar: no comments, no trailing commas, no `NaN`, no byte order mark.
/// The input must be well-formed UTF-8, checked before the grammar so that an encoding problem is
/// reported as `.invalidUTF8` wherever it sits. Numbers keep their literal text. Containers may nest
/// `maximumDepth` levels; the parser keeps its own stack, so hostile input cannot exhaust the thread's.
public enum JSONParser {
    /// The deepest nesting of arrays and objects accepted; one level deeper is `.tooDeep`.
    public static let maximumDepth = 512

    /// Parses one JSON document.
    ///
    /// - Throws: `JSONParseError` with the kind, byte offset and a message naming what was expected.
    public static func parse(_ bytes: [UInt8]) throws(JSONParseError) -> JSONValue {
        let result: Result<JSONValue, JSONParseError> = bytes.withUnsafeBufferPointer { buffer in
            Result { () throws(JSONParseError) -> JSONValue in try parse(buffer) }
        }
        return try result.get()
    }

    /// Parses one JSON document from any byte collection, such as `Data` or an `ArraySlice`.
    ///
    /// - Throws: `JSONParseError` with the kind, byte offset and a message naming what was expected.
    public static func parse(_ bytes: some Collection<UInt8>) throws(JSONParseError) -> JSONValue {
        let contiguous: Result<JSONValue, JSONParseError>? = bytes.withContiguousStorageIfAvailable { buffer in
            Result { () throws(JSONParseError) -> JSONValue in try parse(buffer) }
        }
        if let contiguous {
            return try contiguous.get()
        }
        return try parse(Array(bytes))
    }

    /// Parses one JSON document from text.
    ///
    /// - Throws: `JSONParseError` with the kind, byte offset and a message naming what was expected.
    public static func parse(_ text: String) throws(JSONParseError) -> JSONValue {
        try parse(Array(text.utf8))
    }

    /// Parses one JSON document from raw memory, for callers that hold a borrowed buffer.
    ///
    /// - Throws: `JSONParseError` with the kind, byte offset and a message naming what was expected.
    public static func parse(_ buffer: UnsafeRawBufferPointer) throws(JSONParseError) -> JSONValue {
        try parse(buffer.bindMemory(to: UInt8.self))
    }

    /// Parses one JSON document from borrowed bytes.
    ///
    /// - Throws: `JSONParseError` with the kind, byte offset and a message naming what was expected.
    public static func parse(_ buffer: UnsafeBufferPointer<UInt8>) throws(JSONParseError) -> JSONValue {
        if let failure = UTF8Validation.firstFailure(in: buffer) {
            throw JSONParseError(
                kind: .invalidUTF8,
                offset: failure.offset,
                message: "invalid UTF-8 at byte \(failure.offset) (\(failure.reason))"
            )
        }
        var scanner = JSONScanner(buffer)
        return try scanner.parseDocument()
    }
}
