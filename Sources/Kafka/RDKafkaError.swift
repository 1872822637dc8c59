import CRdKafka

// MARK: - KafkaError from librdkafka's error values

extension KafkaError {
    /// Creates an error from a bare `rd_kafka_resp_err_t`, which carries no retriable or fatal flag,
    /// so `isRetriable` comes from `RDKafkaError.retriableCodes`.
    init(responseError: rd_kafka_resp_err_t, reason: String? = nil, isFatal: Bool = false) {
        self.init(
            code: responseError.rawValue,
            name: String(cString: rd_kafka_err2name(responseError)),
            reason: reason ?? String(cString: rd_kafka_err2str(responseError)),
            isRetriable: RDKafkaError.retriableCodes.contains(responseError.rawValue),
            isFatal: isFatal
        )
    }

    /// Creates an error from an `rd_kafka_error_t` and destroys that object.
    init(consuming error: OpaquePointer) {
        defer { rd_kafka_error_destroy(error) }
        self.init(
            code: rd_kafka_error_code(error).rawValue,
            name: String(cString: rd_kafka_error_name(error)),
            reason: String(cString: rd_kafka_error_string(error)),
            isRetriable: rd_kafka_error_is_retriable(error) != 0,
            isFatal: rd_kafka_error_is_fatal(error) != 0
        )
    }

    /// Creates the error for a call on a client that was already closed.
    static func closed(_ client: String) -> KafkaError {
        KafkaError(
            responseError: RD_KAFKA_RESP_ERR__STATE,
            reason: "The \(client) is closed; create a new one."
        )
    }
}

/// Helpers for librdkafka's error values.
enum RDKafkaError {
    /// Codes that Kafka's protocol or librdkafka documents as transient, for errors that reach this
    /// layer as a bare `rd_kafka_resp_err_t` without librdkafka's own retriable flag.
    static let retriableCodes: Set<Int32> = [
        RD_KAFKA_RESP_ERR__TRANSPORT,
        RD_KAFKA_RESP_ERR__TIMED_OUT,
        RD_KAFKA_RESP_ERR__MSG_TIMED_OUT,
        RD_KAFKA_RESP_ERR__QUEUE_FULL,
        RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN,
        RD_KAFKA_RESP_ERR__WAIT_COORD,
        RD_KAFKA_RESP_ERR__TIMED_OUT_QUEUE,
        RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT,
        RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION,
        RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE,
        RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART,
        RD_KAFKA_RESP_ERR_NETWORK_EXCEPTION,
        RD_KAFKA_RESP_ERR_COORDINATOR_LOAD_IN_PROGRESS,
        RD_KAFKA_RESP_ERR_COORDINATOR_NOT_AVAILABLE,
        RD_KAFKA_RESP_ERR_NOT_COORDINATOR,
        RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS,
        RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS_AFTER_APPEND,
        RD_KAFKA_RESP_ERR_REBALANCE_IN_PROGRESS,
        RD_KAFKA_RESP_ERR_KAFKA_STORAGE_ERROR,
        RD_KAFKA_RESP_ERR_FETCH_SESSION_ID_NOT_FOUND,
        RD_KAFKA_RESP_ERR_UNSTABLE_OFFSET_COMMIT,
    ].reduce(into: Set<Int32>()) { codes, code in codes.insert(code.rawValue) }

    /// Returns the client's fatal error, if it raised one.
    ///
    /// librdkafka reports a fatal error (for example an idempotent producer whose sequence
    /// numbers went out of order) once as `_FATAL`. This call retrieves the underlying cause.
    static func fatalError(of handle: OpaquePointer) -> KafkaError? {
        // Asking without a buffer first keeps the common, healthy case free of allocations.
        guard rd_kafka_fatal_error(handle, nil, 0) != RD_KAFKA_RESP_ERR_NO_ERROR else {
            return nil
        }
        var buffer = [CChar](repeating: 0, count: 512)
        let code = rd_kafka_fatal_error(handle, &buffer, buffer.count)
        return KafkaError(responseError: code, reason: String(cStringBuffer: buffer), isFatal: true)
    }
}

extension String {
    /// Reads the NUL-terminated text that a C call wrote into `buffer`.
    init(cStringBuffer buffer: [CChar]) {
        let end = buffer.firstIndex(of: 0) ?? buffer.endIndex
        let bytes = buffer[..<end].map { UInt8(bitPattern: $0) }
        self.init(decoding: bytes, as: UTF8.self)
    }
}
