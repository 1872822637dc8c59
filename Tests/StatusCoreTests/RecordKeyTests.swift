import StatusCore
import XCTest

/// The key step: a key, when present, must name the body's flow execution.
final class RecordKeyTests: XCTestCase {
    func testMissingOrEmptyKeyIsAccepted() {
        XCTAssertNotNil(decodedRecord(Fixture.singleValue(), key: nil))
        XCTAssertNotNil(decodedRecord(Fixture.singleValue(), key: ""))
    }

    func testMatchingKeyIsAccepted() {
        XCTAssertNotNil(decodedRecord(Fixture.singleValue(), key: Fixture.executionText))
    }

    func testKeyMatchesRegardlessOfCase() {
        XCTAssertNotNil(decodedRecord(Fixture.singleValue(), key: Fixture.executionText.uppercased()))
    }

    func testKeyOfAnotherExecutionIsABadRequest() {
        let otherKey = "11878a1f-6a61-567c-b30c-bc96b38fc863"
        let error = decodingError(Fixture.singleValue(), key: otherKey)
        XCTAssertEqual(error?.code, .badRequest)
        XCTAssertEqual(error?.httpStatus, 400)
        XCTAssertEqual(
            error?.message,
            "Record key '\(otherKey)' names another flow execution than the body's flow_execution_id '\(Fixture.executionText)'"
        )
        XCTAssertEqual(error?.details, ["key": .string(otherKey), "flow_execution_id": .string(Fixture.executionText)])
    }

    func testKeyThatIsNotAUUIDIsABadRequest() {
        for key in ["order-42", "{\(Fixture.executionText)}", Fixture.executionText.replacingOccurrences(of: "-", with: ""), " "] {
            let error = decodingError(Fixture.singleValue(), key: key)
            XCTAssertEqual(error?.code, .badRequest, key)
        }
    }

    func testKeyThatIsNotUTF8IsABadRequest() {
        let error = decodingError(key: [0xFF, 0xFE], value: Array(Fixture.singleValue().utf8))
        XCTAssertEqual(error?.code, .badRequest)
        XCTAssertTrue(error?.message.hasPrefix("Record key is not valid UTF-8") ?? false, error?.message ?? "")
    }

    func testLongKeyIsShortenedInTheMessage() {
        let key = String(repeating: "k", count: 10_000)
        let error = decodingError(Fixture.singleValue(), key: key)
        XCTAssertEqual(error?.code, .badRequest)
        XCTAssertLessThan(error?.message.count ?? .max, 300)
    }
}
