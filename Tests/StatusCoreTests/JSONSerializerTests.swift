import StatusCore
import XCTest

final class JSONSerializerTests: XCTestCase {
    func testOutputIsCompactWithMembersInOrder() {
        let value: JSONValue = ["z": 1, "a": [true, false, nil], "m": ["k": "v"], "n": .number("-1.5e3")]
        XCTAssertEqual(value.jsonText, #"{"z":1,"a":[true,false,null],"m":{"k":"v"},"n":-1.5e3}"#)
    }

    func testStringsEscapeQuotesBackslashesAndControlCharacters() {
        let value = JSONValue.string("q\"b\\s/\u{0}\u{1}\u{8}\u{9}\u{A}\u{C}\u{D}\u{1F} \u{7F}")
        XCTAssertEqual(value.jsonText, #""q\"b\\s/\u0000\u0001\b\t\n\f\r\u001f "# + "\u{7F}\"")
    }

    func testNonASCIIIsWrittenAsItself() {
        XCTAssertEqual(JSONValue.string("é漢😀e\u{301}").serialized(), Array("\"é漢😀e\u{301}\"".utf8))
    }

    func testMemberNamesAreEscaped() {
        XCTAssertEqual(JSONValue.object([JSONMember("a\"\n", 1)]).jsonText, #"{"a\"\n":1}"#)
    }

    func testParsedCompactTextRoundTripsByteForByte() throws {
        let texts = [
            #"{"flow_execution_id":"547235b7-baa7-5b72-bb2a-bc770306b126","statuses":[{"task_name":"task_41431","status":"running"},{"task_name":"task_41437","status":null}]}"#,
            #"[1,-0,2.5e-3,"a\"b\\c\n\u0000",{},[],{"":""},true,false,null]"#,
            #"{"dup":1,"dup":2}"#,
            #""é漢😀""#,
        ]
        for text in texts {
            XCTAssertEqual(try JSONParser.parse(text).jsonText, text)
        }
    }

    func testSerializedValuesParseBackEqual() throws {
        let values: [JSONValue] = [
            .string(String((0..<0x80).map { Character(Unicode.Scalar(UInt8($0))) })),
            ["deep": [[[["x": [nil]]]]]],
            .string("\u{10FFFF}\u{FFFF}\u{2028}"),
            .object([JSONMember("k", 1), JSONMember("k", 2)]),
        ]
        for value in values {
            XCTAssertEqual(try JSONParser.parse(value.serialized()), value)
        }
    }

    func testEscapedSolidusIsNormalizedOnOutput() throws {
        XCTAssertEqual(try JSONParser.parse(#""a\/b\u0041""#).jsonText, #""a/bA""#)
    }
}
