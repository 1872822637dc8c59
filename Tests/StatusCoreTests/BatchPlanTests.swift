import Foundation
import StatusCore
import XCTest

final class BatchPlanTests: XCTestCase {
    private let updates = [
        TaskStatusUpdate(taskName: "extract", status: "queued"),
        TaskStatusUpdate(taskName: "load", status: "queued"),
        TaskStatusUpdate(taskName: "extract", status: "running"),
        TaskStatusUpdate(taskName: "load", status: nil),
        TaskStatusUpdate(taskName: "transform", status: "awaiting_input"),
    ]

    func testOneHistoryRowPerUpdateInOrder() {
        var clock = HistoryClock()
        let plan = BatchPlan.make(execution: Fixture.execution(), updates: updates, clock: &clock)
        XCTAssertEqual(plan.historyRows.map(\.taskName), ["extract", "load", "extract", "load", "transform"])
        XCTAssertEqual(plan.historyRows.map(\.status), ["queued", "queued", "running", nil, "awaiting_input"])
        XCTAssertTrue(plan.historyRows.allSatisfy { $0.flowExecutionID == Fixture.executionID })
    }

    func testRowsCarryTheExecutionsOrganization() {
        var clock = HistoryClock()
        let plan = BatchPlan.make(execution: Fixture.execution(), updates: updates, clock: &clock)
        XCTAssertTrue(plan.historyRows.allSatisfy { $0.organizationID == Fixture.organizationID })
    }

    func testFinalStatesKeepLastStatusPerTask() {
        var clock = HistoryClock()
        let plan = BatchPlan.make(execution: Fixture.execution(), updates: updates, clock: &clock)
        XCTAssertEqual(plan.finalStates, [
            TaskStatusUpdate(taskName: "extract", status: "running"),
            TaskStatusUpdate(taskName: "load", status: nil),
            TaskStatusUpdate(taskName: "transform", status: "awaiting_input"),
        ])
    }

    func testFinalStatesKeepCanonicallyEquivalentNamesApart() {
        var clock = HistoryClock()
        let plan = BatchPlan.make(
            execution: Fixture.execution(),
            updates: [TaskStatusUpdate(taskName: "caf\u{E9}", status: "a"), TaskStatusUpdate(taskName: "cafe\u{301}", status: "b")],
            clock: &clock
        )
        XCTAssertEqual(plan.finalStates.count, 2)
    }

    func testRowsOrderedWithFrozenClock() {
        let frozen = Date(timeIntervalSince1970: 1_767_315_845.123_456)
        var clock = HistoryClock(currentTime: { frozen })
        let many = (0..<5000).map { TaskStatusUpdate(taskName: "task_\($0 % 7)", status: "running") }
        let rows = BatchPlan.make(execution: Fixture.execution(), updates: many, clock: &clock).historyRows

        let idTexts = rows.map { UUIDText.canonicalLowercase($0.id) }
        XCTAssertEqual(idTexts, idTexts.sorted())
        XCTAssertEqual(Set(idTexts).count, rows.count)
        XCTAssertTrue(zip(rows, rows.dropFirst()).allSatisfy { $0.createdAt <= $1.createdAt })
        XCTAssertEqual(rows.first?.createdAt.timeIntervalSince1970 ?? 0, 1_767_315_845.123_456, accuracy: 0.000_001)
    }

    func testCreatedAtIgnoresClockStepBack() {
        let times = LockedTimes([2_000_000_000, 1_000_000_000, 2_000_000_001])
        var clock = HistoryClock(currentTime: { times.next() })
        let rows = BatchPlan.make(execution: Fixture.execution(), updates: Array(updates.prefix(3)), clock: &clock).historyRows
        XCTAssertEqual(rows.map(\.createdAt.timeIntervalSince1970), [2_000_000_000, 2_000_000_000, 2_000_000_001])
        let idTexts = rows.map { UUIDText.canonicalLowercase($0.id) }
        XCTAssertEqual(idTexts, idTexts.sorted())
    }

    func testConsecutiveBatchesShareOneOrderedClock() {
        var clock = HistoryClock()
        let first = BatchPlan.make(execution: Fixture.execution(), updates: updates, clock: &clock)
        let second = BatchPlan.make(execution: Fixture.execution(), updates: updates, clock: &clock)
        let rows = first.historyRows + second.historyRows
        let idTexts = rows.map { UUIDText.canonicalLowercase($0.id) }
        XCTAssertEqual(idTexts, idTexts.sorted())
        XCTAssertTrue(zip(rows, rows.dropFirst()).allSatisfy { $0.createdAt <= $1.createdAt })
    }
}

/// A scripted clock for `HistoryClock`, in seconds since 1970.
private final class LockedTimes: @unchecked Sendable {
    private let lock = NSLock()
    private var remaining: [TimeInterval]

    init(_ times: [TimeInterval]) {
        remaining = times
    }

    func next() -> Date {
        lock.lock()
        defer { lock.unlock() }
        return Date(timeIntervalSince1970: remaining.isEmpty ? 0 : remaining.removeFirst())
    }
}
