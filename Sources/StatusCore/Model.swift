import Foundation

// The contract's nouns, shared by the core, the store and the worker.

/// One task's new status: the smallest unit of the contract.
public struct TaskStatusUpdate: Sendable, Hashable {
    /// The task's name, 1 to 255 characters, case-sensitive.
    public var taskName: String
    /// The new status, at most 50 characters; `nil` clears the status.
    public var status: String?

    public init(taskName: String, status: String?) {
        self.taskName = taskName
        self.status = status
    }
}

/// The two shapes a record's value may take on the input topic.
public enum RecordForm: String, Sendable, Hashable {
    /// `{"flow_execution_id": …, "task_name": …, "status": …}`
    case single
    /// `{"flow_execution_id": …, "statuses": [{"task_name": …, "status": …}, …]}`
    case batch
}

/// A record whose value passed every shape and field check: one to 100 updates of one flow execution.
public struct StatusUpdateRecord: Sendable, Hashable {
    public var flowExecutionID: UUID
    /// The tenant the producer believes owns the execution, when the record names one.
    public var organizationID: UUID?
    /// The producer's id for this update, up to 255 characters.
    public var eventID: String?
    public var emittedAt: Date?
    public var form: RecordForm
    /// The updates in the order the producer gave them (1 to 100).
    public var updates: [TaskStatusUpdate]

    public init(
        flowExecutionID: UUID,
        organizationID: UUID? = nil,
        eventID: String? = nil,
        emittedAt: Date? = nil,
        form: RecordForm,
        updates: [TaskStatusUpdate]
    ) {
        self.flowExecutionID = flowExecutionID
        self.organizationID = organizationID
        self.eventID = eventID
        self.emittedAt = emittedAt
        self.form = form
        self.updates = updates
    }
}

/// A flow execution as the store records it. The worker never creates one.
public struct FlowExecution: Sendable, Hashable {
    public var id: UUID
    public var organizationID: UUID
    public var flowID: UUID
    /// The task names the execution's flow declares.
    public var taskNames: [String]
    public var status: String
    public var deleted: Bool

    public init(id: UUID, organizationID: UUID, flowID: UUID, taskNames: [String], status: String, deleted: Bool) {
        self.id = id
        self.organizationID = organizationID
        self.flowID = flowID
        self.taskNames = taskNames
        self.status = status
        self.deleted = deleted
    }
}

/// One row of a task's status history, as the endpoint's 200 response lists it.
public struct HistoryRow: Sendable, Hashable {
    /// Time-ordered (UUID version 7), made by the worker.
    public var id: UUID
    public var flowExecutionID: UUID
    /// The execution's organization, not the one the producer gave.
    public var organizationID: UUID
    public var taskName: String
    public var status: String?
    public var createdAt: Date

    public init(id: UUID, flowExecutionID: UUID, organizationID: UUID, taskName: String, status: String?, createdAt: Date) {
        self.id = id
        self.flowExecutionID = flowExecutionID
        self.organizationID = organizationID
        self.taskName = taskName
        self.status = status
        self.createdAt = createdAt
    }
}

/// Where a record came from: its idempotency key, so that a redelivered record is applied once.
///
/// `fingerprint` is a hash of the record's timestamp, key and value. Two deliveries of one record
/// share it. A different record at the same coordinates (a topic deleted and created again) does
/// not, so it is not mistaken for a duplicate.
public struct RecordSource: Sendable, Hashable {
    public var topic: String
    public var partition: Int32
    public var offset: Int64
    public var fingerprint: Int64

    public init(topic: String, partition: Int32, offset: Int64, fingerprint: Int64) {
        self.topic = topic
        self.partition = partition
        self.offset = offset
        self.fingerprint = fingerprint
    }
}

/// A decoded record waiting to be applied, with its source.
public struct PendingRecord: Sendable, Hashable {
    public var source: RecordSource
    public var record: StatusUpdateRecord

    public init(source: RecordSource, record: StatusUpdateRecord) {
        self.source = source
        self.record = record
    }
}

/// Records of one flow execution, in partition order, applied together all or nothing.
///
/// The records hold at most `ExecutionBatch.maximumUpdates` updates in all. A batch-form record is never split.
public struct ExecutionBatch: Sendable, Hashable {
    public static let maximumUpdates = 100

    public var flowExecutionID: UUID
    public var records: [PendingRecord]

    public init(flowExecutionID: UUID, records: [PendingRecord]) {
        self.flowExecutionID = flowExecutionID
        self.records = records
    }

    public var updateCount: Int { records.reduce(0) { $0 + $1.record.updates.count } }
}

/// The fate of one record handed to the store.
public enum RecordOutcome: Sendable, Hashable {
    /// Applied now; the created history rows in order (the endpoint's 200 response).
    case applied([HistoryRow])
    /// Applied before (a redelivery, or an `event_id` already seen for the execution): nothing changed.
    case duplicate
    /// Can never be applied: goes to the dead-letter topic with this error.
    case rejected(ContractError)
}
