import StatusCore
import XCTest

final class ErrorBodyTests: XCTestCase {
    func testNotFoundBodyIsThePlatformsJSON() {
        let body = ErrorBody(error: .flowExecutionNotFound, requestID: "01K8KABR6S16YETA2SZPVBS9SP")
        XCTAssertEqual(
            body.json.jsonText,
            #"{"error":{"message":"Flow execution not found","code":"not_found","details":null},"request_id":"01K8KABR6S16YETA2SZPVBS9SP"}"#
        )
        XCTAssertEqual(body.serialized(), Array(body.json.jsonText.utf8))
    }

    func testValidationBodyListsIssues() {
        let error = decodingError(Fixture.singleValue(taskName: ""))!
        let body = ErrorBody(error: error, requestID: "01K8KABR6S16YETA2SZPVBS9SP")
        XCTAssertEqual(
            body.json.jsonText,
            #"{"error":{"message":"Request validation failed at body.task_name: String should have at least 1 character","#
                + #""code":"validation_error","details":[{"loc":["body","task_name"],"msg":"String should have at least 1 character","#
                + #""type":"string_too_short"}]},"request_id":"01K8KABR6S16YETA2SZPVBS9SP"}"#
        )
    }

    func testUnknownTaskNamesBodyCarriesTheNames() {
        let record = Fixture.record([TaskStatusUpdate(taskName: "task_9_typo", status: "running")])
        let error = ExecutionRules.check(record, against: Fixture.execution())!
        let body = ErrorBody(error: error, requestID: "01K8KABR6S16YETA2SZPVBS9SP")
        XCTAssertEqual(
            body.json["error"]?.jsonText,
            #"{"message":"Unknown task names for this flow: task_9_typo","code":"bad_request","details":{"unknown_task_names":["task_9_typo"]}}"#
        )
    }

    func testGeneratedRequestIDIsAULID() {
        var generator = ULIDGenerator()
        let body = ErrorBody(error: .internalError("unexpected"), generator: &generator)
        XCTAssertNotNil(ULID(string: body.requestID))
        XCTAssertEqual(body.json["request_id"]?.stringValue, body.requestID)
    }

    func testErrorCasesCarryTheirHTTPStatus() {
        XCTAssertEqual(ContractError.flowExecutionNotFound.httpStatus, 404)
        XCTAssertEqual(ContractError.badRequest("x").httpStatus, 400)
        XCTAssertEqual(ContractError.validationFailed([]).httpStatus, 422)
        XCTAssertEqual(ContractError.repositoryError("x").httpStatus, 500)
        XCTAssertEqual(ContractError.internalError("x").httpStatus, 500)
        XCTAssertTrue(ContractError.flowExecutionNotFound.isFinal)
        XCTAssertFalse(ContractError.repositoryError("x").isFinal)
    }
}
