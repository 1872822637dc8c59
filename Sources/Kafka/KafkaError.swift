/// A failure reported by librdkafka or by a Kafka broker.
///
/// `code` is librdkafka's `rd_kafka_resp_err_t`: negative codes are raised inside the client
/// (their names start with `_`, such as `_TRANSPORT`), zero and positive codes come from the
/// Kafka protocol (such as `MSG_SIZE_TOO_LARGE`). `KafkaErrorCode` names the ones callers test for.
public struct KafkaError: Error, Sendable, CustomStringConvertible {
    /// librdkafka's numeric error code.
    public var code: Int32
    /// librdkafka's name for the code, such as `_TRANSPORT` or `MSG_SIZE_TOO_LARGE`.
    public var name: String
    /// A description of the failure and the values involved, for a person to read.
    public var reason: String
    /// Whether the same call may succeed if it is made again later.
    public var isRetriable: Bool
    /// Whether the client is unusable and must be closed and created again.
    public var isFatal: Bool

    /// Creates an error from its parts.
    public init(code: Int32, name: String, reason: String, isRetriable: Bool, isFatal: Bool) {
        self.code = code
        self.name = name
        self.reason = reason
        self.isRetriable = isRetriable
        self.isFatal = isFatal
    }

    /// The name, the code and the reason, such as `_TIMED_OUT (-185): Flush timed out…`.
    public var description: String {
        var text = "\(name) (\(code)): \(reason)"
        if isFatal {
            text += " [fatal]"
        } else if isRetriable {
            text += " [retriable]"
        }
        return text
    }
}
