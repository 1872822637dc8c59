/// The writes that apply updates to one flow execution: the history rows and each task's new current
/// state. The store carries the plan out inside its transaction.
public struct BatchPlan: Sendable, Hashable {
    /// One row per update, in update order, with increasing ids and non-decreasing `createdAt`.
    public var historyRows: [HistoryRow]
    /// Each task's last status among the updates, one entry per task, in the order tasks first appear.
    public var finalStates: [TaskStatusUpdate]

    public init(historyRows: [HistoryRow], finalStates: [TaskStatusUpdate]) {
        self.historyRows = historyRows
        self.finalStates = finalStates
    }

    /// Plans `updates` for `execution`, taking ids and times from `clock`.
    ///
    /// Rows carry the execution's organization, not one a producer named. Task names are compared
    /// byte for byte, as the store compares them.
    public static func make(
        execution: FlowExecution,
        updates: [TaskStatusUpdate],
        clock: inout HistoryClock
    ) -> BatchPlan {
        var historyRows: [HistoryRow] = []
        historyRows.reserveCapacity(updates.count)
        var finalStates: [TaskStatusUpdate] = []
        var stateIndex: [ExactName: Int] = [:]

        for update in updates {
            let (id, createdAt) = clock.next()
            historyRows.append(HistoryRow(
                id: id,
                flowExecutionID: execution.id,
                organizationID: execution.organizationID,
                taskName: update.taskName,
                status: update.status,
                createdAt: createdAt
            ))

            let name = ExactName(update.taskName)
            if let index = stateIndex[name] {
                finalStates[index].status = update.status
            } else {
                stateIndex[name] = finalStates.count
                finalStates.append(update)
            }
        }
        return BatchPlan(historyRows: historyRows, finalStates: finalStates)
    }
}
