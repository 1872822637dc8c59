import Foundation
import StatusCore
import XCTest

/// The field step: every bad field is reported, pydantic style, with its location.
final class RecordFieldTests: XCTestCase {
    private let id = Fixture.executionText

    private func single(taskName: String, status: String = #""running""#, extra: String = "") -> String {
        #"{"flow_execution_id":"\#(id)","task_name":\#(taskName),"status":\#(status)\#(extra)}"#
    }

    private func batch(_ items: String, extra: String = "") -> String {
        #"{"flow_execution_id":"\#(id)","statuses":[\#(items)]\#(extra)}"#
    }

    // MARK: - Valid records

    func testSampleSingleRecordDecodes() throws {
        let value = #"{"flow_execution_id":"e388b05e-b879-5fb8-90b9-87f977071375","task_name":"task_63357","status":"queued","organization_id":"0d9d249e-6dd0-57f3-af61-fc81309be3d4"}"#
        let record = try XCTUnwrap(decodedRecord(value, key: Fixture.executionText))
        XCTAssertEqual(record.flowExecutionID, Fixture.executionID)
        XCTAssertEqual(record.organizationID, Fixture.organizationID)
        XCTAssertEqual(record.form, .single)
        XCTAssertEqual(record.updates, [TaskStatusUpdate(taskName: "task_63357", status: "queued")])
        XCTAssertNil(record.eventID)
        XCTAssertNil(record.emittedAt)
    }

    func testSampleBatchRecordDecodesInOrder() throws {
        let value = #"{"flow_execution_id":"547235b7-baa7-5b72-bb2a-bc770306b126","statuses":[{"task_name":"task_41431","status":"running"},{"task_name":"task_41437","status":null},{"task_name":"task_41430","status":"cancel_requested"},{"task_name":"task_41436","status":null}]}"#
        let record = try XCTUnwrap(decodedRecord(value, key: "547235b7-baa7-5b72-bb2a-bc770306b126"))
        XCTAssertEqual(record.form, .batch)
        XCTAssertEqual(record.updates, [
            TaskStatusUpdate(taskName: "task_41431", status: "running"),
            TaskStatusUpdate(taskName: "task_41437", status: nil),
            TaskStatusUpdate(taskName: "task_41430", status: "cancel_requested"),
            TaskStatusUpdate(taskName: "task_41436", status: nil),
        ])
    }

    func testOptionalFieldsDecode() throws {
        let extra = #","organization_id":"0D9D249E-6DD0-57F3-AF61-FC81309BE3D4","event_id":"evt-1","emitted_at":"2026-01-02T03:04:05.5+02:00","unknown":{"x":[1]}"#
        let record = try XCTUnwrap(decodedRecord(single(taskName: #""load""#, extra: extra)))
        XCTAssertEqual(record.organizationID, Fixture.organizationID)
        XCTAssertEqual(record.eventID, "evt-1")
        XCTAssertEqual(record.emittedAt?.timeIntervalSince1970, 1_767_315_845.5)
    }

    func testOptionalFieldsMayBeNull() throws {
        let extra = #","organization_id":null,"event_id":null,"emitted_at":null"#
        let record = try XCTUnwrap(decodedRecord(single(taskName: #""load""#, extra: extra)))
        XCTAssertNil(record.organizationID)
        XCTAssertNil(record.eventID)
        XCTAssertNil(record.emittedAt)
    }

    func testStatusesMemberSelectsTheBatchForm() throws {
        let value = #"{"flow_execution_id":"\#(id)","task_name":"ignored","statuses":[{"task_name":"a","status":"queued"}]}"#
        let record = try XCTUnwrap(decodedRecord(value))
        XCTAssertEqual(record.form, .batch)
        XCTAssertEqual(record.updates.map(\.taskName), ["a"])
    }

    func testDuplicateMembersKeepTheLastValue() throws {
        let value = #"{"flow_execution_id":"\#(id)","task_name":5,"task_name":"second","status":"queued","status":"running"}"#
        let record = try XCTUnwrap(decodedRecord(value))
        XCTAssertEqual(record.updates, [TaskStatusUpdate(taskName: "second", status: "running")])
    }

    func testMemberNamesMatchExactly() {
        // "Task_name" and a name with a trailing space are unknown members, so task_name is missing.
        let value = #"{"flow_execution_id":"\#(id)","Task_name":"a","task_name ":"a","status":"queued"}"#
        XCTAssertEqual(issueSummary(decodingError(value)), ["body.task_name missing"])
    }

    // MARK: - task_name

    func testTaskNameCountsCharactersNotBytes() throws {
        let longest = String(repeating: "é", count: 255)
        XCTAssertEqual(longest.utf8.count, 510)
        let record = try XCTUnwrap(decodedRecord(single(taskName: "\"\(longest)\"")))
        XCTAssertEqual(record.updates.first?.taskName.unicodeScalars.count, 255)

        let error = decodingError(single(taskName: "\"\(longest)é\""))
        XCTAssertEqual(issueSummary(error), ["body.task_name string_too_long"])
        XCTAssertEqual(error?.details[0]?["msg"], "String should have at most 255 characters")
    }

    func testTaskNameLimitInASCII() {
        XCTAssertNotNil(decodedRecord(single(taskName: "\"\(String(repeating: "a", count: 255))\"")))
        let error = decodingError(single(taskName: "\"\(String(repeating: "a", count: 256))\""))
        XCTAssertEqual(issueSummary(error), ["body.task_name string_too_long"])
    }

    func testTaskNameCountsScalarsNotGraphemeClusters() {
        // 128 characters as displayed, but 256 Unicode scalars: "e" and U+0301 each count.
        let decomposed = String(repeating: "e\u{301}", count: 128)
        XCTAssertEqual(decomposed.count, 128)
        let error = decodingError(single(taskName: "\"\(decomposed)\""))
        XCTAssertEqual(issueSummary(error), ["body.task_name string_too_long"])
    }

    func testTaskNameCountsAstralCharactersOnce() {
        let emoji = String(repeating: "😀", count: 255)
        XCTAssertNotNil(decodedRecord(single(taskName: "\"\(emoji)\"")))
        XCTAssertEqual(issueSummary(decodingError(single(taskName: "\"\(emoji)😀\""))), ["body.task_name string_too_long"])
    }

    func testEmptyTaskNameIsTooShort() {
        let error = decodingError(single(taskName: #""""#))
        XCTAssertEqual(issueSummary(error), ["body.task_name string_too_short"])
        XCTAssertEqual(error?.details[0]?["msg"], "String should have at least 1 character")
    }

    func testTaskNameOfWrongTypeIsReported() {
        for taskName in ["5", "null", "true", "[]", #"{"a":1}"#] {
            XCTAssertEqual(issueSummary(decodingError(single(taskName: taskName))), ["body.task_name string_type"], taskName)
        }
    }

    func testMissingTaskNameIsReported() {
        let value = #"{"flow_execution_id":"\#(id)","status":"queued"}"#
        let error = decodingError(value)
        XCTAssertEqual(issueSummary(error), ["body.task_name missing"])
        XCTAssertEqual(error?.details[0]?["msg"], "Field required")
    }

    // MARK: - status

    func testStatusLimitIsFiftyCharacters() throws {
        let fifty = String(repeating: "ü", count: 50)
        let record = try XCTUnwrap(decodedRecord(single(taskName: #""a""#, status: "\"\(fifty)\"")))
        XCTAssertEqual(record.updates.first?.status, fifty)

        let error = decodingError(single(taskName: #""a""#, status: "\"\(fifty)ü\""))
        XCTAssertEqual(issueSummary(error), ["body.status string_too_long"])
        XCTAssertEqual(error?.details[0]?["msg"], "String should have at most 50 characters")
    }

    func testNullStatusClearsTheStatus() throws {
        let record = try XCTUnwrap(decodedRecord(single(taskName: #""a""#, status: "null")))
        XCTAssertEqual(record.updates, [TaskStatusUpdate(taskName: "a", status: nil)])
    }

    func testEmptyStatusIsAccepted() throws {
        let record = try XCTUnwrap(decodedRecord(single(taskName: #""a""#, status: #""""#)))
        XCTAssertEqual(record.updates.first?.status, "")
    }

    func testMissingStatusIsReported() {
        let value = #"{"flow_execution_id":"\#(id)","task_name":"a"}"#
        XCTAssertEqual(issueSummary(decodingError(value)), ["body.status missing"])
    }

    func testStatusOfWrongTypeIsReported() {
        for status in ["1", "false", "[]", "{}"] {
            XCTAssertEqual(issueSummary(decodingError(single(taskName: #""a""#, status: status))), ["body.status string_type"], status)
        }
    }

    // MARK: - U+0000

    func testNULCharacterIsRejectedInEveryStringField() {
        let error = decodingError(single(taskName: #""a\u0000b""#, status: #""run\u0000""#, extra: #","event_id":"\u0000""#))
        XCTAssertEqual(issueSummary(error), [
            "body.task_name string_contains_nul",
            "body.status string_contains_nul",
            "body.event_id string_contains_nul",
        ])
        XCTAssertEqual(error?.details[0]?["msg"], "String should not contain the NUL character (U+0000)")
    }

    func testNULCharacterIsRejectedInBatchItems() {
        let error = decodingError(batch(#"{"task_name":"a","status":"ok"},{"task_name":"\u0000","status":null}"#))
        XCTAssertEqual(issueSummary(error), ["body.statuses.1.task_name string_contains_nul"])
    }

    // MARK: - flow_execution_id and organization_id

    func testUpperCaseUUIDIsAccepted() throws {
        let value = #"{"flow_execution_id":"E388B05E-B879-5FB8-90B9-87F977071375","task_name":"a","status":null}"#
        let record = try XCTUnwrap(decodedRecord(value))
        XCTAssertEqual(record.flowExecutionID, Fixture.executionID)
    }

    func testNonCanonicalUUIDFormsAreRejected() {
        let forms = [
            "{e388b05e-b879-5fb8-90b9-87f977071375}",
            "urn:uuid:e388b05e-b879-5fb8-90b9-87f977071375",
            "e388b05eb8795fb890b987f977071375",
            "e388b05e-b879-5fb8-90b987f977071375",
            "e388b05eb-879-5fb8-90b9-87f977071375",
            " e388b05e-b879-5fb8-90b9-87f977071375",
            "e388b05e-b879-5fb8-90b9-87f97707137",
            "e388b05e-b879-5fb8-90b9-87f9770713755",
            "g388b05e-b879-5fb8-90b9-87f977071375",
            "",
        ]
        for form in forms {
            let value = #"{"flow_execution_id":"\#(form)","task_name":"a","status":null}"#
            XCTAssertEqual(issueSummary(decodingError(value)), ["body.flow_execution_id uuid_parsing"], form)
        }
    }

    func testFlowExecutionIDTypeAndPresence() {
        XCTAssertEqual(
            issueSummary(decodingError(#"{"flow_execution_id":5,"task_name":"a","status":null}"#)),
            ["body.flow_execution_id string_type"]
        )
        XCTAssertEqual(
            issueSummary(decodingError(#"{"flow_execution_id":null,"task_name":"a","status":null}"#)),
            ["body.flow_execution_id string_type"]
        )
        XCTAssertEqual(
            issueSummary(decodingError(#"{"task_name":"a","status":null}"#)),
            ["body.flow_execution_id missing"]
        )
    }

    func testInvalidOrganizationIDIsReported() {
        XCTAssertEqual(
            issueSummary(decodingError(single(taskName: #""a""#, extra: #","organization_id":"acme""#))),
            ["body.organization_id uuid_parsing"]
        )
        XCTAssertEqual(
            issueSummary(decodingError(single(taskName: #""a""#, extra: #","organization_id":7"#))),
            ["body.organization_id string_type"]
        )
    }

    // MARK: - event_id and emitted_at

    func testEventIDLimits() throws {
        let longest = String(repeating: "é", count: 255)
        let record = try XCTUnwrap(decodedRecord(single(taskName: #""a""#, extra: #","event_id":"\#(longest)""#)))
        XCTAssertEqual(record.eventID, longest)

        XCTAssertEqual(
            issueSummary(decodingError(single(taskName: #""a""#, extra: #","event_id":"\#(longest)é""#))),
            ["body.event_id string_too_long"]
        )
        XCTAssertEqual(
            issueSummary(decodingError(single(taskName: #""a""#, extra: #","event_id":"""#))),
            ["body.event_id string_too_short"]
        )
        XCTAssertEqual(
            issueSummary(decodingError(single(taskName: #""a""#, extra: #","event_id":12"#))),
            ["body.event_id string_type"]
        )
    }

    func testEmittedAtMustBeRFC3339() {
        for text in ["2026-01-02", "2026-01-02T03:04:05", "2026-01-02 03:04:05Z", "yesterday", "2026-02-30T00:00:00Z"] {
            XCTAssertEqual(
                issueSummary(decodingError(single(taskName: #""a""#, extra: #","emitted_at":"\#(text)""#))),
                ["body.emitted_at datetime_from_date_parsing"],
                text
            )
        }
        XCTAssertEqual(
            issueSummary(decodingError(single(taskName: #""a""#, extra: #","emitted_at":1767315845"#))),
            ["body.emitted_at datetime_type"]
        )
    }

    // MARK: - statuses

    func testBatchSizesOneAndHundredAccepted() throws {
        XCTAssertEqual(try XCTUnwrap(decodedRecord(batch(batchItems(1)))).updates.count, 1)
        XCTAssertEqual(try XCTUnwrap(decodedRecord(batch(batchItems(100)))).updates.count, 100)
    }

    func testEmptyBatchIsTooShort() {
        let error = decodingError(batch(""))
        XCTAssertEqual(issueSummary(error), ["body.statuses too_short"])
        XCTAssertEqual(error?.details[0]?["msg"], "List should have at least 1 item after validation, not 0")
    }

    func testBatchOfHundredOneTooLong() {
        let error = decodingError(batch(batchItems(101)))
        XCTAssertEqual(issueSummary(error), ["body.statuses too_long"])
        XCTAssertEqual(error?.details[0]?["msg"], "List should have at most 100 items after validation, not 101")
    }

    func testStatusesMustBeAList() {
        for statuses in ["null", #"{"task_name":"a","status":null}"#, #""a""#] {
            let value = #"{"flow_execution_id":"\#(id)","statuses":\#(statuses)}"#
            XCTAssertEqual(issueSummary(decodingError(value)), ["body.statuses list_type"], statuses)
        }
    }

    func testBadItemsAreReportedWithTheirIndex() {
        let items = [
            #"{"task_name":"a","status":"ok"}"#,
            #""not an object""#,
            #"{"status":"ok"}"#,
            #"{"task_name":"b","status":7}"#,
        ].joined(separator: ",")
        let error = decodingError(batch(items))
        XCTAssertEqual(issueSummary(error), [
            "body.statuses.1 model_attributes_type",
            "body.statuses.2.task_name missing",
            "body.statuses.3.status string_type",
        ])
        XCTAssertEqual(
            error?.details[2]?["loc"]?.jsonText,
            #"["body","statuses",3,"status"]"#,
            "indexes in a location are JSON numbers"
        )
    }

    // MARK: - Several problems

    func testEveryBadFieldIsReportedInOneError() {
        let value = #"{"flow_execution_id":"nope","task_name":"","status":5,"organization_id":"x","emitted_at":"then"}"#
        let error = decodingError(value)
        XCTAssertEqual(error?.code, .validationError)
        XCTAssertEqual(error?.httpStatus, 422)
        XCTAssertEqual(issueSummary(error), [
            "body.flow_execution_id uuid_parsing",
            "body.task_name string_too_short",
            "body.status string_type",
            "body.organization_id uuid_parsing",
            "body.emitted_at datetime_from_date_parsing",
        ])
        XCTAssertEqual(
            error?.message,
            "Request validation failed at body.flow_execution_id: Input should be a valid UUID in the canonical"
                + " 8-4-4-4-12 hexadecimal form, such as 0f8fad5b-d9cb-469f-a165-70867728950e (and 4 more in details)"
        )
    }

    func testFieldProblemsComeBeforeTheKey() {
        let error = decodingError(single(taskName: #""""#), key: "0d9d249e-6dd0-57f3-af61-fc81309be3d4")
        XCTAssertEqual(error?.code, .validationError)
    }
}
