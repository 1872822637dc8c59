/// The grammar half of `JSONParser`: walks already-validated UTF-8 and builds a `JSONValue`.
///
/// Open containers live on explicit stacks instead of the call stack, so the nesting limit, not the
/// thread's stack size, bounds how deep a document may go.
struct JSONScanner {
    private let bytes: UnsafeBufferPointer<UInt8>
    private var position = 0
    /// Reused for strings with escapes, so decoding one allocates once.
    private var escapeBuffer: [UInt8] = []

    init(_ bytes: UnsafeBufferPointer<UInt8>) {
        self.bytes = bytes
    }

    // MARK: - Document

    /// One open container: which kind, so the closing bracket and separator can be checked.
    private enum OpenContainer {
        case array
        case object
    }

    mutating func parseDocument() throws(JSONParseError) -> JSONValue {
        var open: [OpenContainer] = []
        var openArrays: [[JSONValue]] = []
        var openObjects: [[JSONMember]] = []
        var pendingKeys: [String] = []

        parsing: while true {
            var value: JSONValue
            skipWhitespace()
            guard position < bytes.count else {
                throw unexpectedEnd(expected: "a value")
            }

            switch bytes[position] {
            case UInt8(ascii: "["):
                try checkDepth(open.count + 1)
                position += 1
                skipWhitespace()
                if position < bytes.count, bytes[position] == UInt8(ascii: "]") {
                    position += 1
                    value = .array([])
                } else {
                    open.append(.array)
                    openArrays.append([])
                    continue parsing
                }
            case UInt8(ascii: "{"):
                try checkDepth(open.count + 1)
                position += 1
                skipWhitespace()
                if position < bytes.count, bytes[position] == UInt8(ascii: "}") {
                    position += 1
                    value = .object([])
                } else {
                    pendingKeys.append(try parseMemberName())
                    open.append(.object)
                    openObjects.append(Self.emptyMembers())
                    continue parsing
                }
            default:
                value = try parseScalar()
            }

            // A value is complete: hand it to the innermost open container, closing containers as
            // long as their closing bracket follows.
            while let container = open.last {
                skipWhitespace()
                switch container {
                case .array:
                    openArrays[openArrays.count - 1].append(value)
                    guard position < bytes.count else {
                        throw unexpectedEnd(expected: "',' or ']'")
                    }
                    switch bytes[position] {
                    case UInt8(ascii: ","):
                        position += 1
                        continue parsing
                    case UInt8(ascii: "]"):
                        position += 1
                        open.removeLast()
                        value = .array(openArrays.removeLast())
                    default:
                        throw unexpectedByte(expected: "',' or ']'")
                    }
                case .object:
                    openObjects[openObjects.count - 1].append(JSONMember(pendingKeys.removeLast(), value))
                    guard position < bytes.count else {
                        throw unexpectedEnd(expected: "',' or '}'")
                    }
                    switch bytes[position] {
                    case UInt8(ascii: ","):
                        position += 1
                        pendingKeys.append(try parseMemberName())
                        continue parsing
                    case UInt8(ascii: "}"):
                        position += 1
                        open.removeLast()
                        value = .object(openObjects.removeLast())
                    default:
                        throw unexpectedByte(expected: "',' or '}'")
                    }
                }
            }

            skipWhitespace()
            if position < bytes.count {
                throw syntax("unexpected \(describeByte(at: position)) after the end of the JSON value")
            }
            return value
        }
    }

    /// Returns an empty member list with room for a typical record's members, so that it grows once
    /// instead of several times.
    private static func emptyMembers() -> [JSONMember] {
        var members: [JSONMember] = []
        members.reserveCapacity(8)
        return members
    }

    private func checkDepth(_ depth: Int) throws(JSONParseError) {
        if depth > JSONParser.maximumDepth {
            throw JSONParseError(
                kind: .tooDeep,
                offset: position,
                message: "nesting deeper than \(JSONParser.maximumDepth) levels at byte \(position)"
            )
        }
    }

    /// Reads `"name" :` and leaves the position at the member's value.
    private mutating func parseMemberName() throws(JSONParseError) -> String {
        skipWhitespace()
        guard position < bytes.count else {
            throw unexpectedEnd(expected: "a member name in double quotes")
        }
        guard bytes[position] == UInt8(ascii: "\"") else {
            throw unexpectedByte(expected: "a member name in double quotes")
        }
        let name = try parseString()
        skipWhitespace()
        guard position < bytes.count else {
            throw unexpectedEnd(expected: "':'")
        }
        guard bytes[position] == UInt8(ascii: ":") else {
            throw unexpectedByte(expected: "':'")
        }
        position += 1
        return name
    }

    // MARK: - Scalars

    private mutating func parseScalar() throws(JSONParseError) -> JSONValue {
        switch bytes[position] {
        case UInt8(ascii: "\""):
            return .string(try parseString())
        case UInt8(ascii: "t"):
            try expectLiteral("true")
            return .bool(true)
        case UInt8(ascii: "f"):
            try expectLiteral("false")
            return .bool(false)
        case UInt8(ascii: "n"):
            try expectLiteral("null")
            return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            return .number(try parseNumber())
        default:
            throw unexpectedByte(expected: "a value")
        }
    }

    private mutating func expectLiteral(_ literal: StaticString) throws(JSONParseError) {
        let expected = "'\(literal)'"
        let literalBytes = UnsafeBufferPointer(start: literal.utf8Start, count: literal.utf8CodeUnitCount)
        for byte in literalBytes {
            guard position < bytes.count else {
                throw unexpectedEnd(expected: expected)
            }
            guard bytes[position] == byte else {
                throw unexpectedByte(expected: expected)
            }
            position += 1
        }
    }

    /// Checks the number grammar of RFC 8259 section 6 and returns the literal text.
    private mutating func parseNumber() throws(JSONParseError) -> String {
        let start = position
        if bytes[position] == UInt8(ascii: "-") {
            position += 1
        }

        guard position < bytes.count else {
            throw unexpectedEnd(expected: "a digit")
        }
        if bytes[position] == UInt8(ascii: "0") {
            position += 1
            if position < bytes.count, isDigit(bytes[position]) {
                throw syntax("invalid number at byte \(start): leading zeros are not allowed")
            }
        } else if isDigit(bytes[position]) {
            skipDigits()
        } else {
            throw unexpectedByte(expected: "a digit")
        }

        if position < bytes.count, bytes[position] == UInt8(ascii: ".") {
            position += 1
            try requireDigits(after: "the decimal point")
        }

        if position < bytes.count, bytes[position] == UInt8(ascii: "e") || bytes[position] == UInt8(ascii: "E") {
            position += 1
            if position < bytes.count, bytes[position] == UInt8(ascii: "+") || bytes[position] == UInt8(ascii: "-") {
                position += 1
            }
            try requireDigits(after: "the exponent")
        }

        return String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<position]), as: UTF8.self)
    }

    private mutating func requireDigits(after part: String) throws(JSONParseError) {
        guard position < bytes.count else {
            throw unexpectedEnd(expected: "a digit after \(part)")
        }
        guard isDigit(bytes[position]) else {
            throw unexpectedByte(expected: "a digit after \(part)")
        }
        skipDigits()
    }

    private mutating func skipDigits() {
        while position < bytes.count, isDigit(bytes[position]) {
            position += 1
        }
    }

    private func isDigit(_ byte: UInt8) -> Bool {
        byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")
    }

    // MARK: - Strings

    /// Reads a string starting at its opening quote. A run without escapes becomes a `String` in one
    /// step, because the bytes were validated as UTF-8 before parsing began.
    private mutating func parseString() throws(JSONParseError) -> String {
        position += 1
        let start = position
        while position < bytes.count {
            let byte = bytes[position]
            if byte == UInt8(ascii: "\"") {
                let text = makeString(start..<position)
                position += 1
                return text
            }
            if byte == UInt8(ascii: "\\") {
                return try parseEscapedString(start: start)
            }
            if byte < 0x20 {
                throw controlCharacter(byte)
            }
            position += 1
        }
        throw unexpectedEnd(expected: "'\"' to close the string")
    }

    /// Continues a string from its first backslash, collecting the decoded bytes.
    private mutating func parseEscapedString(start: Int) throws(JSONParseError) -> String {
        escapeBuffer.removeAll(keepingCapacity: true)
        escapeBuffer.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[start..<position]))

        while position < bytes.count {
            let byte = bytes[position]
            switch byte {
            case UInt8(ascii: "\""):
                position += 1
                return String(decoding: escapeBuffer, as: UTF8.self)
            case UInt8(ascii: "\\"):
                try parseEscape()
            case 0..<0x20:
                throw controlCharacter(byte)
            default:
                let runStart = position
                while position < bytes.count {
                    let next = bytes[position]
                    if next == UInt8(ascii: "\"") || next == UInt8(ascii: "\\") || next < 0x20 {
                        break
                    }
                    position += 1
                }
                escapeBuffer.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[runStart..<position]))
            }
        }
        throw unexpectedEnd(expected: "'\"' to close the string")
    }

    /// Decodes one escape sequence starting at its backslash into `escapeBuffer`.
    private mutating func parseEscape() throws(JSONParseError) {
        let escapeStart = position
        position += 1
        guard position < bytes.count else {
            throw unexpectedEnd(expected: "an escape character after '\\'")
        }
        let letter = bytes[position]
        position += 1
        switch letter {
        case UInt8(ascii: "\""): escapeBuffer.append(0x22)
        case UInt8(ascii: "\\"): escapeBuffer.append(0x5C)
        case UInt8(ascii: "/"): escapeBuffer.append(0x2F)
        case UInt8(ascii: "b"): escapeBuffer.append(0x08)
        case UInt8(ascii: "f"): escapeBuffer.append(0x0C)
        case UInt8(ascii: "n"): escapeBuffer.append(0x0A)
        case UInt8(ascii: "r"): escapeBuffer.append(0x0D)
        case UInt8(ascii: "t"): escapeBuffer.append(0x09)
        case UInt8(ascii: "u"):
            try parseUnicodeEscape(escapeStart: escapeStart)
        default:
            position = escapeStart
            throw syntax(
                "invalid escape sequence at byte \(escapeStart): '\\' followed by \(describeByte(at: escapeStart + 1)),"
                    + " expected one of \\\" \\\\ \\/ \\b \\f \\n \\r \\t \\uXXXX"
            )
        }
    }

    /// Decodes `\uXXXX`, joining a surrogate pair into one scalar. A lone surrogate is rejected
    /// because a Swift string, like any valid Unicode text, cannot hold one.
    private mutating func parseUnicodeEscape(escapeStart: Int) throws(JSONParseError) {
        let unit = try parseHexQuad()
        var scalarValue = UInt32(unit)

        switch unit {
        case 0xD800...0xDBFF:
            let lowStart = position
            guard position + 1 < bytes.count,
                  bytes[position] == UInt8(ascii: "\\"),
                  bytes[position + 1] == UInt8(ascii: "u")
            else {
                position = escapeStart
                throw syntax(loneSurrogateMessage(unit, at: escapeStart))
            }
            position += 2
            let low = try parseHexQuad()
            guard (0xDC00...0xDFFF).contains(low) else {
                position = lowStart
                throw syntax(loneSurrogateMessage(unit, at: escapeStart))
            }
            scalarValue = 0x10000 + ((UInt32(unit) - 0xD800) << 10) + (UInt32(low) - 0xDC00)
        case 0xDC00...0xDFFF:
            position = escapeStart
            throw syntax(loneSurrogateMessage(unit, at: escapeStart))
        default:
            break
        }

        // Every value left is a valid scalar: surrogates were handled above.
        let scalar = Unicode.Scalar(scalarValue)!
        escapeBuffer.append(contentsOf: UTF8.encode(scalar)!)
    }

    private func loneSurrogateMessage(_ unit: UInt16, at offset: Int) -> String {
        let hexText = String(unit, radix: 16, uppercase: true)
        return "lone surrogate escape \\u\(hexText) at byte \(offset):"
            + " a high surrogate (D800-DBFF) must be followed by a low surrogate escape (DC00-DFFF)"
    }

    private mutating func parseHexQuad() throws(JSONParseError) -> UInt16 {
        var value: UInt16 = 0
        for _ in 0..<4 {
            guard position < bytes.count else {
                throw unexpectedEnd(expected: "4 hexadecimal digits after '\\u'")
            }
            let byte = bytes[position]
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
            default: throw unexpectedByte(expected: "4 hexadecimal digits after '\\u'")
            }
            value = value << 4 | UInt16(digit)
            position += 1
        }
        return value
    }

    private func makeString(_ range: Range<Int>) -> String {
        String(decoding: UnsafeBufferPointer(rebasing: bytes[range]), as: UTF8.self)
    }

    // MARK: - Whitespace

    private mutating func skipWhitespace() {
        while position < bytes.count {
            switch bytes[position] {
            case 0x20, 0x09, 0x0A, 0x0D:
                position += 1
            default:
                return
            }
        }
    }

    // MARK: - Errors

    private func unexpectedEnd(expected: String) -> JSONParseError {
        JSONParseError(
            kind: .unexpectedEnd,
            offset: position,
            message: "unexpected end of input at byte \(position), expected \(expected)"
        )
    }

    private func unexpectedByte(expected: String) -> JSONParseError {
        syntax("unexpected \(describeByte(at: position)) at byte \(position), expected \(expected)")
    }

    private func controlCharacter(_ byte: UInt8) -> JSONParseError {
        let hexText = UTF8Validation.hex(byte)
        return syntax(
            "unescaped control character U+00\(hexText) in a string at byte \(position):"
                + " write it as an escape such as \\n or \\u00\(hexText)"
        )
    }

    private func syntax(_ message: String) -> JSONParseError {
        JSONParseError(kind: .syntax, offset: position, message: message)
    }

    /// Names the character that starts at `offset`: printable ASCII in quotes, anything else as a
    /// scalar, so a message never embeds raw control characters.
    private func describeByte(at offset: Int) -> String {
        let byte = bytes[offset]
        if byte < 0x80 {
            return describeCharacter(byte)
        }
        var length = 2
        if byte >= 0xF0 {
            length = 4
        } else if byte >= 0xE0 {
            length = 3
        }
        let end = min(offset + length, bytes.count)
        let text = makeString(offset..<end)
        guard let scalar = text.unicodeScalars.first else {
            return "byte 0x\(UTF8Validation.hex(byte))"
        }
        return "character U+\(String(scalar.value, radix: 16, uppercase: true))"
    }

    private func describeCharacter(_ byte: UInt8) -> String {
        if byte >= 0x21 && byte < 0x7F {
            return "'\(Character(Unicode.Scalar(byte)))'"
        }
        return "character U+00\(UTF8Validation.hex(byte))"
    }
}
