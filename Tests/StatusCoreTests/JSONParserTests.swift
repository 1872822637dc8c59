import StatusCore
import XCTest

final class JSONParserTests: XCTestCase {
    private func parse(_ text: String) throws -> JSONValue {
        try JSONParser.parse(Array(text.utf8))
    }

    private func parseError(_ bytes: [UInt8], file: StaticString = #filePath, line: UInt = #line) -> JSONParseError? {
        do {
            let value = try JSONParser.parse(bytes)
            XCTFail("expected a parse error, got \(value.jsonText)", file: file, line: line)
            return nil
        } catch {
            return error
        }
    }

    private func parseError(_ text: String, file: StaticString = #filePath, line: UInt = #line) -> JSONParseError? {
        parseError(Array(text.utf8), file: file, line: line)
    }

    // MARK: - Values

    func testScalarsAndContainersParse() throws {
        let value = try parse(#"{"a":[1,true,false,null,"x"],"b":{}, "c":[]}"#)
        XCTAssertEqual(value, [
            "a": [1, true, false, nil, "x"],
            "b": .object([]),
            "c": .array([]),
        ])
    }

    func testObjectMembersKeepOrderAndDuplicates() throws {
        let value = try parse(#"{"z":1,"a":2,"z":3}"#)
        XCTAssertEqual(value.objectMembers?.map(\.key), ["z", "a", "z"])
        XCTAssertEqual(value["z"], .number("3"), "the last duplicate wins, as in Python's json")
        XCTAssertEqual(value["a"], .number("2"))
        XCTAssertNil(value["missing"])
    }

    func testNumbersKeepTheirLiteralText() throws {
        for literal in ["0", "-0", "12", "-12", "1.5", "0.0001", "1e10", "1E+2", "2.5e-3", "123456789012345678901234567890"] {
            XCTAssertEqual(try parse(literal), .number(literal), literal)
        }
    }

    func testMalformedNumbersAreRejected() {
        for literal in ["01", "-", "1.", ".5", "1e", "1e+", "+1", "NaN", "Infinity", "-Infinity", "0x10", "1.e3", "--1", "-a"] {
            let error = parseError(literal)
            XCTAssertNotNil(error, literal)
            XCTAssertNotEqual(error?.kind, .invalidUTF8, literal)
        }
    }

    func testWhitespaceAroundValuesIsAllowed() throws {
        XCTAssertEqual(try parse(" \t\r\n[ 1 , { \"a\" : 2 } ]\n "), [1, ["a": 2]])
    }

    func testTrailingDataIsRejected() {
        for text in ["{} x", "{}{}", "1 2", "[1]]", "null,"] {
            XCTAssertEqual(parseError(text)?.kind, .syntax, text)
        }
        XCTAssertEqual(parseError("{} x")?.offset, 3)
    }

    func testTrailingCommasAreRejected() {
        XCTAssertEqual(parseError("[1,]")?.kind, .syntax)
        XCTAssertEqual(parseError(#"{"a":1,}"#)?.kind, .syntax)
    }

    func testNonStringMemberNameIsRejected() {
        XCTAssertEqual(parseError("{1:2}")?.kind, .syntax)
        XCTAssertEqual(parseError("{a:2}")?.kind, .syntax)
    }

    func testByteOrderMarkIsRejected() {
        XCTAssertEqual(parseError([0xEF, 0xBB, 0xBF] + Array("{}".utf8))?.kind, .syntax)
    }

    func testBareWordsAndTruncatedLiteralsAreRejected() {
        XCTAssertEqual(parseError("nul")?.kind, .unexpectedEnd)
        XCTAssertEqual(parseError("nulL")?.kind, .syntax)
        XCTAssertEqual(parseError("True")?.kind, .syntax)
        XCTAssertEqual(parseError("undefined")?.kind, .syntax)
    }

    // MARK: - Truncation

    func testTruncatedDocumentsReportTheEnd() {
        let cases: [(String, Int)] = [
            ("", 0),
            ("   ", 3),
            (#"{"a":"#, 5),
            (#"{"a""#, 4),
            (#"{"a":1"#, 6),
            ("[1,", 3),
            (#""abc"#, 4),
            (#""ab\"#, 4),
            (#""\u12"#, 5),
            ("tru", 3),
            ("-", 1),
        ]
        for (text, offset) in cases {
            let error = parseError(text)
            XCTAssertEqual(error?.kind, .unexpectedEnd, text)
            XCTAssertEqual(error?.offset, offset, text)
        }
    }

    func testTruncationMessageNamesTheByteAndTheExpectation() {
        let error = parseError(#"{"flow_execution_id":"a","#)
        XCTAssertEqual(error?.message, "unexpected end of input at byte 25, expected a member name in double quotes")
    }

    // MARK: - Strings

    func testEscapesDecode() throws {
        let value = try parse(#""\"\\\/\b\f\n\r\t\u00e9\u00E9\ud83d\ude00 end""#)
        XCTAssertEqual(value, .string("\"\\/\u{8}\u{c}\n\r\té\u{e9}\u{1F600} end"))
    }

    func testRawMultiByteCharactersDecode() throws {
        XCTAssertEqual(try parse("\"é漢😀\\n e\u{301}\""), .string("é漢😀\n e\u{301}"))
    }

    func testEscapedNULDecodesToU0000() throws {
        XCTAssertEqual(try parse(#""a\u0000b""#), .string("a\u{0}b"))
    }

    func testLoneSurrogateEscapesAreRejected() {
        for text in [#""\ud800""#, #""\udc00""#, #""\ud800\u0041""#, #""\ud800x""#, #""\udbff\udbff""#, #""\ude00\ud83d""#] {
            XCTAssertEqual(parseError(text)?.kind, .syntax, text)
        }
        XCTAssertEqual(parseError(#"["\ud800"]"#)?.offset, 2)
    }

    func testUnescapedControlCharactersAreRejected() {
        for byte in [UInt8(0x00), 0x0A, 0x1F] {
            let error = parseError([0x22, 0x61, byte, 0x22])
            XCTAssertEqual(error?.kind, .syntax)
            XCTAssertEqual(error?.offset, 2)
        }
    }

    func testInvalidEscapeIsRejected() {
        let error = parseError(#""a\x""#)
        XCTAssertEqual(error?.kind, .syntax)
        XCTAssertEqual(error?.offset, 2)
        XCTAssertEqual(parseError(#""\u12g4""#)?.kind, .syntax)
        XCTAssertEqual(parseError(#""\U0041""#)?.kind, .syntax)
    }

    // MARK: - UTF-8

    func testInvalidUTF8IsReportedApartFromSyntax() {
        let cases: [([UInt8], Int, String)] = [
            ([0x22, 0xC0, 0xAF, 0x22], 1, "overlong two-byte form"),
            ([0x22, 0xE0, 0x80, 0xAF, 0x22], 1, "overlong three-byte form"),
            ([0x22, 0xF0, 0x80, 0x80, 0xAF, 0x22], 1, "overlong four-byte form"),
            ([0x22, 0xED, 0xA0, 0x80, 0x22], 1, "UTF-16 surrogate encoded in UTF-8"),
            ([0x22, 0xF4, 0x90, 0x80, 0x80, 0x22], 1, "above U+10FFFF"),
            ([0x22, 0xF5, 0x80, 0x80, 0x80, 0x22], 1, "byte above F4"),
            ([0x22, 0xFF, 0x22], 1, "byte FF"),
            ([0x22, 0x80, 0x22], 1, "stray continuation byte"),
            ([0x22, 0xE2, 0x82, 0x22], 1, "truncated sequence inside a string"),
            ([0x22, 0x61, 0xE2, 0x82], 2, "truncated sequence at the end"),
            (Array(#"{"abcdefghij": 1, "k": "#.utf8) + [0xC3, 0x28], 23, "bad continuation after the ASCII fast path"),
            ([0x5B, 0xC3, 0xA9, 0x5D], 99, "valid UTF-8 outside a string is still a syntax error"),
        ]
        for (bytes, offset, label) in cases {
            let error = parseError(bytes)
            if offset == 99 {
                XCTAssertEqual(error?.kind, .syntax, label)
                continue
            }
            XCTAssertEqual(error?.kind, .invalidUTF8, label)
            XCTAssertEqual(error?.offset, offset, label)
        }
    }

    func testInvalidUTF8WinsOverAnEarlierSyntaxError() {
        XCTAssertEqual(parseError([0x7D, 0x20, 0xFF])?.kind, .invalidUTF8)
    }

    func testFourByteCharactersAtTheLimitsAreAccepted() throws {
        XCTAssertEqual(try JSONParser.parse([0x22, 0xF0, 0x90, 0x80, 0x80, 0xF4, 0x8F, 0xBF, 0xBF, 0x22]), .string("\u{10000}\u{10FFFF}"))
        XCTAssertEqual(try JSONParser.parse([0x22, 0xED, 0x9F, 0xBF, 0xEE, 0x80, 0x80, 0x22]), .string("\u{D7FF}\u{E000}"))
    }

    // MARK: - Nesting

    func testNestingAtTheLimitIsAccepted() throws {
        let depth = JSONParser.maximumDepth
        let text = String(repeating: "[", count: depth) + String(repeating: "]", count: depth)
        var value = try parse(text)
        var levels = 0
        while case .array(let elements) = value {
            levels += 1
            guard let first = elements.first else { break }
            value = first
        }
        XCTAssertEqual(levels, depth)
    }

    func testNestingOneBeyondTheLimitIsTooDeep() {
        let depth = JSONParser.maximumDepth + 1
        let arrays = String(repeating: "[", count: depth) + String(repeating: "]", count: depth)
        let error = parseError(arrays)
        XCTAssertEqual(error?.kind, .tooDeep)
        XCTAssertEqual(error?.offset, JSONParser.maximumDepth)

        let objects = String(repeating: #"{"a":"#, count: depth) + "1" + String(repeating: "}", count: depth)
        XCTAssertEqual(parseError(objects)?.kind, .tooDeep)
    }

    func testHostileNestingFailsWithoutExhaustingTheStack() {
        let error = parseError(String(repeating: "[", count: 1_000_000))
        XCTAssertEqual(error?.kind, .tooDeep)
    }

    // MARK: - Entry points

    func testEveryEntryPointParsesTheSameDocument() throws {
        let text = #"{"a":[1,"é"]}"#
        let expected: JSONValue = ["a": [1, "é"]]
        XCTAssertEqual(try JSONParser.parse(text), expected)
        XCTAssertEqual(try JSONParser.parse(Array(text.utf8)[...]), expected)
        XCTAssertEqual(try JSONParser.parse(Data(text.utf8)), expected)
        XCTAssertEqual(try Array(text.utf8).withUnsafeBytes { try JSONParser.parse($0) }, expected)
    }
}
