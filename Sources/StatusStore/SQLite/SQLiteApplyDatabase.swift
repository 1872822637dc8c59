import Foundation
import StatusCore

/// `ApplyDatabase` over SQLite: one prepared statement per operation, run once per row, in one
/// `BEGIN IMMEDIATE` transaction. SQLite runs in-process, so a statement per row costs no round trip.
final class SQLiteApplyDatabase: ApplyDatabase {
    private let connection: SQLiteConnection

    init(connection: SQLiteConnection) {
        self.connection = connection
    }

    // MARK: - Transaction

    func begin() throws {
        // IMMEDIATE takes the write lock now, so a busy database fails here and not halfway through.
        try connection.execute("BEGIN IMMEDIATE")
    }

    func commit() throws {
        try connection.execute("COMMIT")
    }

    func rollback() {
        connection.rollbackQuietly()
    }

    func createSavepoint() throws {
        try connection.execute("SAVEPOINT apply_unit")
    }

    func rollbackToSavepoint() throws {
        try connection.execute("ROLLBACK TO apply_unit")
    }

    func releaseSavepoint() throws {
        try connection.execute("RELEASE apply_unit")
    }

    // MARK: - Reads

    func loadExecutions(_ ids: [UUID]) throws -> [UUID: FlowExecution] {
        let statement = try connection.statement(
            "SELECT id, organization_id, flow_id, task_names, status, deleted FROM flow_executions WHERE id = ?")
        var executions: [UUID: FlowExecution] = [:]
        for id in ids {
            try statement.run([.text(UUIDText.canonicalLowercase(id))]) { row in
                executions[id] = try Self.decodeExecution(row)
            }
        }
        return executions
    }

    static func decodeExecution(_ row: SQLiteRow) throws -> FlowExecution {
        let idText = row.text(0) ?? ""
        guard let id = UUIDText.parseCanonical(idText),
              let organizationID = row.text(1).flatMap(UUIDText.parseCanonical),
              let flowID = row.text(2).flatMap(UUIDText.parseCanonical),
              let taskNames = row.text(3).flatMap(TaskNamesJSON.decode),
              let status = row.text(4)
        else {
            throw DatabaseFailure.transient(
                "the flow_executions row \"\(idText)\" is malformed; import the execution again")
        }
        return FlowExecution(
            id: id, organizationID: organizationID, flowID: flowID, taskNames: taskNames, status: status,
            deleted: row.integer(5) != 0)
    }

    func loadFingerprints(_ sources: [SourceCoordinates]) throws -> [SourceCoordinates: Int64] {
        let statement = try connection.statement(
            "SELECT fingerprint FROM applied_records "
                + "WHERE source_topic = ? AND source_partition = ? AND source_offset = ?")
        var fingerprints: [SourceCoordinates: Int64] = [:]
        for source in sources {
            try statement.run([.text(source.topic), .integer(Int64(source.partition)), .integer(source.offset)]) {
                fingerprints[source] = $0.integer(0)
            }
        }
        return fingerprints
    }

    func loadAppliedEvents(_ keys: [EventKey]) throws -> Set<EventKey> {
        let statement = try connection.statement(
            "SELECT 1 FROM applied_events WHERE flow_execution_id = ? AND event_id = ?")
        var applied: Set<EventKey> = []
        for key in keys {
            try statement.run([.text(UUIDText.canonicalLowercase(key.flowExecutionID)), .text(key.eventID)]) { _ in
                applied.insert(key)
            }
        }
        return applied
    }

    func executionsWithTaskAwaitingInput(_ ids: [UUID]) throws -> Set<UUID> {
        let statement = try connection.statement(
            "SELECT 1 FROM task_states WHERE flow_execution_id = ? AND status = ? LIMIT 1")
        var awaiting: Set<UUID> = []
        for id in ids {
            try statement.run([.text(UUIDText.canonicalLowercase(id)), .text(ExecutionRules.awaitingInput)]) { _ in
                awaiting.insert(id)
            }
        }
        return awaiting
    }

    // MARK: - Writes

    func write(_ changes: StoreChanges) throws {
        let now = TimestampText.format(Date())

        let insertHistory = try connection.statement(
            "INSERT INTO task_status_history (id, flow_execution_id, organization_id, task_name, status, created_at) "
                + "VALUES (?, ?, ?, ?, ?, ?)")
        for row in changes.historyRows {
            try insertHistory.run([
                .text(UUIDText.canonicalLowercase(row.id)), .text(UUIDText.canonicalLowercase(row.flowExecutionID)),
                .text(UUIDText.canonicalLowercase(row.organizationID)), .text(row.taskName), .optionalText(row.status),
                .text(TimestampText.format(row.createdAt)),
            ])
        }

        let upsertState = try connection.statement(
            "INSERT INTO task_states (flow_execution_id, task_name, status, updated_at) VALUES (?, ?, ?, ?) "
                + "ON CONFLICT (flow_execution_id, task_name) "
                + "DO UPDATE SET status = excluded.status, updated_at = excluded.updated_at")
        for state in changes.sortedTaskStates {
            try upsertState.run([
                .text(UUIDText.canonicalLowercase(state.key.flowExecutionID)), .text(state.key.taskName),
                .optionalText(state.status), .text(TimestampText.format(state.updatedAt)),
            ])
        }

        let upsertRecord = try connection.statement(
            "INSERT INTO applied_records (source_topic, source_partition, source_offset, fingerprint, applied_at) "
                + "VALUES (?, ?, ?, ?, ?) ON CONFLICT (source_topic, source_partition, source_offset) "
                + "DO UPDATE SET fingerprint = excluded.fingerprint, applied_at = excluded.applied_at")
        for source in changes.sortedAppliedRecords.map(\.source) {
            try upsertRecord.run([
                .text(source.topic), .integer(Int64(source.partition)), .integer(source.offset),
                .integer(source.fingerprint), .text(now),
            ])
        }

        let insertEvent = try connection.statement(
            "INSERT INTO applied_events (flow_execution_id, event_id) VALUES (?, ?)")
        for event in changes.appliedEvents {
            try insertEvent.run([.text(UUIDText.canonicalLowercase(event.flowExecutionID)), .text(event.eventID)])
        }
    }

    func updateExecutionStatuses(_ statuses: [UUID: String]) throws {
        let now = TimestampText.format(Date())
        let statement = try connection.statement(
            "UPDATE flow_executions SET status = ?, updated_at = ? WHERE id = ?")
        for (id, status) in statuses.sorted(by: { $0.key.precedesInByteOrder($1.key) }) {
            try statement.run([.text(status), .text(now), .text(UUIDText.canonicalLowercase(id))])
        }
    }
}
