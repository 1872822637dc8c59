import Foundation
import StatusCore
import StatusStore
import XCTest

/// The behaviour every store must show. Subclasses run it against one database each by overriding the
/// hooks; this class itself runs nothing.
class StoreContractTests: XCTestCase {
    var fixtures = StoreFixtures()

    // MARK: - Hooks for each database

    /// Opens a store on a fresh, empty database that the test owns.
    func makeStore() throws -> any TaskStatusStore {
        throw XCTSkip("StoreContractTests runs only through a subclass for one database")
    }

    /// Runs SQL on a second connection to the test's database.
    func execute(_ sql: String) throws {
        throw XCTSkip("no database")
    }

    /// Returns the first column of the first row of a query run on a second connection.
    func queryText(_ sql: String) throws -> String? {
        throw XCTSkip("no database")
    }

    /// Installs a trigger that makes the database reject a history row whose task name is `poison`,
    /// with a message containing "poison", as it rejects data it cannot store.
    func installPoisonTrigger() throws {
        throw XCTSkip("no database")
    }

    /// Installs a trigger that fails a history row whose task name is `explode` with an error worth retrying.
    func installTransientFailureTrigger() throws {
        throw XCTSkip("no database")
    }

    /// Makes the store's next call fail as if the database went away; returns how to bring it back.
    func interruptDatabase(of store: any TaskStatusStore) throws -> () throws -> Void {
        throw XCTSkip("no database")
    }

    override func setUpWithError() throws {
        if type(of: self) == StoreContractTests.self {
            throw XCTSkip("StoreContractTests runs only through a subclass for one database")
        }
    }

    // MARK: - Helpers

    /// Opens and migrates a store holding the given executions.
    func makeMigratedStore(_ executions: [FlowExecution] = []) throws -> any TaskStatusStore {
        let store = try makeStore()
        addTeardownBlock { store.close() }
        try store.migrate()
        if !executions.isEmpty {
            try store.importExecutions(executions)
        }
        return store
    }

    func executionStatus(_ id: UUID) throws -> String? {
        try queryText("SELECT status FROM flow_executions WHERE id = '\(UUIDText.canonicalLowercase(id))'")
    }

    func taskState(_ id: UUID, _ taskName: String) throws -> String? {
        try queryText(
            "SELECT coalesce(status, '<null>') FROM task_states "
                + "WHERE flow_execution_id = '\(UUIDText.canonicalLowercase(id))' AND task_name = '\(taskName)'")
    }

    func applyOne(_ store: any TaskStatusStore, _ record: PendingRecord) throws -> RecordOutcome {
        let outcomes = try store.apply([ExecutionBatch(flowExecutionID: record.record.flowExecutionID, records: [record])])
        return outcomes[0][0]
    }

    // MARK: - Schema

    func testMigrateTwiceIsHarmless() throws {
        let store = try makeMigratedStore([StoreFixtures.execution()])
        try store.migrate()

        XCTAssertEqual(try store.stats().executions, 1)
        XCTAssertEqual(try queryText("SELECT count(*) FROM schema_migrations"), "1")
    }

    func testMigrateReportsVersions() throws {
        let store = try makeStore()
        addTeardownBlock { store.close() }

        let first = try store.migrate()
        let second = try store.migrate()

        XCTAssertEqual(first.before, 0, "a new store has no schema")
        XCTAssertGreaterThan(first.after, 0)
        XCTAssertEqual(second, SchemaVersions(before: first.after, after: first.after))
    }

    func testNewerSchemaIsRejected() throws {
        let store = try makeMigratedStore()
        try execute("INSERT INTO schema_migrations (version, applied_at) VALUES (999, '2030-01-01T00:00:00Z')")

        XCTAssertThrowsError(try store.migrate()) { error in
            guard case StoreError.configuration(let message) = error else {
                return XCTFail("expected a configuration error, got \(error)")
            }
            XCTAssertTrue(message.contains("999"), message)
        }
    }

    // MARK: - Import

    func testReimportReplacesExecutions() throws {
        let first = StoreFixtures.execution(status: "queued")
        let second = StoreFixtures.execution()
        let store = try makeMigratedStore([first, second])

        var changed = first
        changed.deleted = true
        changed.status = "cancelled"
        XCTAssertEqual(try store.importExecutions([changed, second]), 2)

        XCTAssertEqual(try store.stats().executions, 2)
        XCTAssertEqual(try executionStatus(first.id), "cancelled")
        let outcome = try applyOne(store, fixtures.record(first, [("extract", "running")]))
        XCTAssertEqual(outcome.rejection?.code, .notFound)
    }

    func testImportKeepsLastOfRepeatedID() throws {
        let execution = StoreFixtures.execution(status: "queued")
        var later = execution
        later.status = "running"
        let store = try makeMigratedStore()

        try store.importExecutions([execution, later])

        XCTAssertEqual(try store.stats().executions, 1)
        XCTAssertEqual(try executionStatus(execution.id), "running")
    }

    func testTaskNamesSurviveImport() throws {
        let execution = StoreFixtures.execution(taskNames: ["quote\"d", "back\\slash", "comma,brace}", "naïve", "NULL"])
        let store = try makeMigratedStore([execution])

        let outcome = try applyOne(
            store, fixtures.record(execution, execution.taskNames.map { ($0, "completed") }))

        XCTAssertEqual(outcome.appliedRows?.count, 5, "\(outcome)")
    }

    // MARK: - Applying

    func testSingleRecordIsApplied() throws {
        let execution = StoreFixtures.execution()
        let store = try makeMigratedStore([execution])

        let outcome = try applyOne(store, fixtures.record(execution, [("extract", "running")]))

        let rows = try XCTUnwrap(outcome.appliedRows)
        XCTAssertEqual(rows.count, 1)
        XCTAssertEqual(rows.first?.flowExecutionID, execution.id)
        XCTAssertEqual(rows.first?.organizationID, execution.organizationID)
        XCTAssertEqual(rows.first?.taskName, "extract")
        XCTAssertEqual(rows.first?.status, "running")
        XCTAssertEqual(try taskState(execution.id, "extract"), "running")
        let stats = try store.stats()
        XCTAssertEqual(stats.historyRows, 1)
        XCTAssertEqual(stats.taskStates, 1)
    }

    func testBatchRowsInOrderWithVersion7IDs() throws {
        let execution = StoreFixtures.execution()
        let store = try makeMigratedStore([execution])
        let updates: [(String, String?)] = [("extract", "running"), ("transform", "queued"), ("extract", "completed")]

        let outcome = try applyOne(store, fixtures.record(execution, updates))

        let rows = try XCTUnwrap(outcome.appliedRows)
        XCTAssertEqual(rows.map(\.taskName), ["extract", "transform", "extract"])
        XCTAssertEqual(rows.map(\.status), ["running", "queued", "completed"])
        XCTAssertEqual(rows.map(\.id.version), [7, 7, 7])
        let idTexts = rows.map { UUIDText.canonicalLowercase($0.id) }
        XCTAssertEqual(idTexts, idTexts.sorted(), "ids follow the order of the updates")
        XCTAssertEqual(rows.map(\.createdAt), rows.map(\.createdAt).sorted())
        for row in rows {
            let stored = try queryText(
                "SELECT task_name FROM task_status_history WHERE id = '\(UUIDText.canonicalLowercase(row.id))'")
            XCTAssertEqual(stored, row.taskName)
        }
    }

    func testRepeatedTaskKeepsFullHistory() throws {
        let execution = StoreFixtures.execution()
        let store = try makeMigratedStore([execution])

        _ = try applyOne(store, fixtures.record(execution, [("load", "queued"), ("load", "running"), ("load", "failed")]))

        XCTAssertEqual(try store.stats().historyRows, 3)
        XCTAssertEqual(try store.stats().taskStates, 1)
        XCTAssertEqual(try taskState(execution.id, "load"), "failed")
    }

    func testCurrentStateIsLastUpdateOfCall() throws {
        let execution = StoreFixtures.execution()
        let store = try makeMigratedStore([execution])
        let first = fixtures.record(execution, [("extract", "running"), ("load", "queued")])
        let second = fixtures.record(execution, [("extract", "completed")])
        let third = fixtures.record(execution, [("extract", "failed"), ("load", "running")])

        let outcomes = try store.apply([StoreFixtures.batch(first, second), StoreFixtures.batch(third)])

        XCTAssertEqual(outcomes.map { $0.map { $0.appliedRows?.count } }, [[2, 1], [2]])
        XCTAssertEqual(try taskState(execution.id, "extract"), "failed")
        XCTAssertEqual(try taskState(execution.id, "load"), "running")
        XCTAssertEqual(try store.stats().historyRows, 5)
    }

    func testNullStatusClearsState() throws {
        let execution = StoreFixtures.execution()
        let store = try makeMigratedStore([execution])

        _ = try applyOne(store, fixtures.record(execution, [("extract", "running")]))
        let outcome = try applyOne(store, fixtures.record(execution, [("extract", nil)]))

        XCTAssertEqual(outcome.appliedRows?.first?.status, .some(nil))
        XCTAssertEqual(try taskState(execution.id, "extract"), "<null>")
        XCTAssertEqual(
            try queryText("SELECT count(*) FROM task_status_history WHERE status IS NULL"), "1")
    }

    func testAwkwardTextIsStoredByteForByte() throws {
        let names = ["say \"hi\"", "back\\slash", "{a,b}", "NULL", "é", "e\u{301}", " padded "]
        let execution = StoreFixtures.execution(taskNames: names)
        let store = try makeMigratedStore([execution])
        let updates: [(String, String?)] = names.map { ($0, "status of \($0)") } + [("NULL", "NULL")]

        let outcome = try applyOne(store, fixtures.record(execution, updates))

        XCTAssertEqual(outcome.appliedRows?.count, updates.count, "\(outcome)")
        XCTAssertEqual(try store.stats().taskStates, names.count)
        for name in names where name != "NULL" {
            XCTAssertEqual(try taskState(execution.id, name), "status of \(name)", name)
        }
        XCTAssertEqual(try taskState(execution.id, "NULL"), "NULL")
    }

    func testEmptyCallChangesNothing() throws {
        let store = try makeMigratedStore([StoreFixtures.execution()])

        XCTAssertEqual(try store.apply([]).count, 0)
        XCTAssertEqual(try store.stats().historyRows, 0)
    }

    // MARK: - Execution status

    func testAwaitingInputMovesExecutionBothWays() throws {
        let execution = StoreFixtures.execution(status: "running")
        let store = try makeMigratedStore([execution])

        _ = try applyOne(store, fixtures.record(execution, [("transform", "awaiting_input")]))
        XCTAssertEqual(try executionStatus(execution.id), "awaiting_input")
        XCTAssertEqual(try store.stats().executionsAwaitingInput, 1)

        _ = try applyOne(store, fixtures.record(execution, [("transform", "running")]))
        XCTAssertEqual(try executionStatus(execution.id), "running")
        XCTAssertEqual(try store.stats().executionsAwaitingInput, 0)
    }

    func testAwaitingTaskHoldsExecutionAcrossCalls() throws {
        let execution = StoreFixtures.execution(status: "running")
        let store = try makeMigratedStore([execution])

        _ = try applyOne(store, fixtures.record(execution, [("extract", "awaiting_input")]))
        _ = try applyOne(store, fixtures.record(execution, [("load", "completed")]))
        XCTAssertEqual(try executionStatus(execution.id), "awaiting_input", "extract still awaits input")

        _ = try applyOne(store, fixtures.record(execution, [("extract", "completed")]))
        XCTAssertEqual(try executionStatus(execution.id), "running")
    }

    func testAwaitingThenResumedInOneRecordEndsRunning() throws {
        let execution = StoreFixtures.execution(status: "awaiting_input")
        let store = try makeMigratedStore([execution])

        _ = try applyOne(store, fixtures.record(execution, [("extract", "awaiting_input"), ("extract", "running")]))

        XCTAssertEqual(try executionStatus(execution.id), "running")
    }

    func testOtherExecutionStatusesAreUnchanged() throws {
        let execution = StoreFixtures.execution(status: "queued")
        let store = try makeMigratedStore([execution])

        _ = try applyOne(store, fixtures.record(execution, [("extract", "completed")]))

        XCTAssertEqual(try executionStatus(execution.id), "queued")
    }

    // MARK: - Duplicates

    func testRedeliveryIsDuplicate() throws {
        let execution = StoreFixtures.execution()
        let store = try makeMigratedStore([execution])
        let record = fixtures.record(execution, [("extract", "running")])

        XCTAssertNotNil(try applyOne(store, record).appliedRows)
        let again = try applyOne(store, record)

        XCTAssertTrue(again.isDuplicate, "\(again)")
        XCTAssertEqual(try store.stats().historyRows, 1)
    }

    func testRedeliveryWithinOneCallIsDuplicate() throws {
        let execution = StoreFixtures.execution()
        let store = try makeMigratedStore([execution])
        let record = fixtures.record(execution, [("extract", "running")])

        let outcomes = try store.apply([StoreFixtures.batch(record, record)])

        XCTAssertNotNil(outcomes[0][0].appliedRows)
        XCTAssertTrue(outcomes[0][1].isDuplicate, "\(outcomes[0][1])")
        XCTAssertEqual(try store.stats().historyRows, 1)
    }

    func testSameCoordinatesNewFingerprintIsApplied() throws {
        let execution = StoreFixtures.execution()
        let store = try makeMigratedStore([execution])
        let source = RecordSource(topic: StoreFixtures.topic, partition: 3, offset: 42, fingerprint: 1)
        var recreated = source
        recreated.fingerprint = 2

        _ = try applyOne(store, fixtures.record(executionID: execution.id, [("extract", "running")], source: source))
        let outcome = try applyOne(
            store, fixtures.record(executionID: execution.id, [("extract", "completed")], source: recreated))

        XCTAssertNotNil(outcome.appliedRows, "\(outcome)")
        XCTAssertEqual(try taskState(execution.id, "extract"), "completed")
        XCTAssertEqual(
            try queryText("SELECT fingerprint FROM applied_records WHERE source_partition = 3 AND source_offset = 42"),
            "2")
        let redelivered = try applyOne(
            store, fixtures.record(executionID: execution.id, [("extract", "completed")], source: recreated))
        XCTAssertTrue(redelivered.isDuplicate, "\(redelivered)")
    }

    func testSameCoordinatesTwiceInOneCallAreBothApplied() throws {
        let execution = StoreFixtures.execution()
        let store = try makeMigratedStore([execution])
        let source = RecordSource(topic: StoreFixtures.topic, partition: 1, offset: 7, fingerprint: 10)
        var recreated = source
        recreated.fingerprint = 11

        let outcomes = try store.apply([
            StoreFixtures.batch(
                fixtures.record(executionID: execution.id, [("extract", "running")], source: source),
                fixtures.record(executionID: execution.id, [("extract", "completed")], source: recreated)),
        ])

        XCTAssertNotNil(outcomes[0][0].appliedRows, "\(outcomes[0][0])")
        XCTAssertNotNil(outcomes[0][1].appliedRows, "\(outcomes[0][1])")
        XCTAssertEqual(try queryText("SELECT count(*) FROM applied_records"), "1")
        XCTAssertEqual(try queryText("SELECT fingerprint FROM applied_records"), "11")
    }

    func testEventIDDuplicateWithinCall() throws {
        let execution = StoreFixtures.execution()
        let store = try makeMigratedStore([execution])
        let first = fixtures.record(execution, [("extract", "running")], eventID: "event-1")
        let second = fixtures.record(execution, [("extract", "failed")], eventID: "event-1")

        let outcomes = try store.apply([StoreFixtures.batch(first), StoreFixtures.batch(second)])

        XCTAssertNotNil(outcomes[0][0].appliedRows)
        XCTAssertTrue(outcomes[1][0].isDuplicate, "\(outcomes[1][0])")
        XCTAssertEqual(try taskState(execution.id, "extract"), "running")
        XCTAssertEqual(try store.stats().historyRows, 1)
    }

    func testEventIDDuplicateAcrossCalls() throws {
        let execution = StoreFixtures.execution()
        let store = try makeMigratedStore([execution])

        _ = try applyOne(store, fixtures.record(execution, [("extract", "running")], eventID: "event-1"))
        let outcome = try applyOne(store, fixtures.record(execution, [("extract", "failed")], eventID: "event-1"))

        XCTAssertTrue(outcome.isDuplicate, "\(outcome)")
        XCTAssertEqual(try taskState(execution.id, "extract"), "running")
    }

    func testEventIDIsScopedToExecution() throws {
        let first = StoreFixtures.execution()
        let second = StoreFixtures.execution()
        let store = try makeMigratedStore([first, second])

        _ = try applyOne(store, fixtures.record(first, [("extract", "running")], eventID: "event-1"))
        let outcome = try applyOne(store, fixtures.record(second, [("extract", "running")], eventID: "event-1"))

        XCTAssertNotNil(outcome.appliedRows, "\(outcome)")
    }

    // MARK: - Rejections

    func testMissingExecutionIsNotFound() throws {
        let store = try makeMigratedStore([StoreFixtures.execution()])

        let outcome = try applyOne(store, fixtures.record(StoreFixtures.execution(), [("extract", "running")]))

        XCTAssertEqual(outcome.rejection?.code, .notFound)
        XCTAssertEqual(outcome.rejection?.httpStatus, 404)
        XCTAssertEqual(try store.stats().historyRows, 0)
    }

    func testDeletedExecutionIsNotFound() throws {
        let execution = StoreFixtures.execution(deleted: true)
        let store = try makeMigratedStore([execution])

        let outcome = try applyOne(store, fixtures.record(execution, [("extract", "running")]))

        XCTAssertEqual(outcome.rejection?.code, .notFound)
    }

    func testForeignOrganizationIsNotFound() throws {
        let execution = StoreFixtures.execution()
        let store = try makeMigratedStore([execution])

        let outcome = try applyOne(
            store,
            fixtures.record(execution, [("extract", "running")], organizationID: StoreFixtures.otherOrganizationID))

        XCTAssertEqual(outcome.rejection?.code, .notFound)
        XCTAssertEqual(try store.stats().historyRows, 0)
    }

    func testMatchingOrganizationIsApplied() throws {
        let execution = StoreFixtures.execution()
        let store = try makeMigratedStore([execution])

        let outcome = try applyOne(
            store, fixtures.record(execution, [("extract", "running")], organizationID: StoreFixtures.organizationID))

        XCTAssertNotNil(outcome.appliedRows, "\(outcome)")
    }

    func testUnknownTaskNamesAreBadRequest() throws {
        let execution = StoreFixtures.execution()
        let store = try makeMigratedStore([execution])
        let record = fixtures.record(execution, [("extract", "running"), ("deploy", "queued"), ("Load", "queued")])

        let outcome = try applyOne(store, record)

        let error = try XCTUnwrap(outcome.rejection, "\(outcome)")
        XCTAssertEqual(error.code, .badRequest)
        XCTAssertEqual(error.httpStatus, 400)
        let details = "\(error.details)"
        XCTAssertTrue(details.contains("deploy"), details)
        XCTAssertTrue(details.contains("Load"), details)
        XCTAssertEqual(try store.stats().historyRows, 0)
    }

    func testRejectedRecordDoesNotStopNeighbours() throws {
        let execution = StoreFixtures.execution()
        let store = try makeMigratedStore([execution])
        let good = fixtures.record(execution, [("extract", "running")])
        let unknown = fixtures.record(execution, [("deploy", "running")])
        let later = fixtures.record(execution, [("load", "running")])

        let outcomes = try store.apply([StoreFixtures.batch(good, unknown, later)])

        XCTAssertNotNil(outcomes[0][0].appliedRows)
        XCTAssertEqual(outcomes[0][1].rejection?.code, .badRequest)
        XCTAssertNotNil(outcomes[0][2].appliedRows)
        XCTAssertEqual(try store.stats().historyRows, 2)
    }

    // MARK: - Database rejections and failures

    func testDatabaseRejectionIsIsolated() throws {
        let execution = StoreFixtures.execution(taskNames: ["extract", "poison", "load"])
        let neighbour = StoreFixtures.execution()
        let store = try makeMigratedStore([execution, neighbour])
        try installPoisonTrigger()
        let before = fixtures.record(execution, [("extract", "running")], eventID: "before")
        let poisoned = fixtures.record(execution, [("load", "running"), ("poison", "running")], eventID: "poisoned")
        let after = fixtures.record(execution, [("load", "completed")])
        let other = fixtures.record(neighbour, [("extract", "awaiting_input")])

        let outcomes = try store.apply([StoreFixtures.batch(before, poisoned, after), StoreFixtures.batch(other)])

        XCTAssertNotNil(outcomes[0][0].appliedRows, "\(outcomes[0][0])")
        XCTAssertNotNil(outcomes[0][2].appliedRows, "\(outcomes[0][2])")
        XCTAssertNotNil(outcomes[1][0].appliedRows, "\(outcomes[1][0])")
        let error = try XCTUnwrap(outcomes[0][1].rejection, "\(outcomes[0][1])")
        XCTAssertEqual(error.code, .repositoryError)
        XCTAssertEqual(error.httpStatus, 500)
        XCTAssertEqual(error.message, "The database rejected the record's data")
        XCTAssertNotNil(error.details["sqlstate"]?.stringValue)
        let databaseMessage = try XCTUnwrap(error.details["message"]?.stringValue)
        XCTAssertTrue(databaseMessage.contains("poison"), databaseMessage)

        XCTAssertEqual(try store.stats().historyRows, 3)
        XCTAssertEqual(try taskState(execution.id, "load"), "completed")
        XCTAssertNil(try taskState(execution.id, "poison"))
        XCTAssertEqual(try executionStatus(neighbour.id), "awaiting_input")
        XCTAssertEqual(try queryText("SELECT count(*) FROM applied_events WHERE event_id = 'poisoned'"), "0")
    }

    func testRejectedRecordsEventIDStaysFree() throws {
        let execution = StoreFixtures.execution(taskNames: ["extract", "poison"])
        let store = try makeMigratedStore([execution])
        try installPoisonTrigger()
        let poisoned = fixtures.record(execution, [("poison", "running")], eventID: "event-1")
        let retried = fixtures.record(execution, [("extract", "running")], eventID: "event-1")

        let outcomes = try store.apply([StoreFixtures.batch(poisoned, retried)])

        XCTAssertEqual(outcomes[0][0].rejection?.code, .repositoryError)
        XCTAssertNotNil(outcomes[0][1].appliedRows, "\(outcomes[0][1])")
    }

    func testTransientFailureThenRecovery() throws {
        let execution = StoreFixtures.execution()
        let store = try makeMigratedStore([execution])
        _ = try applyOne(store, fixtures.record(execution, [("extract", "running")]))
        let record = fixtures.record(execution, [("extract", "completed"), ("load", "awaiting_input")])

        let restore = try interruptDatabase(of: store)
        XCTAssertThrowsError(try applyOne(store, record)) { error in
            guard case StoreError.transient = error else {
                return XCTFail("expected a transient error, got \(error)")
            }
        }
        try restore()

        XCTAssertEqual(try store.stats().historyRows, 1, "nothing of the failed call was kept")
        XCTAssertEqual(try executionStatus(execution.id), "running")
        let outcome = try applyOne(store, record)
        XCTAssertEqual(outcome.appliedRows?.count, 2, "\(outcome)")
        XCTAssertEqual(try store.stats().historyRows, 3)
        XCTAssertEqual(try executionStatus(execution.id), "awaiting_input")
    }

    func testFailureInLastBatchKeepsWholeCallOut() throws {
        var executions = (0..<500).map { _ in StoreFixtures.execution() }
        executions[499].taskNames.append("explode")
        let store = try makeMigratedStore(executions)
        try installTransientFailureTrigger()
        var batches = executions.map { StoreFixtures.batch(fixtures.record($0, [("extract", "awaiting_input")])) }
        batches[499] = StoreFixtures.batch(fixtures.record(executions[499], [("explode", "running")]))

        XCTAssertThrowsError(try store.apply(batches)) { error in
            guard case StoreError.transient = error else {
                return XCTFail("expected a transient error, got \(error)")
            }
        }

        let stats = try store.stats()
        XCTAssertEqual(stats.historyRows, 0)
        XCTAssertEqual(stats.taskStates, 0)
        XCTAssertEqual(stats.executionsAwaitingInput, 0)
        XCTAssertEqual(try queryText("SELECT count(*) FROM applied_records"), "0")
    }

    // MARK: - Many executions

    func testManyExecutionsInOneCall() throws {
        let executions = (0..<500).map { _ in StoreFixtures.execution() }
        let store = try makeMigratedStore(executions)
        let batches = executions.enumerated().map { index, execution in
            StoreFixtures.batch(
                fixtures.record(execution, [("extract", "completed"), ("transform", "running")]),
                fixtures.record(execution, [("transform", index.isMultiple(of: 2) ? "awaiting_input" : "completed")]))
        }

        let outcomes = try store.apply(batches)

        XCTAssertEqual(outcomes.count, 500)
        XCTAssertTrue(outcomes.allSatisfy { $0.count == 2 })
        XCTAssertTrue(outcomes.allSatisfy { $0.allSatisfy { $0.appliedRows != nil } })
        let stats = try store.stats()
        XCTAssertEqual(stats.historyRows, 1500)
        XCTAssertEqual(stats.taskStates, 1000)
        XCTAssertEqual(stats.executionsAwaitingInput, 250)
        XCTAssertEqual(stats.executions, 500)
    }

    // MARK: - Pruning applied records

    /// Applies one record at each of `offsets` of `partition`, with `topic` as its source.
    private func applyRecords(
        _ store: any TaskStatusStore, _ execution: FlowExecution, topic: String = StoreFixtures.topic,
        partition: Int32, offsets: Range<Int64>
    ) throws {
        let records = offsets.map { offset in
            fixtures.record(
                executionID: execution.id, [("extract", "running")],
                source: RecordSource(topic: topic, partition: partition, offset: offset, fingerprint: 1))
        }
        _ = try store.apply([ExecutionBatch(flowExecutionID: execution.id, records: records)])
    }

    func testPruneDeletesOnlyRowsBelowOffset() throws {
        let execution = StoreFixtures.execution()
        let store = try makeMigratedStore([execution])
        try applyRecords(store, execution, partition: 0, offsets: 0..<10)
        try applyRecords(store, execution, partition: 1, offsets: 0..<10)
        try applyRecords(store, execution, topic: "other-topic", partition: 0, offsets: 0..<10)

        XCTAssertEqual(try store.appliedRecordCount(topic: StoreFixtures.topic, partition: 0, before: 6), 6)
        let deleted = try store.deleteAppliedRecords(topic: StoreFixtures.topic, partition: 0, before: 6, limit: 100)

        XCTAssertEqual(deleted, 6)
        XCTAssertEqual(try store.appliedRecordCount(topic: StoreFixtures.topic, partition: 0, before: 10), 4)
        XCTAssertEqual(try store.appliedRecordCount(topic: StoreFixtures.topic, partition: 1, before: 10), 10)
        XCTAssertEqual(try store.appliedRecordCount(topic: "other-topic", partition: 0, before: 10), 10)
        XCTAssertEqual(try store.stats().historyRows, 30, "pruning leaves the history alone")
    }

    func testPruneRespectsLimitLowestFirst() throws {
        let execution = StoreFixtures.execution()
        let store = try makeMigratedStore([execution])
        try applyRecords(store, execution, partition: 2, offsets: 0..<10)

        XCTAssertEqual(try store.deleteAppliedRecords(topic: StoreFixtures.topic, partition: 2, before: 8, limit: 3), 3)
        XCTAssertEqual(try store.appliedRecordCount(topic: StoreFixtures.topic, partition: 2, before: 3), 0)
        XCTAssertEqual(try store.appliedRecordCount(topic: StoreFixtures.topic, partition: 2, before: 8), 5)

        XCTAssertEqual(try store.deleteAppliedRecords(topic: StoreFixtures.topic, partition: 2, before: 8, limit: 3), 3)
        XCTAssertEqual(try store.deleteAppliedRecords(topic: StoreFixtures.topic, partition: 2, before: 8, limit: 3), 2)
        XCTAssertEqual(try store.deleteAppliedRecords(topic: StoreFixtures.topic, partition: 2, before: 8, limit: 3), 0)
        XCTAssertEqual(try store.appliedRecordCount(topic: StoreFixtures.topic, partition: 2, before: 10), 2)
    }

    func testPrunedSourceAboveOffsetStaysDuplicate() throws {
        let execution = StoreFixtures.execution()
        let store = try makeMigratedStore([execution])
        let retained = fixtures.record(
            executionID: execution.id, [("extract", "running")],
            source: RecordSource(topic: StoreFixtures.topic, partition: 0, offset: 5, fingerprint: 1))
        try applyRecords(store, execution, partition: 0, offsets: 0..<5)
        XCTAssertNotNil(try applyOne(store, retained).appliedRows)

        _ = try store.deleteAppliedRecords(topic: StoreFixtures.topic, partition: 0, before: 5, limit: 100)

        XCTAssertTrue(try applyOne(store, retained).isDuplicate)
    }

    // MARK: - Stats

    func testStatsDigestMatchesKnownLines() throws {
        let first = StoreFixtures.execution(id: UUIDText.parseCanonical("0190A5B2-0000-7000-8000-000000000001")!)
        let second = StoreFixtures.execution(
            id: UUIDText.parseCanonical("0190a5b2-0000-7000-8000-000000000002")!, taskNames: ["extract", "Load"])
        let store = try makeMigratedStore([first, second])

        _ = try store.apply([
            StoreFixtures.batch(fixtures.record(second, [("extract", "running"), ("Load", "awaiting_input")])),
            StoreFixtures.batch(fixtures.record(first, [("load", "running"), ("extract", "completed"), ("load", nil)])),
        ])

        // The lines, sorted by id then by task name in byte order ("Load" before "extract"):
        // 0190a5b2-0000-7000-8000-000000000001\textract\tcompleted\n
        // 0190a5b2-0000-7000-8000-000000000001\tload\t\n
        // 0190a5b2-0000-7000-8000-000000000002\tLoad\tawaiting_input\n
        // 0190a5b2-0000-7000-8000-000000000002\textract\trunning\n
        // hashed with `sha256sum`.
        let stats = try store.stats()
        XCTAssertEqual(stats.taskStatesSHA256, "3c8d078ec1e37ad2464a8fed7af8a8791ba759573ca2b96c883721313501c48f")
        XCTAssertEqual(stats.taskStates, 4)
        XCTAssertEqual(stats.historyRows, 5)
        XCTAssertEqual(stats.executionsAwaitingInput, 1)
        XCTAssertEqual(stats.executions, 2)
    }

    func testEmptyStoreDigestIsHashOfNothing() throws {
        let store = try makeMigratedStore()

        XCTAssertEqual(
            try store.stats().taskStatesSHA256, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    }
}
