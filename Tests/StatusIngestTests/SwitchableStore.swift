import Foundation
import StatusCore
import StatusStore
import Synchronization

/// A store that fails every call with `StoreError.transient` while it is down, as a database
/// outage does, and passes calls to a real store while it is up.
final class SwitchableStore: TaskStatusStore, @unchecked Sendable {
    private let wrapped: any TaskStatusStore
    private let down = Atomic<Bool>(false)
    private let failedCalls = Atomic<Int>(0)

    init(wrapping wrapped: any TaskStatusStore) {
        self.wrapped = wrapped
    }

    var isDown: Bool {
        get { down.load(ordering: .acquiring) }
        set { down.store(newValue, ordering: .releasing) }
    }

    /// How many calls failed because the store was down.
    var failures: Int { failedCalls.load(ordering: .acquiring) }

    private func checkUp() throws {
        if isDown {
            failedCalls.add(1, ordering: .acquiringAndReleasing)
            throw StoreError.transient("connection refused (test outage)")
        }
    }

    func migrate() throws -> SchemaVersions {
        try checkUp()
        return try wrapped.migrate()
    }

    func importExecutions(_ executions: [FlowExecution]) throws -> Int {
        try checkUp()
        return try wrapped.importExecutions(executions)
    }

    func apply(_ batches: [ExecutionBatch]) throws -> [[RecordOutcome]] {
        try checkUp()
        return try wrapped.apply(batches)
    }

    func stats() throws -> StoreStats {
        try checkUp()
        return try wrapped.stats()
    }

    func appliedRecordCount(topic: String, partition: Int32, before offset: Int64) throws -> Int {
        try checkUp()
        return try wrapped.appliedRecordCount(topic: topic, partition: partition, before: offset)
    }

    func deleteAppliedRecords(topic: String, partition: Int32, before offset: Int64, limit: Int) throws -> Int {
        try checkUp()
        return try wrapped.deleteAppliedRecords(topic: topic, partition: partition, before: offset, limit: limit)
    }

    func close() {
        wrapped.close()
    }
}
