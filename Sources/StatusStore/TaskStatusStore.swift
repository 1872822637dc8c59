import Foundation
import StatusCore

/// The place task statuses are recorded: PostgreSQL in production, SQLite embedded.
///
/// Both implementations behave the same; one shared test suite runs against each.
/// An instance is used from one thread at a time.
public protocol TaskStatusStore: AnyObject {
    /// Creates or upgrades the schema and returns the schema version before and after. Safe to run
    /// again: a store already at the latest version returns the same version twice.
    @discardableResult
    func migrate() throws -> SchemaVersions

    /// Inserts or replaces flow executions (the platform's copy is the truth). Returns how many were written.
    @discardableResult
    func importExecutions(_ executions: [FlowExecution]) throws -> Int

    /// Applies batches in one transaction and returns one outcome per record, parallel to `batches[i].records`.
    ///
    /// For each record, in order: the execution must exist, not be deleted and belong to the record's
    /// `organizationID` when one is given (else `not_found`). Then every task name must be declared by
    /// the execution's flow (else `bad_request`). A record already applied (same source and fingerprint)
    /// or whose `eventID` was already applied for the execution is a `.duplicate`. A record whose data
    /// the database rejects (SQLSTATE classes 22 and 23) is isolated and `.rejected` with
    /// `repository_error`; the other records are still applied.
    ///
    /// - Throws: `StoreError.transient` when the database failed (connection lost, timeout, deadlock,
    ///   serialization failure, shutdown): nothing was applied, and the caller retries the same call.
    func apply(_ batches: [ExecutionBatch]) throws -> [[RecordOutcome]]

    /// Returns the figures a run is checked against.
    func stats() throws -> StoreStats

    /// Counts the `applied_records` rows of one partition with an offset below `offset`.
    func appliedRecordCount(topic: String, partition: Int32, before offset: Int64) throws -> Int

    /// Deletes up to `limit` of the `applied_records` rows of one partition with an offset below
    /// `offset`, lowest offsets first, in one transaction, and returns how many it deleted.
    ///
    /// A row makes a redelivered record count as a duplicate, so delete only rows that Kafka can no
    /// longer deliver: offsets below the partition's log start offset.
    func deleteAppliedRecords(topic: String, partition: Int32, before offset: Int64, limit: Int) throws -> Int

    /// Releases the connection. Further calls throw.
    func close()
}

/// The schema versions of a store before and after `migrate`. Version 0 is a store without a schema.
public struct SchemaVersions: Sendable, Hashable {
    public var before: Int
    public var after: Int

    public init(before: Int, after: Int) {
        self.before = before
        self.after = after
    }
}

/// The store's figures, as `store stats` prints them.
public struct StoreStats: Sendable, Hashable {
    public var historyRows: Int
    public var taskStates: Int
    /// SHA-256 in hex of every current task state, one line each:
    /// `flow_execution_id TAB task_name TAB status ('' for null) LF`, sorted by execution id then task name
    /// (byte order of the lowercase canonical id and the UTF-8 name).
    public var taskStatesSHA256: String
    public var executionsAwaitingInput: Int
    public var executions: Int

    public init(historyRows: Int, taskStates: Int, taskStatesSHA256: String, executionsAwaitingInput: Int, executions: Int) {
        self.historyRows = historyRows
        self.taskStates = taskStates
        self.taskStatesSHA256 = taskStatesSHA256
        self.executionsAwaitingInput = executionsAwaitingInput
        self.executions = executions
    }
}

/// A failed store call, sorted by what the caller should do.
public enum StoreError: Error, Sendable, CustomStringConvertible {
    /// The database failed in a way that may pass: retry the same call later.
    case transient(String)
    /// The store cannot be used as configured (bad URL, schema too new, file not writable): fix and restart.
    case configuration(String)

    public var description: String {
        switch self {
        case .transient(let message): return "store unavailable: \(message)"
        case .configuration(let message): return "store misconfigured: \(message)"
        }
    }
}
