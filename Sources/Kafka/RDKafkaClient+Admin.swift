import CRdKafka

// MARK: - Admin and metadata calls

extension RDKafkaClient {
    /// Creates the topics that the cluster's metadata does not list yet.
    ///
    /// Asking the metadata first keeps the call idempotent for a principal without the CREATE
    /// permission: Kafka checks that permission before it reports `TOPIC_ALREADY_EXISTS`.
    func createTopics(_ topics: [NewTopic], timeoutMilliseconds: Int) throws {
        let existing = try topicMetadata(timeoutMilliseconds: timeoutMilliseconds)
        let missing = topics.filter { existing[$0.name] == nil }
        guard !missing.isEmpty else {
            return
        }

        let newTopics = try missing.map(RDKafkaClient.makeNewTopic)
        defer { newTopics.forEach { rd_kafka_NewTopic_destroy($0) } }

        let options = try makeOptions(timeoutMilliseconds: timeoutMilliseconds)
        defer { rd_kafka_AdminOptions_destroy(options) }

        let queue = rd_kafka_queue_new(handle)
        defer { rd_kafka_queue_destroy(queue) }

        var pointers: [OpaquePointer?] = newTopics
        rd_kafka_CreateTopics(handle, &pointers, pointers.count, options, queue)

        // The request timeout bounds the broker's response, and the extra second covers local queueing.
        guard let event = rd_kafka_queue_poll(queue, Int32(clamping: timeoutMilliseconds + 1_000)) else {
            throw KafkaError(
                responseError: RD_KAFKA_RESP_ERR__TIMED_OUT,
                reason: "Creating topics \(missing.map(\.name)) timed out after \(timeoutMilliseconds) ms; check that the brokers are reachable."
            )
        }
        defer { rd_kafka_event_destroy(event) }

        try throwFirstTopicError(of: event, creating: missing)
    }

    func partitionCount(topic: String, timeoutMilliseconds: Int) throws -> Int? {
        try topicMetadata(timeoutMilliseconds: timeoutMilliseconds)[topic]
    }

    /// Returns the partition count of every topic the cluster lists, from one metadata request
    /// for all topics, which never creates a topic even where `auto.create.topics.enable` is set.
    /// - Throws: `KafkaError` when a topic's metadata carries an error other than "unknown topic".
    private func topicMetadata(timeoutMilliseconds: Int) throws -> [String: Int] {
        var metadata: UnsafePointer<rd_kafka_metadata>?
        let code = rd_kafka_metadata(handle, 1, nil, &metadata, Int32(clamping: timeoutMilliseconds))
        try throwIfFailed(code, action: "read the cluster metadata within \(timeoutMilliseconds) ms")
        guard let metadata else {
            return [:]
        }
        defer { rd_kafka_metadata_destroy(metadata) }

        var partitionCounts: [String: Int] = [:]
        let topics = UnsafeBufferPointer(start: metadata.pointee.topics, count: Int(metadata.pointee.topic_cnt))
        for entry in topics {
            let name = String(cString: entry.topic)
            switch entry.err {
            case RD_KAFKA_RESP_ERR_NO_ERROR:
                partitionCounts[name] = Int(entry.partition_cnt)
            case RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART:
                continue
            default:
                throw KafkaError(
                    responseError: entry.err,
                    reason: "The metadata of topic '\(name)' reports \(String(cString: rd_kafka_err2str(entry.err)))"
                )
            }
        }
        return partitionCounts
    }

    // MARK: - Parts

    private static func makeNewTopic(_ topic: NewTopic) throws -> OpaquePointer {
        var errorText = [CChar](repeating: 0, count: 512)
        guard let newTopic = rd_kafka_NewTopic_new(
            topic.name, Int32(clamping: topic.partitions), Int32(clamping: topic.replicationFactor), &errorText, errorText.count
        ) else {
            throw KafkaError(
                responseError: RD_KAFKA_RESP_ERR__INVALID_ARG,
                reason: "Invalid new topic '\(topic.name)': \(String(cStringBuffer: errorText))"
            )
        }
        for (name, value) in topic.configuration.sorted(by: { $0.key < $1.key }) {
            let code = rd_kafka_NewTopic_set_config(newTopic, name, value)
            guard code == RD_KAFKA_RESP_ERR_NO_ERROR else {
                rd_kafka_NewTopic_destroy(newTopic)
                throw KafkaError(
                    responseError: code,
                    reason: "Invalid setting '\(name)' for new topic '\(topic.name)': \(String(cString: rd_kafka_err2str(code)))"
                )
            }
        }
        return newTopic
    }

    private func makeOptions(timeoutMilliseconds: Int) throws -> OpaquePointer {
        guard let options = rd_kafka_AdminOptions_new(handle, RD_KAFKA_ADMIN_OP_CREATETOPICS) else {
            throw KafkaError(responseError: RD_KAFKA_RESP_ERR__FAIL, reason: "librdkafka could not allocate admin options.")
        }
        var errorText = [CChar](repeating: 0, count: 512)
        let timeout = Int32(clamping: timeoutMilliseconds)
        if rd_kafka_AdminOptions_set_request_timeout(options, timeout, &errorText, errorText.count) != RD_KAFKA_RESP_ERR_NO_ERROR
            || rd_kafka_AdminOptions_set_operation_timeout(options, timeout, &errorText, errorText.count) != RD_KAFKA_RESP_ERR_NO_ERROR
        {
            rd_kafka_AdminOptions_destroy(options)
            throw KafkaError(
                responseError: RD_KAFKA_RESP_ERR__INVALID_ARG,
                reason: "Invalid admin timeout \(timeoutMilliseconds) ms: \(String(cStringBuffer: errorText))"
            )
        }
        return options
    }

    private func throwFirstTopicError(of event: OpaquePointer, creating topics: [NewTopic]) throws {
        let code = rd_kafka_event_error(event)
        guard code == RD_KAFKA_RESP_ERR_NO_ERROR else {
            let text = rd_kafka_event_error_string(event).map { String(cString: $0) } ?? ""
            throw KafkaError(responseError: code, reason: "Failed to create topics \(topics.map(\.name)): \(text)")
        }
        guard let result = rd_kafka_event_CreateTopics_result(event) else {
            throw KafkaError(responseError: RD_KAFKA_RESP_ERR__FAIL, reason: "librdkafka returned no result for the topic creation.")
        }

        var count = 0
        guard let results = rd_kafka_CreateTopics_result_topics(result, &count) else {
            return
        }
        for index in 0..<count {
            guard let topicResult = results[index] else {
                continue
            }
            let topicCode = rd_kafka_topic_result_error(topicResult)
            if topicCode == RD_KAFKA_RESP_ERR_NO_ERROR || topicCode == RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS {
                continue
            }
            let name = String(cString: rd_kafka_topic_result_name(topicResult))
            let text = rd_kafka_topic_result_error_string(topicResult).map { String(cString: $0) }
                ?? String(cString: rd_kafka_err2str(topicCode))
            throw KafkaError(responseError: topicCode, reason: "Failed to create topic '\(name)': \(text)")
        }
    }
}
