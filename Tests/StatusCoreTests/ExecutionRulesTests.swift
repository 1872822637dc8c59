import StatusCore
import XCTest

final class ExecutionRulesTests: XCTestCase {
    private let notFoundText = #"{"message":"Flow execution not found","code":"not_found","details":null}"#

    private func errorText(_ error: ContractError?) -> String? {
        guard let error else { return nil }
        return JSONValue.object([
            JSONMember("message", .string(error.message)),
            JSONMember("code", .string(error.code.rawValue)),
            JSONMember("details", error.details),
        ]).jsonText
    }

    // MARK: - Not found

    func testMissingExecutionIsNotFound() {
        let error = ExecutionRules.check(Fixture.record([.init(taskName: "extract", status: "running")]), against: nil)
        XCTAssertEqual(error?.httpStatus, 404)
        XCTAssertEqual(errorText(error), notFoundText)
    }

    func testDeletedExecutionIsNotFound() {
        let error = ExecutionRules.check(
            Fixture.record([.init(taskName: "extract", status: "running")]),
            against: Fixture.execution(deleted: true)
        )
        XCTAssertEqual(errorText(error), notFoundText)
    }

    func testExecutionOfAnotherOrganizationIsNotFound() {
        let record = Fixture.record([.init(taskName: "extract", status: "running")], organizationID: Fixture.otherOrganizationID)
        XCTAssertEqual(errorText(ExecutionRules.check(record, against: Fixture.execution())), notFoundText)
    }

    func testAllThreeNotFoundCasesAreIdentical() {
        let update = TaskStatusUpdate(taskName: "extract", status: "running")
        let missing = ExecutionRules.check(Fixture.record([update]), against: nil)
        let deleted = ExecutionRules.check(Fixture.record([update]), against: Fixture.execution(deleted: true))
        let foreign = ExecutionRules.check(
            Fixture.record([update], organizationID: Fixture.otherOrganizationID),
            against: Fixture.execution()
        )
        XCTAssertEqual(missing, deleted)
        XCTAssertEqual(missing, foreign)
    }

    func testMatchingOrAbsentOrganizationIsAccepted() {
        let update = TaskStatusUpdate(taskName: "extract", status: "running")
        XCTAssertNil(ExecutionRules.check(Fixture.record([update], organizationID: Fixture.organizationID), against: Fixture.execution()))
        XCTAssertNil(ExecutionRules.check(Fixture.record([update]), against: Fixture.execution()))
    }

    func testNotFoundComesBeforeUnknownTaskNames() {
        let record = Fixture.record([.init(taskName: "nope", status: nil)])
        XCTAssertEqual(ExecutionRules.check(record, against: Fixture.execution(deleted: true))?.code, .notFound)
    }

    // MARK: - Task names

    func testUnknownTaskNamesListedOnce() {
        let record = Fixture.record([
            .init(taskName: "task_9_typo", status: "running"),
            .init(taskName: "extract", status: "running"),
            .init(taskName: "Load", status: nil),
            .init(taskName: "task_9_typo", status: "completed"),
        ])
        let error = ExecutionRules.check(record, against: Fixture.execution())
        XCTAssertEqual(error?.code, .badRequest)
        XCTAssertEqual(error?.httpStatus, 400)
        XCTAssertEqual(error?.message, "Unknown task names for this flow: task_9_typo, Load")
        XCTAssertEqual(error?.details, ["unknown_task_names": ["task_9_typo", "Load"]])
    }

    func testTaskNamesCompareByCodePoints() {
        let composed = "caf\u{E9}"
        let decomposed = "cafe\u{301}"
        XCTAssertEqual(composed, decomposed, "Swift's String equality treats them as equal")

        let small = Fixture.execution(taskNames: [composed])
        XCTAssertEqual(ExecutionRules.check(Fixture.record([.init(taskName: decomposed, status: nil)]), against: small)?.code, .badRequest)
        XCTAssertNil(ExecutionRules.check(Fixture.record([.init(taskName: composed, status: nil)]), against: small))

        // Enough names and updates to take the hash set path.
        let large = Fixture.execution(taskNames: [composed] + (0..<150).map { "task_\($0)" })
        let updates = (0..<99).map { TaskStatusUpdate(taskName: "task_\($0)", status: "queued") }
        XCTAssertEqual(
            ExecutionRules.check(Fixture.record(updates + [.init(taskName: decomposed, status: nil)]), against: large)?.details,
            ["unknown_task_names": [.string(decomposed)]]
        )
        XCTAssertNil(ExecutionRules.check(Fixture.record(updates + [.init(taskName: composed, status: nil)]), against: large))
    }

    func testLargeFlowChecksEveryUpdate() {
        let execution = Fixture.execution(taskNames: (0..<150).map { "task_\($0)" })
        let known = (0..<100).map { TaskStatusUpdate(taskName: "task_\($0 + 50)", status: "running") }
        XCTAssertNil(ExecutionRules.check(Fixture.record(known), against: execution))

        var withTypo = known
        withTypo[73] = TaskStatusUpdate(taskName: "task_150", status: "running")
        XCTAssertEqual(
            ExecutionRules.check(Fixture.record(withTypo), against: execution)?.details,
            ["unknown_task_names": ["task_150"]]
        )
    }

    func testPrebuiltTaskNameSetGivesTheSameAnswer() {
        let execution = Fixture.execution()
        let declared = TaskNameSet(execution.taskNames)
        let record = Fixture.record([.init(taskName: "extract", status: nil), .init(taskName: "x", status: nil)])
        XCTAssertEqual(
            ExecutionRules.check(record, against: execution, declaredTaskNames: declared),
            ExecutionRules.check(record, against: execution)
        )
        XCTAssertEqual(ExecutionRules.check(record, against: nil, declaredTaskNames: declared)?.code, .notFound)
    }

    func testManyUnknownNamesAreCountedInTheMessage() {
        let updates = (0..<15).map { TaskStatusUpdate(taskName: "ghost_\($0)", status: nil) }
        let error = ExecutionRules.check(Fixture.record(updates), against: Fixture.execution())
        XCTAssertTrue(error?.message.hasSuffix("ghost_9 and 5 more") ?? false, error?.message ?? "")
        XCTAssertEqual(error?.details["unknown_task_names"]?.arrayValue?.count, 15)
    }

    // MARK: - Execution status

    func testTaskAwaitingInputPausesTheExecution() {
        XCTAssertEqual(ExecutionRules.nextExecutionStatus(current: "running", anyTaskAwaitingInput: true), "awaiting_input")
        XCTAssertEqual(ExecutionRules.nextExecutionStatus(current: "awaiting_input", anyTaskAwaitingInput: true), "awaiting_input")
    }

    func testNoTaskAwaitingInputResumesTheExecution() {
        XCTAssertEqual(ExecutionRules.nextExecutionStatus(current: "awaiting_input", anyTaskAwaitingInput: false), "running")
    }

    func testOtherExecutionStatusesAreLeftAlone() {
        for status in ["running", "queued", "completed", "failed", "cancelled", "Awaiting_Input"] {
            XCTAssertEqual(ExecutionRules.nextExecutionStatus(current: status, anyTaskAwaitingInput: false), status)
        }
    }

    // MARK: - The whole order

    func testChecksRunInTheEndpointOrder() {
        let otherKey = "11878a1f-6a61-567c-b30c-bc96b38fc863"

        // Shape before key: a bad field and a wrong key give the 422.
        XCTAssertEqual(decodingError(Fixture.singleValue(taskName: ""), key: otherKey)?.httpStatus, 422)

        // Key before execution: a wrong key for a missing execution gives the 400.
        let keyError = decodingError(Fixture.singleValue(taskName: "nope"), key: otherKey)
        XCTAssertEqual(keyError?.code, .badRequest)
        XCTAssertTrue(keyError?.message.contains("names another flow execution") ?? false)

        // Execution before task names.
        guard case .success(let record) = decode(Fixture.singleValue(taskName: "nope"), key: Fixture.executionText) else {
            return XCTFail("the record itself is valid")
        }
        XCTAssertEqual(ExecutionRules.check(record, against: nil)?.httpStatus, 404)
        XCTAssertEqual(ExecutionRules.check(record, against: Fixture.execution())?.httpStatus, 400)
    }
}
