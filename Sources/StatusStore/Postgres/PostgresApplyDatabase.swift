import Foundation
import StatusCore

/// `ApplyDatabase` over PostgreSQL: one prepared statement per step for the whole call, each table's
/// rows passed as arrays and expanded with `unnest`, so a call costs the same few round trips
/// whether it carries one record or thousands.
final class PostgresApplyDatabase: ApplyDatabase {
    private let connection: PostgresConnection

    init(connection: PostgresConnection) {
        self.connection = connection
    }

    // MARK: - Transaction

    func begin() throws {
        try connection.execute("BEGIN")
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
        try connection.execute("ROLLBACK TO SAVEPOINT apply_unit")
    }

    func releaseSavepoint() throws {
        try connection.execute("RELEASE SAVEPOINT apply_unit")
    }

    // MARK: - Reads

    func loadExecutions(_ ids: [UUID]) throws -> [UUID: FlowExecution] {
        // Locking in id order means two workers sharing executions wait for each other instead of deadlocking.
        let result = try connection.prepared(
            "load_executions",
            "SELECT id, organization_id, flow_id, to_json(task_names)::text, status, deleted "
                + "FROM flow_executions WHERE id = ANY($1::uuid[]) ORDER BY id FOR UPDATE",
            binaryParameters: [Self.uuidColumn(ids)])

        var executions: [UUID: FlowExecution] = [:]
        for row in 0..<result.rowCount {
            let execution = try Self.decodeExecution(result, row: row)
            executions[execution.id] = execution
        }
        return executions
    }

    static func decodeExecution(_ result: PostgresResult, row: Int) throws -> FlowExecution {
        let idText = result.text(row, 0) ?? ""
        guard let id = UUIDText.parseCanonical(idText),
              let organizationID = result.text(row, 1).flatMap(UUIDText.parseCanonical),
              let flowID = result.text(row, 2).flatMap(UUIDText.parseCanonical),
              let taskNames = result.text(row, 3).flatMap(TaskNamesJSON.decode),
              let status = result.text(row, 4)
        else {
            throw DatabaseFailure.transient(
                "the flow_executions row \"\(idText)\" is malformed; import the execution again")
        }
        return FlowExecution(
            id: id, organizationID: organizationID, flowID: flowID, taskNames: taskNames, status: status,
            deleted: result.text(row, 5) == "t")
    }

    func loadFingerprints(_ sources: [SourceCoordinates]) throws -> [SourceCoordinates: Int64] {
        let result = try connection.prepared(
            "load_fingerprints",
            "SELECT a.source_topic, a.source_partition, a.source_offset, a.fingerprint FROM applied_records a "
                + "JOIN unnest($1::text[], $2::integer[], $3::bigint[]) AS s(topic, partition_number, record_offset) "
                + "ON a.source_topic = s.topic AND a.source_partition = s.partition_number "
                + "AND a.source_offset = s.record_offset",
            binaryParameters: try Self.coordinateColumns(sources))

        var fingerprints: [SourceCoordinates: Int64] = [:]
        for row in 0..<result.rowCount {
            guard let topic = result.text(row, 0),
                  let partition = result.text(row, 1).flatMap({ Int32($0) }),
                  let offset = result.text(row, 2).flatMap({ Int64($0) }),
                  let fingerprint = result.text(row, 3).flatMap({ Int64($0) })
            else { continue }
            fingerprints[SourceCoordinates(topic: topic, partition: partition, offset: offset)] = fingerprint
        }
        return fingerprints
    }

    func loadAppliedEvents(_ keys: [EventKey]) throws -> Set<EventKey> {
        // An id containing U+0000 cannot have been stored, and libpq cannot send it.
        let keys = keys.filter { !$0.eventID.utf8.contains(0) }
        let result = try connection.prepared(
            "load_applied_events",
            "SELECT e.flow_execution_id, e.event_id FROM applied_events e "
                + "JOIN unnest($1::uuid[], $2::text[]) AS k(flow_execution_id, event_id) "
                + "ON e.flow_execution_id = k.flow_execution_id AND e.event_id = k.event_id",
            [
                PostgresArray.plainLiteral(keys.map { UUIDText.canonicalLowercase($0.flowExecutionID) }),
                try PostgresArray.literal(keys.map { $0.eventID }),
            ])

        var applied: Set<EventKey> = []
        for row in 0..<result.rowCount {
            guard let id = result.text(row, 0).flatMap(UUIDText.parseCanonical),
                  let eventID = result.text(row, 1)
            else { continue }
            applied.insert(EventKey(flowExecutionID: id, eventID: eventID))
        }
        return applied
    }

    func executionsWithTaskAwaitingInput(_ ids: [UUID]) throws -> Set<UUID> {
        let result = try connection.prepared(
            "executions_awaiting_input",
            "SELECT DISTINCT flow_execution_id FROM task_states "
                + "WHERE flow_execution_id = ANY($1::uuid[]) AND status = $2",
            binaryParameters: [Self.uuidColumn(ids), Array(ExecutionRules.awaitingInput.utf8)])

        var awaiting: Set<UUID> = []
        for row in 0..<result.rowCount {
            if let id = result.text(row, 0).flatMap(UUIDText.parseCanonical) {
                awaiting.insert(id)
            }
        }
        return awaiting
    }

    private static func uuidColumn(_ ids: [UUID]) -> [UInt8] {
        var column = PostgresBinaryArray(elementType: .uuid, capacity: ids.count)
        for id in ids {
            column.append(id)
        }
        return column.encoded()
    }

    private static func coordinateColumns(_ sources: [SourceCoordinates]) throws -> [[UInt8]] {
        var topics = PostgresBinaryArray(elementType: .text, capacity: sources.count)
        var partitions = PostgresBinaryArray(elementType: .integer, capacity: sources.count)
        var offsets = PostgresBinaryArray(elementType: .bigint, capacity: sources.count)
        for source in sources {
            try topics.append(source.topic)
            partitions.append(source.partition)
            offsets.append(source.offset)
        }
        return [topics, partitions, offsets].map { $0.encoded() }
    }

    // MARK: - Writes

    /// Writes all four tables with one statement: data-modifying CTEs run in a single round trip.
    /// Task states hold one row per key, because `ON CONFLICT DO UPDATE` cannot touch a row twice.
    /// Columns travel as binary arrays, which the server reads without parsing text.
    ///
    /// Applied sources are inserted without `ON CONFLICT`, which would probe the key a second time,
    /// because the planner knows which coordinates already have a row. A row that another writer
    /// inserted meanwhile fails the insert with a unique violation, which `PostgresConnection` turns
    /// into a transient failure so that the retried call finds the source and reports a duplicate.
    func write(_ changes: StoreChanges) throws {
        let appliedRecords = changes.sortedAppliedRecords
        try connection.prepared(
            "write_changes",
            """
            WITH history AS (
                INSERT INTO task_status_history (id, flow_execution_id, organization_id, task_name, status, created_at)
                SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::text[], $5::text[], $6::timestamptz[])
            ), states AS (
                INSERT INTO task_states (flow_execution_id, task_name, status, updated_at)
                SELECT * FROM unnest($7::uuid[], $8::text[], $9::text[], $10::timestamptz[])
                ON CONFLICT (flow_execution_id, task_name)
                DO UPDATE SET status = EXCLUDED.status, updated_at = EXCLUDED.updated_at
            ), new_records AS (
                INSERT INTO applied_records (source_topic, source_partition, source_offset, fingerprint)
                SELECT * FROM unnest($11::text[], $12::integer[], $13::bigint[], $14::bigint[])
            ), replaced_records AS (
                UPDATE applied_records AS a SET fingerprint = r.fingerprint, applied_at = now()
                FROM unnest($15::text[], $16::integer[], $17::bigint[], $18::bigint[])
                    AS r(topic, partition_number, record_offset, fingerprint)
                WHERE a.source_topic = r.topic AND a.source_partition = r.partition_number
                    AND a.source_offset = r.record_offset
            )
            INSERT INTO applied_events (flow_execution_id, event_id)
            SELECT * FROM unnest($19::uuid[], $20::text[])
            """,
            binaryParameters: try Self.historyColumns(changes.historyRows)
                + Self.taskStateColumns(changes.sortedTaskStates)
                + Self.appliedRecordColumns(appliedRecords.filter { !$0.replacesStoredRow }.map(\.source))
                + Self.appliedRecordColumns(appliedRecords.filter(\.replacesStoredRow).map(\.source))
                + Self.appliedEventColumns(changes.appliedEvents))
    }

    private static func historyColumns(_ rows: [HistoryRow]) throws -> [[UInt8]] {
        var ids = PostgresBinaryArray(elementType: .uuid, capacity: rows.count)
        var executionIDs = PostgresBinaryArray(elementType: .uuid, capacity: rows.count)
        var organizationIDs = PostgresBinaryArray(elementType: .uuid, capacity: rows.count)
        var taskNames = PostgresBinaryArray(elementType: .text, capacity: rows.count)
        var statuses = PostgresBinaryArray(elementType: .text, capacity: rows.count)
        var createdAts = PostgresBinaryArray(elementType: .timestamptz, capacity: rows.count)
        for row in rows {
            ids.append(row.id)
            executionIDs.append(row.flowExecutionID)
            organizationIDs.append(row.organizationID)
            try taskNames.append(row.taskName)
            try statuses.append(row.status)
            createdAts.append(row.createdAt)
        }
        return [ids, executionIDs, organizationIDs, taskNames, statuses, createdAts].map { $0.encoded() }
    }

    private static func taskStateColumns(_ states: [TaskStateWrite]) throws -> [[UInt8]] {
        var executionIDs = PostgresBinaryArray(elementType: .uuid, capacity: states.count)
        var taskNames = PostgresBinaryArray(elementType: .text, capacity: states.count)
        var statuses = PostgresBinaryArray(elementType: .text, capacity: states.count)
        var updatedAts = PostgresBinaryArray(elementType: .timestamptz, capacity: states.count)
        for state in states {
            executionIDs.append(state.key.flowExecutionID)
            try taskNames.append(state.key.taskName)
            try statuses.append(state.status)
            updatedAts.append(state.updatedAt)
        }
        return [executionIDs, taskNames, statuses, updatedAts].map { $0.encoded() }
    }

    private static func appliedRecordColumns(_ sources: [RecordSource]) throws -> [[UInt8]] {
        var topics = PostgresBinaryArray(elementType: .text, capacity: sources.count)
        var partitions = PostgresBinaryArray(elementType: .integer, capacity: sources.count)
        var offsets = PostgresBinaryArray(elementType: .bigint, capacity: sources.count)
        var fingerprints = PostgresBinaryArray(elementType: .bigint, capacity: sources.count)
        for source in sources {
            try topics.append(source.topic)
            partitions.append(source.partition)
            offsets.append(source.offset)
            fingerprints.append(source.fingerprint)
        }
        return [topics, partitions, offsets, fingerprints].map { $0.encoded() }
    }

    private static func appliedEventColumns(_ events: [EventKey]) throws -> [[UInt8]] {
        var executionIDs = PostgresBinaryArray(elementType: .uuid, capacity: events.count)
        var eventIDs = PostgresBinaryArray(elementType: .text, capacity: events.count)
        for event in events {
            executionIDs.append(event.flowExecutionID)
            try eventIDs.append(event.eventID)
        }
        return [executionIDs, eventIDs].map { $0.encoded() }
    }

    func updateExecutionStatuses(_ statuses: [UUID: String]) throws {
        let sorted = statuses.sorted { $0.key.precedesInByteOrder($1.key) }
        try connection.prepared(
            "update_execution_statuses",
            "UPDATE flow_executions AS e SET status = u.status, updated_at = now() "
                + "FROM unnest($1::uuid[], $2::text[]) AS u(id, status) WHERE e.id = u.id",
            [
                PostgresArray.plainLiteral(sorted.map { UUIDText.canonicalLowercase($0.key) }),
                try PostgresArray.literal(sorted.map { $0.value }),
            ])
    }
}
