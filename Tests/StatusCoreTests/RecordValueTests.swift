import StatusCore
import XCTest

/// The value step: a record's value must be present, UTF-8, JSON and a JSON object.
final class RecordValueTests: XCTestCase {
    private func assertBodyIssue(_ error: ContractError?, type: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(error?.code, .validationError, file: file, line: line)
        XCTAssertEqual(error?.httpStatus, 422, file: file, line: line)
        XCTAssertEqual(issueSummary(error), ["body \(type)"], file: file, line: line)
    }

    func testTombstoneIsAValidationError() {
        let error = decodingError(key: Array(Fixture.executionText.utf8), value: nil)
        assertBodyIssue(error, type: "missing")
        XCTAssertEqual(error?.message, "Record value is missing (a tombstone): expected a JSON object")
        XCTAssertEqual(error?.details, [["loc": ["body"], "msg": "Field required", "type": "missing"]])
    }

    func testEmptyValueIsAValidationError() {
        let error = decodingError(key: nil, value: [])
        assertBodyIssue(error, type: "missing")
        XCTAssertEqual(error?.message, "Record value is empty: expected a JSON object")
    }

    func testInvalidUTF8IsAValidationError() {
        let value = Array(#"{"flow_execution_id":"#.utf8) + [0x22, 0xC3, 0x28, 0x22, 0x7D]
        let error = decodingError(key: nil, value: value)
        assertBodyIssue(error, type: "json_invalid")
        XCTAssertEqual(error?.message, "Record value is not valid UTF-8 at byte 22: JSON must be encoded as UTF-8")
    }

    func testTruncatedJSONIsAValidationError() {
        let error = decodingError(#"{"flow_execution_id": "e388b05e-b879-5fb8-90b9-87f9"#)
        assertBodyIssue(error, type: "json_invalid")
        XCTAssertEqual(
            error?.message,
            "Record value is not valid JSON: unexpected end of input at byte 51, expected '\"' to close the string"
        )
    }

    func testMalformedJSONIsAValidationError() {
        assertBodyIssue(decodingError("{flow_execution_id: 1}"), type: "json_invalid")
        assertBodyIssue(decodingError(#"{"a": 1} trailing"#), type: "json_invalid")
    }

    func testTooDeepJSONIsAValidationError() {
        let depth = JSONParser.maximumDepth + 1
        let value = #"{"a":"# + String(repeating: "[", count: depth) + String(repeating: "]", count: depth) + "}"
        let error = decodingError(value)
        assertBodyIssue(error, type: "json_invalid")
        XCTAssertTrue(error?.message.contains("nesting deeper than 512 levels") ?? false, error?.message ?? "")
    }

    func testJSONArrayIsNotAnObject() {
        let error = decodingError("[" + Fixture.singleValue() + "]")
        assertBodyIssue(error, type: "model_attributes_type")
        XCTAssertEqual(error?.message, "Record value is a JSON array: expected a JSON object")
    }

    func testJSONScalarsAreNotObjects() {
        for value in [#""text""#, "42", "true", "null"] {
            assertBodyIssue(decodingError(value), type: "model_attributes_type")
        }
    }

    func testValueProblemsComeBeforeTheKey() {
        let error = decodingError("[]", key: "not-the-execution")
        XCTAssertEqual(error?.code, .validationError)
    }

    func testDocumentIsReturnedOnlyForObjects() {
        let invalidFields = RecordDecoder.decodeWithDocument(key: nil, value: Array(#"{"task_name": 1}"#.utf8))
        XCTAssertEqual(invalidFields.document, ["task_name": 1])
        XCTAssertEqual(invalidFields.result.failureCode, .validationError)

        let valid = RecordDecoder.decodeWithDocument(key: nil, value: Array(Fixture.singleValue().utf8))
        XCTAssertEqual(valid.document?["task_name"], "extract")

        XCTAssertNil(RecordDecoder.decodeWithDocument(key: nil, value: Array("[1]".utf8)).document)
        XCTAssertNil(RecordDecoder.decodeWithDocument(key: nil, value: Array("{".utf8)).document)
        XCTAssertNil(RecordDecoder.decodeWithDocument(key: nil, value: nil).document)
    }
}

extension Result where Failure == ContractError {
    var failureCode: ErrorCode? {
        if case .failure(let error) = self { return error.code }
        return nil
    }
}
