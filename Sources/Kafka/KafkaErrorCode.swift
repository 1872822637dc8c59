/// The librdkafka error codes (`rd_kafka_resp_err_t` in rdkafka.h) that callers of this
/// layer test `KafkaError.code` against.
public enum KafkaErrorCode {
    /// `MSG_SIZE_TOO_LARGE`: the record is larger than `message.max.bytes` (or the broker's limit).
    public static let messageSizeTooLarge: Int32 = 10
    /// `UNKNOWN_TOPIC_OR_PART`: the broker does not host this topic or partition.
    public static let unknownTopicOrPartition: Int32 = 3
    /// `TOPIC_ALREADY_EXISTS`: a topic with this name already exists.
    public static let topicAlreadyExists: Int32 = 36
    /// `_QUEUE_FULL`: the producer queue already contains `queue.buffering.max.messages` records.
    public static let queueFull: Int32 = -184
    /// `_TIMED_OUT`: the operation did not finish within its timeout.
    public static let timedOut: Int32 = -185
    /// `_MSG_TIMED_OUT`: a record was not delivered within `message.timeout.ms`.
    public static let messageTimedOut: Int32 = -192
    /// `_STATE`: the call is not valid in the client's current state (for example, a closed client
    /// or an offset stored for a partition that is not assigned).
    public static let state: Int32 = -172
    /// `_INVALID_ARG`: an argument or configuration property is invalid.
    public static let invalidArgument: Int32 = -186
    /// `_FATAL`: the client raised a fatal error and must be created again.
    public static let fatal: Int32 = -150
    /// `_PURGE_QUEUE`: a record was dropped from the producer queue before it was sent.
    public static let purgeQueue: Int32 = -152
    /// `_PURGE_INFLIGHT`: a record was dropped while its request was in flight.
    public static let purgeInflight: Int32 = -151
}
