/// One numbered step of the schema, in the dialect of one database.
///
/// Migrations only ever get appended: a released version's statements never change, so every database
/// that recorded a version in `schema_migrations` has exactly that schema.
struct SchemaMigration {
    let version: Int
    let summary: String
    let statements: [String]
}

extension SchemaMigration {
    static let postgresLedger = """
        CREATE TABLE IF NOT EXISTS schema_migrations (
            version integer PRIMARY KEY,
            applied_at timestamptz NOT NULL DEFAULT now()
        )
        """

    static let sqliteLedger = """
        CREATE TABLE IF NOT EXISTS schema_migrations (
            version INTEGER PRIMARY KEY,
            applied_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
        )
        """

    // MARK: - PostgreSQL

    /// NOTE: there are no foreign keys from history and task states to `flow_executions`: every apply
    /// already reads and locks the execution, and a key check per row would cost insert throughput.
    static let postgres: [SchemaMigration] = [
        SchemaMigration(
            version: 1,
            summary: "flow executions, task status history, current task states, redelivery guards",
            statements: [
                """
                CREATE TABLE flow_executions (
                    id uuid PRIMARY KEY,
                    organization_id uuid NOT NULL,
                    flow_id uuid NOT NULL,
                    task_names text[] NOT NULL,
                    status text NOT NULL,
                    deleted boolean NOT NULL DEFAULT false,
                    updated_at timestamptz NOT NULL DEFAULT now()
                )
                """,
                """
                CREATE TABLE task_status_history (
                    id uuid PRIMARY KEY,
                    flow_execution_id uuid NOT NULL,
                    organization_id uuid NOT NULL,
                    task_name varchar(255) NOT NULL,
                    status varchar(50),
                    created_at timestamptz NOT NULL
                )
                """,
                """
                CREATE INDEX task_status_history_execution_created_at
                    ON task_status_history (flow_execution_id, created_at)
                """,
                """
                CREATE TABLE task_states (
                    flow_execution_id uuid NOT NULL,
                    task_name varchar(255) NOT NULL,
                    status varchar(50),
                    updated_at timestamptz NOT NULL,
                    PRIMARY KEY (flow_execution_id, task_name)
                )
                """,
                """
                CREATE TABLE applied_records (
                    source_topic text NOT NULL,
                    source_partition integer NOT NULL,
                    source_offset bigint NOT NULL,
                    fingerprint bigint NOT NULL,
                    applied_at timestamptz NOT NULL DEFAULT now(),
                    PRIMARY KEY (source_topic, source_partition, source_offset)
                )
                """,
                """
                CREATE TABLE applied_events (
                    flow_execution_id uuid NOT NULL,
                    event_id varchar(255) NOT NULL,
                    PRIMARY KEY (flow_execution_id, event_id)
                )
                """,
            ]
        )
    ]

    // MARK: - SQLite

    /// Ids are lowercase canonical UUID text, times are ISO 8601 text in UTC with microseconds,
    /// and `task_names` is a JSON array of strings.
    static let sqlite: [SchemaMigration] = [
        SchemaMigration(
            version: 1,
            summary: "flow executions, task status history, current task states, redelivery guards",
            statements: [
                """
                CREATE TABLE flow_executions (
                    id TEXT PRIMARY KEY NOT NULL,
                    organization_id TEXT NOT NULL,
                    flow_id TEXT NOT NULL,
                    task_names TEXT NOT NULL,
                    status TEXT NOT NULL,
                    deleted INTEGER NOT NULL DEFAULT 0,
                    updated_at TEXT NOT NULL
                )
                """,
                """
                CREATE TABLE task_status_history (
                    id TEXT PRIMARY KEY NOT NULL,
                    flow_execution_id TEXT NOT NULL,
                    organization_id TEXT NOT NULL,
                    task_name TEXT NOT NULL,
                    status TEXT,
                    created_at TEXT NOT NULL
                )
                """,
                """
                CREATE INDEX task_status_history_execution_created_at
                    ON task_status_history (flow_execution_id, created_at)
                """,
                """
                CREATE TABLE task_states (
                    flow_execution_id TEXT NOT NULL,
                    task_name TEXT NOT NULL,
                    status TEXT,
                    updated_at TEXT NOT NULL,
                    PRIMARY KEY (flow_execution_id, task_name)
                ) WITHOUT ROWID
                """,
                """
                CREATE TABLE applied_records (
                    source_topic TEXT NOT NULL,
                    source_partition INTEGER NOT NULL,
                    source_offset INTEGER NOT NULL,
                    fingerprint INTEGER NOT NULL,
                    applied_at TEXT NOT NULL,
                    PRIMARY KEY (source_topic, source_partition, source_offset)
                ) WITHOUT ROWID
                """,
                """
                CREATE TABLE applied_events (
                    flow_execution_id TEXT NOT NULL,
                    event_id TEXT NOT NULL,
                    PRIMARY KEY (flow_execution_id, event_id)
                ) WITHOUT ROWID
                """,
            ]
        )
    ]
}
