import Foundation

/// Packs decoded records into `ExecutionBatch`es: consecutive records of one flow execution, at most
/// `ExecutionBatch.maximumUpdates` updates each, so that the store applies many records per
/// transaction without changing any execution's order.
public enum BatchGrouper {
    /// Groups `records`, which must be in partition order.
    ///
    /// Each execution's records keep their order and are packed greedily: a record that would push
    /// the current batch past the limit starts the next batch. A record is never split, so a record of
    /// 100 updates is a batch of its own. Executions appear in the order of their first record, each
    /// with its batches in order. Records of different executions are independent, so interleaving
    /// them differently from the input changes no outcome.
    public static func group(_ records: [PendingRecord]) -> [ExecutionBatch] {
        var batchesByExecution: [[ExecutionBatch]] = []
        var executionIndex: [UUID: Int] = [:]
        var openUpdateCounts: [Int] = []

        for pending in records {
            let executionID = pending.record.flowExecutionID
            let updateCount = pending.record.updates.count

            guard let index = executionIndex[executionID] else {
                executionIndex[executionID] = batchesByExecution.count
                batchesByExecution.append([ExecutionBatch(flowExecutionID: executionID, records: [pending])])
                openUpdateCounts.append(updateCount)
                continue
            }

            if openUpdateCounts[index] + updateCount <= ExecutionBatch.maximumUpdates {
                let last = batchesByExecution[index].count - 1
                batchesByExecution[index][last].records.append(pending)
                openUpdateCounts[index] += updateCount
            } else {
                batchesByExecution[index].append(ExecutionBatch(flowExecutionID: executionID, records: [pending]))
                openUpdateCounts[index] = updateCount
            }
        }
        return batchesByExecution.flatMap { $0 }
    }
}
