import Foundation
import StatusCore

/// The database operations one `apply` call needs, implemented once per database.
///
/// Every method throws `DatabaseFailure`. The procedure owns the transaction: it calls `begin` first and
/// `commit` or `rollback` last, and a savepoint is open around each careful-mode unit.
protocol ApplyDatabase: AnyObject {
    func begin() throws
    func commit() throws
    /// Rolls back whatever is open, ignoring errors, because it runs on paths that already failed.
    func rollback()

    func createSavepoint() throws
    func rollbackToSavepoint() throws
    func releaseSavepoint() throws

    /// Loads the executions with these ids, locking them until the transaction ends.
    /// Missing ids are absent from the result.
    func loadExecutions(_ ids: [UUID]) throws -> [UUID: FlowExecution]
    /// Returns the stored fingerprint of each of these sources that was applied before.
    func loadFingerprints(_ sources: [SourceCoordinates]) throws -> [SourceCoordinates: Int64]
    /// Returns which of these event ids were applied before.
    func loadAppliedEvents(_ keys: [EventKey]) throws -> Set<EventKey>

    /// Inserts history rows, upserts task states, and records applied sources and event ids.
    func write(_ changes: StoreChanges) throws
    /// Returns which of these executions have a task whose current state is `awaiting_input`.
    func executionsWithTaskAwaitingInput(_ ids: [UUID]) throws -> Set<UUID>
    /// Sets the status of each execution.
    func updateExecutionStatuses(_ statuses: [UUID: String]) throws
}
