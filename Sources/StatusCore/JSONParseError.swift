/// The reason a byte sequence is not a JSON document, and the offset where the parser found out.
public struct JSONParseError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The class of failure: callers map these to different error types.
    public enum Kind: Sendable, Hashable {
        /// The bytes are not well-formed UTF-8, which RFC 8259 requires of JSON exchanged between systems.
        case invalidUTF8
        /// The input ended inside a value (a truncated document).
        case unexpectedEnd
        /// A byte that the JSON grammar does not allow where it appears.
        case syntax
        /// Containers nested deeper than `JSONParser.maximumDepth`.
        case tooDeep
    }

    public var kind: Kind
    /// The zero-based byte offset of the first byte that could not be accepted.
    public var offset: Int
    /// A sentence a person can act on, with the offset, such as
    /// "unexpected end of input at byte 57, expected ',' or '}'".
    public var message: String

    public init(kind: Kind, offset: Int, message: String) {
        self.kind = kind
        self.offset = offset
        self.message = message
    }

    public var description: String { message }
}
