import Foundation
import StatusCore

/// Decides each record's outcome and the rows it writes, from what the database held when the call
/// started plus what the call has applied so far.
///
/// A value type on purpose: the careful mode of `ApplyProcedure` copies it before a unit of work and
/// keeps the copy when the database rejects that unit, so nothing the unit planned is remembered.
struct ApplyPlanner {
    private let executions: [UUID: FlowExecution]
    private var fingerprints: [SourceCoordinates: Int64]
    private var appliedEvents: Set<EventKey>
    /// Executions with at least one record applied in this call, whose status may change.
    private(set) var touchedExecutionIDs: Set<UUID> = []
    /// Tasks this call leaves awaiting input. Their executions need no query to know their status.
    private var awaitingTasks: Set<TaskStateKey> = []

    init(executions: [UUID: FlowExecution], fingerprints: [SourceCoordinates: Int64], appliedEvents: Set<EventKey>) {
        self.executions = executions
        self.fingerprints = fingerprints
        self.appliedEvents = appliedEvents
    }

    /// Plans one record: returns its outcome and, when it is applied, adds its rows to `changes`.
    mutating func plan(
        _ pending: PendingRecord, clock: inout HistoryClock, into changes: inout StoreChanges
    ) -> RecordOutcome {
        let record = pending.record
        let execution = executions[record.flowExecutionID]
        if let error = ExecutionRules.check(record, against: execution) {
            return .rejected(error)
        }
        guard let execution else {
            preconditionFailure("ExecutionRules.check accepted a record whose flow execution is missing")
        }

        let coordinates = SourceCoordinates(pending.source)
        if fingerprints[coordinates] == pending.source.fingerprint {
            return .duplicate
        }
        let eventKey = record.eventID.map { EventKey(flowExecutionID: execution.id, eventID: $0) }
        if let eventKey, appliedEvents.contains(eventKey) {
            return .duplicate
        }

        let batchPlan = BatchPlan.make(execution: execution, updates: record.updates, clock: &clock)
        let updatedAt = batchPlan.historyRows.last?.createdAt ?? Date()
        changes.historyRows.append(contentsOf: batchPlan.historyRows)
        for state in batchPlan.finalStates {
            let key = TaskStateKey(flowExecutionID: execution.id, taskName: state.taskName)
            changes.taskStates[key] = TaskStateWrite(key: key, status: state.status, updatedAt: updatedAt)
            if let status = state.status, status.utf8.elementsEqual(ExecutionRules.awaitingInput.utf8) {
                awaitingTasks.insert(key)
            } else {
                awaitingTasks.remove(key)
            }
        }
        // A second record at the same coordinates within this unit merges into the first one's row,
        // so that row keeps the first one's choice between insert and update.
        let replacesStoredRow = changes.appliedRecords[coordinates]?.replacesStoredRow
            ?? (fingerprints[coordinates] != nil)
        changes.appliedRecords[coordinates] = AppliedRecordWrite(
            source: pending.source, replacesStoredRow: replacesStoredRow)
        fingerprints[coordinates] = pending.source.fingerprint
        if let eventKey {
            changes.appliedEvents.append(eventKey)
            appliedEvents.insert(eventKey)
        }
        touchedExecutionIDs.insert(execution.id)
        return .applied(batchPlan.historyRows)
    }

    /// Returns the executions that this call leaves with a task awaiting input.
    var executionsKnownAwaitingInput: Set<UUID> {
        Set(awaitingTasks.map(\.flowExecutionID))
    }

    /// Returns the execution as it was loaded at the start of the call.
    func execution(_ id: UUID) -> FlowExecution? {
        executions[id]
    }
}
