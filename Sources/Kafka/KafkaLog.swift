import Foundation

/// The destination of librdkafka's own log lines and of the errors this layer reports
/// without throwing (broker connection failures, partition EOF, rebalance failures).
///
/// Every handle this layer creates sends its lines here. librdkafka calls the handler from its
/// internal threads, so the handler must be thread-safe, must return quickly and must not call
/// back into a Kafka client.
public enum KafkaLog {
    /// Receives one log line: its level, librdkafka's facility (such as `FAIL` or `REBALANCE`) and its text.
    public typealias Handler = @Sendable (_ level: KafkaLogLevel, _ facility: String, _ message: String) -> Void

    /// Replaces the handler for all handles, including those already created.
    public static func setHandler(_ handler: @escaping Handler) {
        storage.withLock { $0 = handler }
    }

    /// Restores the default handler, which writes each line to standard error.
    public static func resetHandler() {
        storage.withLock { $0 = defaultHandler }
    }

    /// The default handler: one line on standard error, such as `kafka warning FAIL: …`.
    public static let defaultHandler: Handler = { level, facility, message in
        let line = "kafka \(level) \(facility): \(message)\n"
        FileHandle.standardError.write(Data(line.utf8))
    }

    // MARK: - Internal

    /// Sends one line to the current handler.
    static func emit(_ level: KafkaLogLevel, _ facility: String, _ message: String) {
        let handler = storage.withLock { $0 }
        handler(level, facility, message)
    }

    private static let storage = LockedValue<Handler>(defaultHandler)
}
