import Foundation
import StatusCore
import StatusStore

/// Builders for executions and records, so each test states only what it is about.
struct StoreFixtures {
    static let organizationID = UUIDText.parseCanonical("0190a5b2-0000-7000-8000-0000000000aa")!
    static let otherOrganizationID = UUIDText.parseCanonical("0190a5b2-0000-7000-8000-0000000000bb")!
    static let flowID = UUIDText.parseCanonical("0190a5b2-0000-7000-8000-0000000000f1")!
    static let topic = "task-status-updates"

    private var nextOffset: Int64 = 0

    static func execution(
        id: UUID = UUID(),
        organizationID: UUID = StoreFixtures.organizationID,
        taskNames: [String] = ["extract", "transform", "load"],
        status: String = "running",
        deleted: Bool = false
    ) -> FlowExecution {
        FlowExecution(
            id: id, organizationID: organizationID, flowID: flowID, taskNames: taskNames, status: status,
            deleted: deleted)
    }

    /// A record at the next offset of partition 0.
    mutating func record(
        _ execution: FlowExecution,
        _ updates: [(String, String?)],
        eventID: String? = nil,
        organizationID: UUID? = nil,
        fingerprint: Int64 = 1
    ) -> PendingRecord {
        defer { nextOffset += 1 }
        return record(
            executionID: execution.id, updates, eventID: eventID, organizationID: organizationID,
            source: RecordSource(topic: Self.topic, partition: 0, offset: nextOffset, fingerprint: fingerprint))
    }

    func record(
        executionID: UUID,
        _ updates: [(String, String?)],
        eventID: String? = nil,
        organizationID: UUID? = nil,
        source: RecordSource
    ) -> PendingRecord {
        let taskUpdates = updates.map { TaskStatusUpdate(taskName: $0.0, status: $0.1) }
        let record = StatusUpdateRecord(
            flowExecutionID: executionID, organizationID: organizationID, eventID: eventID,
            form: taskUpdates.count == 1 ? .single : .batch, updates: taskUpdates)
        return PendingRecord(source: source, record: record)
    }

    static func batch(_ records: PendingRecord...) -> ExecutionBatch {
        ExecutionBatch(flowExecutionID: records[0].record.flowExecutionID, records: records)
    }
}

extension RecordOutcome {
    /// The history rows when applied, nil otherwise.
    var appliedRows: [HistoryRow]? {
        if case .applied(let rows) = self { return rows }
        return nil
    }

    var rejection: ContractError? {
        if case .rejected(let error) = self { return error }
        return nil
    }

    var isDuplicate: Bool {
        if case .duplicate = self { return true }
        return false
    }
}

extension UUID {
    /// The version nibble: 7 for time-ordered UUIDs.
    var version: UInt8 {
        uuid.6 >> 4
    }
}
