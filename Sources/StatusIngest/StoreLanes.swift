import Dispatch
import Foundation
import StatusCore
import StatusStore

/// Several store connections that apply one chunk's batches at the same time.
///
/// A partition always goes to the same lane, and every update of an execution sits in one partition
/// (the record key is the execution id), so each execution's batches stay in order on one connection.
/// A keyless record of an execution can land in another partition and lane. The store's row locks,
/// taken in id order, then serialize the two transactions instead of interleaving them.
final class StoreLanes: @unchecked Sendable {
    let stores: [any TaskStatusStore]

    init(_ stores: [any TaskStatusStore]) {
        precondition(!stores.isEmpty, "at least one store connection is needed")
        self.stores = stores
    }

    var count: Int { stores.count }

    func lane(for source: RecordSource) -> Int {
        Int(source.partition.magnitude % UInt32(stores.count))
    }

    /// Applies each lane's records on its own connection, in parallel, and returns each lane's result.
    func apply(_ recordsByLane: [Int: [PendingRecord]]) -> [Int: Result<(batches: [ExecutionBatch], outcomes: [[RecordOutcome]]), Error>] {
        let lanes = recordsByLane.keys.sorted()
        let results = LockedResults()
        DispatchQueue.concurrentPerform(iterations: lanes.count) { index in
            let lane = lanes[index]
            let batches = BatchGrouper.group(recordsByLane[lane] ?? [])
            do {
                let outcomes = try stores[lane].apply(batches)
                results.set(lane, .success((batches, outcomes)))
            } catch {
                results.set(lane, .failure(error))
            }
        }
        return results.all
    }
}

private final class LockedResults: @unchecked Sendable {
    private let lock = NSLock()
    private var results: [Int: Result<(batches: [ExecutionBatch], outcomes: [[RecordOutcome]]), Error>] = [:]

    func set(_ lane: Int, _ result: Result<(batches: [ExecutionBatch], outcomes: [[RecordOutcome]]), Error>) {
        lock.withLock { results[lane] = result }
    }

    var all: [Int: Result<(batches: [ExecutionBatch], outcomes: [[RecordOutcome]]), Error>] { lock.withLock { results } }
}
