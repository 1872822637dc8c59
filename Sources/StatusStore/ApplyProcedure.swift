import Foundation
import StatusCore

/// The `apply` call of both stores: one transaction for all batches, with isolation of data the
/// database rejects.
///
/// The fast mode writes the whole call with one statement per table. When the database rejects data,
/// the call is rolled back and redone in the careful mode: a savepoint per batch and, inside a batch
/// the database rejects, a savepoint per record, so that only the offending record is rejected.
struct ApplyProcedure {
    let database: ApplyDatabase
    /// Ids and times of new history rows. Never rewound, so replanned rows get fresh ids.
    var clock: HistoryClock

    /// Applies the batches and returns one outcome per record.
    ///
    /// - Throws: `StoreError.transient` after rolling back, when the database failed in a way that may pass.
    mutating func run(_ batches: [ExecutionBatch]) throws -> [[RecordOutcome]] {
        guard batches.contains(where: { !$0.records.isEmpty }) else {
            return batches.map { _ in [] }
        }
        do {
            do {
                return try runFast(batches)
            } catch DatabaseFailure.dataRejected {
                database.rollback()
                return try runCarefully(batches)
            }
        } catch DatabaseFailure.transient(let message) {
            database.rollback()
            throw StoreError.transient(message)
        } catch DatabaseFailure.dataRejected(let sqlState, let message) {
            // A rejection outside any record's own rows (for example in the execution status update)
            // cannot be pinned on one record, so the whole call is retried.
            database.rollback()
            throw StoreError.transient("the database rejected data outside any single record (\(sqlState)): \(message)")
        } catch {
            database.rollback()
            throw error
        }
    }

    // MARK: - Fast mode

    private mutating func runFast(_ batches: [ExecutionBatch]) throws -> [[RecordOutcome]] {
        var planner = try beginAndLoad(batches)

        var changes = StoreChanges()
        var outcomes: [[RecordOutcome]] = []
        outcomes.reserveCapacity(batches.count)
        for batch in batches {
            outcomes.append(batch.records.map { planner.plan($0, clock: &clock, into: &changes) })
        }

        if !changes.isEmpty {
            try database.write(changes)
        }
        try finish(planner)
        return outcomes
    }

    // MARK: - Careful mode

    private mutating func runCarefully(_ batches: [ExecutionBatch]) throws -> [[RecordOutcome]] {
        var planner = try beginAndLoad(batches)

        var outcomes: [[RecordOutcome]] = []
        outcomes.reserveCapacity(batches.count)
        for batch in batches {
            let start = planner
            var changes = StoreChanges()
            let planned = batch.records.map { planner.plan($0, clock: &clock, into: &changes) }
            if try writeInSavepoint(changes) {
                outcomes.append(planned)
                continue
            }

            planner = start
            outcomes.append(try applyOneByOne(batch.records, planner: &planner))
        }

        try finish(planner)
        return outcomes
    }

    private mutating func applyOneByOne(_ records: [PendingRecord], planner: inout ApplyPlanner) throws -> [RecordOutcome] {
        var outcomes: [RecordOutcome] = []
        for pending in records {
            let start = planner
            var changes = StoreChanges()
            let outcome = planner.plan(pending, clock: &clock, into: &changes)
            do {
                if try writeInSavepoint(changes, reportingRejection: true) {
                    outcomes.append(outcome)
                }
            } catch let rejection as DataRejection {
                planner = start
                outcomes.append(.rejected(rejection.contractError))
            }
        }
        return outcomes
    }

    /// Writes the changes inside a savepoint. Returns false, with the savepoint rolled back, when the
    /// database rejects the data; with `reportingRejection`, throws `DataRejection` instead.
    private func writeInSavepoint(_ changes: StoreChanges, reportingRejection: Bool = false) throws -> Bool {
        guard !changes.isEmpty else { return true }
        try database.createSavepoint()
        do {
            try database.write(changes)
        } catch DatabaseFailure.dataRejected(let sqlState, let message) {
            try database.rollbackToSavepoint()
            try database.releaseSavepoint()
            if reportingRejection {
                throw DataRejection(sqlState: sqlState, message: message)
            }
            return false
        }
        try database.releaseSavepoint()
        return true
    }

    // MARK: - Shared steps

    private func beginAndLoad(_ batches: [ExecutionBatch]) throws -> ApplyPlanner {
        try database.begin()

        var executionIDs: Set<UUID> = []
        var sources: [SourceCoordinates] = []
        var eventKeys: Set<EventKey> = []
        for batch in batches {
            for pending in batch.records {
                executionIDs.insert(pending.record.flowExecutionID)
                sources.append(SourceCoordinates(pending.source))
                if let eventID = pending.record.eventID {
                    eventKeys.insert(EventKey(flowExecutionID: pending.record.flowExecutionID, eventID: eventID))
                }
            }
        }

        let executions = try database.loadExecutions(executionIDs.sorted { $0.precedesInByteOrder($1) })
        let fingerprints = try database.loadFingerprints(sources)
        let appliedEvents = eventKeys.isEmpty ? [] : try database.loadAppliedEvents(Array(eventKeys))
        return ApplyPlanner(executions: executions, fingerprints: fingerprints, appliedEvents: appliedEvents)
    }

    /// Moves each touched execution in or out of `awaiting_input`, then commits.
    private func finish(_ planner: ApplyPlanner) throws {
        let touched = planner.touchedExecutionIDs.sorted { $0.precedesInByteOrder($1) }
        if !touched.isEmpty {
            var awaiting = planner.executionsKnownAwaitingInput
            let unknown = touched.filter { !awaiting.contains($0) }
            if !unknown.isEmpty {
                awaiting.formUnion(try database.executionsWithTaskAwaitingInput(unknown))
            }
            var changedStatuses: [UUID: String] = [:]
            for id in touched {
                guard let current = planner.execution(id)?.status else { continue }
                let next = ExecutionRules.nextExecutionStatus(
                    current: current, anyTaskAwaitingInput: awaiting.contains(id))
                if next != current {
                    changedStatuses[id] = next
                }
            }
            if !changedStatuses.isEmpty {
                try database.updateExecutionStatuses(changedStatuses)
            }
        }
        try database.commit()
    }
}

/// The database rejected one record's own data: the record is rejected, its neighbours are applied.
private struct DataRejection: Error {
    let sqlState: String
    let message: String

    var contractError: ContractError {
        ContractError(
            code: .repositoryError,
            message: "The database rejected the record's data",
            details: .object([JSONMember("sqlstate", .string(sqlState)), JSONMember("message", .string(message))]),
            httpStatus: 500
        )
    }
}
