/// Event texts of the worker's log that the fault tests wait for or count, kept in one place
/// because the tests read them from the child's log file.
enum WorkerLogEvent {
    static let partitionsAssigned = "partitions assigned"
    static let partitionsRevoked = "partitions revoked"
    static let partitionsLost = "partitions lost"
    static let batchApplied = "batch applied"
    static let storeRetry = "store failed, retrying"
    static let deadLetterPublishRetry = "dead-letter publish failed, retrying"
    static let stopRequested = "stop requested"
    static let assignmentLostDuringApply = "assignment lost while the chunk was applied"
    /// librdkafka's warning when the application stopped calling poll for longer than `max.poll.interval.ms`.
    static let maximumPollIntervalExceeded = "maximum poll interval"
}
