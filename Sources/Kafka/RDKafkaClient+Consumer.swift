import CRdKafka

// MARK: - Consumer calls

extension RDKafkaClient {
    func subscribe(topics: [String]) throws {
        let list = RDKafkaTopicPartitionList(topics.map { TopicPartition(topic: $0, partition: RD_KAFKA_PARTITION_UA) })
        let code = rd_kafka_subscribe(handle, list.pointer)
        guard code == RD_KAFKA_RESP_ERR_NO_ERROR else {
            throw KafkaError(
                responseError: code,
                reason: "Failed to subscribe to \(topics): \(String(cString: rd_kafka_err2str(code)))"
            )
        }
    }

    func assign(_ offsets: [TopicPartition: Int64]) throws {
        let list = RDKafkaTopicPartitionList(offsets)
        let code = rd_kafka_assign(handle, list.pointer)
        try throwIfFailed(code, action: "assign \(offsets.keys.map(\.description).sorted())")
    }

    /// Returns the next record, or nil when none arrived in time or only an event was served.
    ///
    /// This uses `rd_kafka_consumer_poll`, one record per call, on purpose: in librdkafka 2.0.2
    /// the batch calls (`rd_kafka_consume_batch_queue` and friends) can drop or repeat records
    /// when they meet a pause, resume, seek or rebalance, which would break the caller's
    /// exactly-once bookkeeping.
    func consumerPoll(timeoutMilliseconds: Int) throws -> KafkaMessage? {
        guard let message = rd_kafka_consumer_poll(handle, Int32(clamping: timeoutMilliseconds)) else {
            try throwFatalError()
            return nil
        }
        defer { rd_kafka_message_destroy(message) }

        let code = message.pointee.err
        if code == RD_KAFKA_RESP_ERR_NO_ERROR {
            return RDKafkaMessage.copy(message)
        }

        try throwFatalError()
        reportConsumerEvent(message, code: code)
        return nil
    }

    /// Logs a consumer error event that is not fatal: librdkafka keeps consuming after it.
    private func reportConsumerEvent(_ message: UnsafeMutablePointer<rd_kafka_message_t>, code: rd_kafka_resp_err_t) {
        let topicPartition = TopicPartition(topic: RDKafkaMessage.topicName(of: message), partition: message.pointee.partition)
        if code == RD_KAFKA_RESP_ERR__PARTITION_EOF {
            KafkaLog.emit(.debug, "CONSUME", "Reached the end of \(topicPartition) at offset \(message.pointee.offset)")
            return
        }
        // Group-level errors such as _MAX_POLL_EXCEEDED concern no partition.
        let place = topicPartition.topic.isEmpty ? "" : " on \(topicPartition)"
        KafkaLog.emit(
            .error, "CONSUME",
            "Consumer error\(place): \(String(cString: rd_kafka_err2name(code))): \(RDKafkaMessage.errorText(of: message))"
        )
    }

    func storeOffsets(_ offsets: [TopicPartition: Int64]) throws {
        let list = RDKafkaTopicPartitionList(offsets)
        let code = rd_kafka_offsets_store(handle, list.pointer)
        try list.throwFirstPartitionError(attempting: "store the offset")
        guard code == RD_KAFKA_RESP_ERR_NO_ERROR else {
            throw KafkaError(
                responseError: code,
                reason: "Failed to store offsets: \(String(cString: rd_kafka_err2str(code))). "
                    + "Storing offsets needs enable.auto.offset.store=false and an assigned partition."
            )
        }
    }

    /// Commits synchronously; `nil` commits the stored offsets, and having none stored is not an error.
    func commit(_ offsets: [TopicPartition: Int64]?) throws {
        let list = offsets.map(RDKafkaTopicPartitionList.init)
        let code = withExtendedLifetime(list) {
            rd_kafka_commit(handle, list?.pointer, 0)
        }
        if code == RD_KAFKA_RESP_ERR_NO_ERROR || (offsets == nil && code == RD_KAFKA_RESP_ERR__NO_OFFSET) {
            return
        }
        throw KafkaError(
            responseError: code,
            reason: "Failed to commit offsets: \(String(cString: rd_kafka_err2str(code)))"
        )
    }

    func commit(withMetadata offsets: [TopicPartition: CommittedOffset]) throws {
        let list = RDKafkaTopicPartitionList(offsets)
        let code = withExtendedLifetime(list) {
            rd_kafka_commit(handle, list.pointer, 0)
        }
        guard code == RD_KAFKA_RESP_ERR_NO_ERROR else {
            throw KafkaError(
                responseError: code,
                reason: "Failed to commit offsets: \(String(cString: rd_kafka_err2str(code)))"
            )
        }
        try list.throwFirstPartitionError(attempting: "commit the offset")
    }

    func committedWithMetadata(_ partitions: [TopicPartition], timeoutMilliseconds: Int) throws -> [TopicPartition: CommittedOffset] {
        let list = RDKafkaTopicPartitionList(partitions)
        let code = rd_kafka_committed(handle, list.pointer, Int32(clamping: timeoutMilliseconds))
        guard code == RD_KAFKA_RESP_ERR_NO_ERROR else {
            throw KafkaError(
                responseError: code,
                reason: "Failed to read committed offsets within \(timeoutMilliseconds) ms: \(String(cString: rd_kafka_err2str(code)))"
            )
        }
        try list.throwFirstPartitionError(attempting: "read the committed offset")
        return list.committedOffsets
    }

    func committed(_ partitions: [TopicPartition], timeoutMilliseconds: Int) throws -> [TopicPartition: Int64] {
        try committedWithMetadata(partitions, timeoutMilliseconds: timeoutMilliseconds).mapValues(\.offset)
    }

    func pause(_ partitions: [TopicPartition]) throws {
        let list = RDKafkaTopicPartitionList(partitions)
        let code = rd_kafka_pause_partitions(handle, list.pointer)
        try list.throwFirstPartitionError(attempting: "pause")
        try throwIfFailed(code, action: "pause partitions")
    }

    func resume(_ partitions: [TopicPartition]) throws {
        let list = RDKafkaTopicPartitionList(partitions)
        let code = rd_kafka_resume_partitions(handle, list.pointer)
        try list.throwFirstPartitionError(attempting: "resume")
        try throwIfFailed(code, action: "resume partitions")
    }

    func assignment() throws -> [TopicPartition] {
        var pointer: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>?
        let code = rd_kafka_assignment(handle, &pointer)
        let list = pointer.map(RDKafkaTopicPartitionList.init(owning:))
        try throwIfFailed(code, action: "read the assignment")
        return list?.partitions ?? []
    }

    var isAssignmentLost: Bool {
        rd_kafka_assignment_lost(handle) != 0
    }

    func position(_ partitions: [TopicPartition]) throws -> [TopicPartition: Int64] {
        let list = RDKafkaTopicPartitionList(partitions)
        let code = rd_kafka_position(handle, list.pointer)
        try throwIfFailed(code, action: "read positions")
        return list.offsets
    }

    func cachedWatermarks(_ partition: TopicPartition) throws -> (low: Int64, high: Int64)? {
        var low: Int64 = KafkaOffset.invalid
        var high: Int64 = KafkaOffset.invalid
        let code = rd_kafka_get_watermark_offsets(handle, partition.topic, partition.partition, &low, &high)
        try throwIfFailed(code, action: "read the cached watermarks of \(partition)")
        guard high != KafkaOffset.invalid else { return nil }
        return (low, high)
    }

    func watermarks(_ partition: TopicPartition, timeoutMilliseconds: Int) throws -> (low: Int64, high: Int64) {
        var low: Int64 = KafkaOffset.invalid
        var high: Int64 = KafkaOffset.invalid
        let code = rd_kafka_query_watermark_offsets(
            handle, partition.topic, partition.partition, &low, &high, Int32(clamping: timeoutMilliseconds)
        )
        try throwIfFailed(code, action: "query the watermarks of \(partition) within \(timeoutMilliseconds) ms")
        return (low, high)
    }

    /// Leaves the group, serving the final revocation through the rebalance handler.
    func closeConsumer() throws {
        let code = rd_kafka_consumer_close(handle)
        try throwIfFailed(code, action: "close the consumer")
    }

    func throwIfFailed(_ code: rd_kafka_resp_err_t, action: String) throws {
        guard code == RD_KAFKA_RESP_ERR_NO_ERROR else {
            throw KafkaError(responseError: code, reason: "Failed to \(action): \(String(cString: rd_kafka_err2str(code)))")
        }
    }
}
