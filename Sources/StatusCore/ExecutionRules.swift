/// The checks that need the flow execution from the store, and the execution status rule.
///
/// They follow `RecordDecoder`'s checks in the endpoint's order: first the execution and its
/// organization (404), then the task names (400).
public enum ExecutionRules {
    /// The execution status while any of its tasks waits for human input.
    public static let awaitingInput = "awaiting_input"
    /// The execution status once no task waits for input any more.
    public static let running = "running"

    /// Unknown task names beyond this many are counted, not listed, in the error message.
    private static let maximumNamesInMessage = 10

    /// Checks `record` against `execution` (`nil` when the store has none). Returns the error the
    /// endpoint would respond with, or `nil` when the record may be applied.
    ///
    /// A record of many updates is checked through a hash set built for the call. Callers that check
    /// many records of one execution should build a `TaskNameSet` once and use the other overload.
    public static func check(_ record: StatusUpdateRecord, against execution: FlowExecution?) -> ContractError? {
        guard let execution else { return .flowExecutionNotFound }
        if let error = checkOwnership(record, of: execution) {
            return error
        }

        // A byte comparison costs about a seventh of inserting a name into a set, so a linear search
        // wins while updates × names < 8 × names + 6 × updates. The constants are estimates from a
        // release build on a 2-core x86-64 Linux machine with a 150-task flow.
        let updateCount = record.updates.count
        let nameCount = execution.taskNames.count
        if updateCount * nameCount < 8 * nameCount + 6 * updateCount {
            let unknown = unknownTaskNames(in: record.updates) { name in
                execution.taskNames.contains { ExactText.equal($0, name) }
            }
            return unknownTaskNamesError(unknown)
        }
        return check(record, against: execution, declaredTaskNames: TaskNameSet(execution.taskNames))
    }

    /// Checks `record` against `execution` with its declared task names already in a set.
    ///
    /// - Precondition: `declaredTaskNames` contains exactly `execution.taskNames`.
    public static func check(
        _ record: StatusUpdateRecord,
        against execution: FlowExecution?,
        declaredTaskNames: TaskNameSet
    ) -> ContractError? {
        guard let execution else { return .flowExecutionNotFound }
        if let error = checkOwnership(record, of: execution) {
            return error
        }
        let unknown = unknownTaskNames(in: record.updates) { declaredTaskNames.contains($0) }
        return unknownTaskNamesError(unknown)
    }

    /// Returns the execution status after its tasks' current states changed.
    ///
    /// `awaiting_input` while any task is `awaiting_input`; back to `running` when none is and the
    /// execution was `awaiting_input`; any other status stays as it is.
    public static func nextExecutionStatus(current: String, anyTaskAwaitingInput: Bool) -> String {
        if anyTaskAwaitingInput {
            return awaitingInput
        }
        if ExactText.equal(current, awaitingInput) {
            return running
        }
        return current
    }

    // MARK: - Steps

    /// Returns `not_found` for a deleted execution, or one of another organization than the record
    /// names, exactly as for a missing one.
    private static func checkOwnership(_ record: StatusUpdateRecord, of execution: FlowExecution) -> ContractError? {
        if execution.deleted {
            return .flowExecutionNotFound
        }
        if let organizationID = record.organizationID, organizationID != execution.organizationID {
            return .flowExecutionNotFound
        }
        return nil
    }

    /// Returns the names not declared, each once, in the order they first appear.
    private static func unknownTaskNames(
        in updates: [TaskStatusUpdate],
        isDeclared: (String) -> Bool
    ) -> [String] {
        var unknown: [String] = []
        var seen = TaskNameSet([])
        for update in updates where !isDeclared(update.taskName) {
            if seen.insert(update.taskName) {
                unknown.append(update.taskName)
            }
        }
        return unknown
    }

    private static func unknownTaskNamesError(_ unknown: [String]) -> ContractError? {
        guard !unknown.isEmpty else { return nil }

        var listed = unknown.prefix(maximumNamesInMessage).joined(separator: ", ")
        if unknown.count > maximumNamesInMessage {
            listed += " and \(unknown.count - maximumNamesInMessage) more"
        }
        return .badRequest(
            "Unknown task names for this flow: \(listed)",
            details: .object([JSONMember("unknown_task_names", .array(unknown.map(JSONValue.string)))])
        )
    }
}
