import Foundation
import StatusCore

/// The production store: PostgreSQL over libpq.
///
/// A lost connection fails the call in progress with `StoreError.transient`; the next call connects
/// again and prepares its statements again, so the caller only retries.
public final class PostgresStore: TaskStatusStore {
    /// Rows per `INSERT` when importing executions: keeps each statement's parameters to a few megabytes.
    static let importChunkSize = 5_000
    /// Key of the advisory lock that lets one worker at a time migrate the schema.
    static let migrationLockKey: Int64 = 0x7374_6174_7573  // "status" in ASCII

    private let uri: String
    private var connection: PostgresConnection?
    private var clock: HistoryClock

    /// Connects to the server.
    ///
    /// - Parameter uri: a `postgresql://` or `postgres://` URI, passed to libpq unchanged.
    /// - Throws: `StoreError.configuration` when libpq cannot parse the URI, `StoreError.transient`
    ///   when the server cannot be reached or rejects the login.
    public init(uri: String) throws {
        self.uri = uri
        self.clock = HistoryClock()
        do {
            connection = try PostgresConnection(uri: uri)
        } catch DatabaseFailure.transient(let message) {
            throw StoreError.transient(message)
        }
    }

    public func close() {
        connection?.close()
        connection = nil
    }

    /// The server process of the current connection, or 0 when disconnected: for operators and tests
    /// that need to find the session in `pg_stat_activity`.
    public var backendProcessID: Int32 {
        connection?.backendProcessID ?? 0
    }

    // MARK: - Schema

    @discardableResult
    public func migrate() throws -> SchemaVersions {
        let connection = try openConnection()
        var versions = SchemaVersions(before: 0, after: 0)
        try inTransaction(connection) {
            try connection.query("SELECT pg_advisory_xact_lock($1)", [String(Self.migrationLockKey)])
            try connection.execute(SchemaMigration.postgresLedger)
            let current = Int(try connection.execute(
                "SELECT coalesce(max(version), 0) FROM schema_migrations").text(0, 0) ?? "0") ?? 0

            let migrations = SchemaMigration.postgres
            let latest = migrations.last?.version ?? 0
            if current > latest {
                throw StoreError.configuration(
                    "the PostgreSQL database has schema version \(current), but this build knows versions "
                        + "up to \(latest). Run a newer status-ingest, or point it at another database or schema.")
            }
            for migration in migrations where migration.version > current {
                for statement in migration.statements {
                    try connection.execute(statement)
                }
                try connection.query(
                    "INSERT INTO schema_migrations (version) VALUES ($1)", [String(migration.version)])
            }
            versions = SchemaVersions(before: current, after: max(current, latest))
        }
        return versions
    }

    // MARK: - Executions

    @discardableResult
    public func importExecutions(_ executions: [FlowExecution]) throws -> Int {
        // One statement cannot upsert a row twice, so a repeated id keeps its last line, as a
        // sequence of single upserts would.
        var lastIndexByID: [UUID: Int] = [:]
        for (index, execution) in executions.enumerated() {
            lastIndexByID[execution.id] = index
        }
        let unique = executions.indices.filter { lastIndexByID[executions[$0].id] == $0 }.map { executions[$0] }

        let connection = try openConnection()
        try inTransaction(connection) {
            var start = 0
            while start < unique.count {
                let chunk = unique[start..<min(start + Self.importChunkSize, unique.count)]
                try importChunk(chunk, connection: connection)
                start += Self.importChunkSize
            }
        }
        return executions.count
    }

    private func importChunk(_ chunk: ArraySlice<FlowExecution>, connection: PostgresConnection) throws {
        try connection.prepared(
            "import_executions",
            """
            INSERT INTO flow_executions (id, organization_id, flow_id, task_names, status, deleted, updated_at)
            SELECT u.id, u.organization_id, u.flow_id,
                   ARRAY(SELECT json_array_elements_text(u.task_names)), u.status, u.deleted, now()
            FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::json[], $5::text[], $6::boolean[])
                AS u(id, organization_id, flow_id, task_names, status, deleted)
            ON CONFLICT (id) DO UPDATE SET
                organization_id = EXCLUDED.organization_id, flow_id = EXCLUDED.flow_id,
                task_names = EXCLUDED.task_names, status = EXCLUDED.status,
                deleted = EXCLUDED.deleted, updated_at = EXCLUDED.updated_at
            """,
            [
                PostgresArray.plainLiteral(chunk.map { UUIDText.canonicalLowercase($0.id) }),
                PostgresArray.plainLiteral(chunk.map { UUIDText.canonicalLowercase($0.organizationID) }),
                PostgresArray.plainLiteral(chunk.map { UUIDText.canonicalLowercase($0.flowID) }),
                try PostgresArray.literal(chunk.map { TaskNamesJSON.encode($0.taskNames) }),
                try PostgresArray.literal(chunk.map { $0.status }),
                PostgresArray.plainLiteral(chunk.map { $0.deleted ? "true" : "false" }),
            ])
    }

    // MARK: - Apply

    public func apply(_ batches: [ExecutionBatch]) throws -> [[RecordOutcome]] {
        let connection = try openConnection()
        do {
            try connection.connectIfNeeded()
        } catch DatabaseFailure.transient(let message) {
            throw StoreError.transient(message)
        }
        var procedure = ApplyProcedure(database: PostgresApplyDatabase(connection: connection), clock: clock)
        defer { clock = procedure.clock }
        return try procedure.run(batches)
    }

    // MARK: - Stats

    public func stats() throws -> StoreStats {
        let connection = try openConnection()
        var stats: StoreStats?
        // One REPEATABLE READ snapshot, so the counts and the digest describe the same moment.
        try inTransaction(connection, begin: "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY") {
            let counts = try connection.query(
                "SELECT (SELECT count(*) FROM task_status_history), (SELECT count(*) FROM flow_executions), "
                    + "(SELECT count(*) FROM flow_executions WHERE status = $1)",
                [ExecutionRules.awaitingInput])
            // NOTE: every current state is held in memory at once, so memory grows with the task count.
            // That suits checking runs and benchmarks, not a production table of many millions of tasks.
            let states = try connection.execute("SELECT flow_execution_id::text, task_name, status FROM task_states")

            var digest = TaskStateDigest()
            for row in 0..<states.rowCount {
                digest.add(executionID: states.text(row, 0) ?? "", taskName: states.text(row, 1) ?? "",
                           status: states.text(row, 2))
            }
            stats = StoreStats(
                historyRows: Int(counts.text(0, 0) ?? "") ?? 0,
                taskStates: digest.count,
                taskStatesSHA256: digest.hexDigest(),
                executionsAwaitingInput: Int(counts.text(0, 2) ?? "") ?? 0,
                executions: Int(counts.text(0, 1) ?? "") ?? 0)
        }
        guard let stats else {
            throw StoreError.transient("the statistics query returned no rows")
        }
        return stats
    }

    // MARK: - Pruning

    public func appliedRecordCount(topic: String, partition: Int32, before offset: Int64) throws -> Int {
        let connection = try openConnection()
        var count = 0
        try inTransaction(connection) {
            let result = try connection.query(
                "SELECT count(*) FROM applied_records "
                    + "WHERE source_topic = $1 AND source_partition = $2 AND source_offset < $3",
                [topic, String(partition), String(offset)])
            count = Int(result.text(0, 0) ?? "") ?? 0
        }
        return count
    }

    public func deleteAppliedRecords(topic: String, partition: Int32, before offset: Int64, limit: Int) throws -> Int {
        let connection = try openConnection()
        var deleted = 0
        try inTransaction(connection) {
            // The subquery walks the primary key from the lowest offset, so each call touches at most
            // `limit` rows and holds their locks only briefly.
            let result = try connection.query(
                """
                WITH doomed AS (
                    SELECT source_offset FROM applied_records
                    WHERE source_topic = $1 AND source_partition = $2 AND source_offset < $3
                    ORDER BY source_offset LIMIT $4
                ), deleted AS (
                    DELETE FROM applied_records a USING doomed d
                    WHERE a.source_topic = $1 AND a.source_partition = $2 AND a.source_offset = d.source_offset
                    RETURNING 1
                )
                SELECT count(*) FROM deleted
                """,
                [topic, String(partition), String(offset), String(limit)])
            deleted = Int(result.text(0, 0) ?? "") ?? 0
        }
        return deleted
    }

    // MARK: - Helpers

    private func openConnection() throws -> PostgresConnection {
        guard let connection else {
            throw StoreError.configuration("the PostgreSQL store is closed; open a new one")
        }
        return connection
    }

    /// Runs `body` in a transaction, rolling back on any error and turning database failures into
    /// `StoreError`s.
    private func inTransaction(
        _ connection: PostgresConnection, begin: String = "BEGIN", _ body: () throws -> Void
    ) throws {
        do {
            try connection.execute(begin)
            do {
                try body()
                try connection.execute("COMMIT")
            } catch {
                connection.rollbackQuietly()
                throw error
            }
        } catch DatabaseFailure.transient(let message) {
            throw StoreError.transient(message)
        } catch DatabaseFailure.dataRejected(let sqlState, let message) {
            throw StoreError.transient("PostgreSQL rejected the data (\(sqlState)): \(message)")
        }
    }
}
