import CRdKafka

// MARK: - Offsets by timestamp

extension RDKafkaClient {
    /// Asks each partition's leader for the first offset whose timestamp is at or after
    /// `milliseconds` (`rd_kafka_offsets_for_times`); `KafkaOffset.end` where no record is that late.
    func offsets(forTimestamp milliseconds: Int64, partitions: [TopicPartition], timeoutMilliseconds: Int) throws -> [TopicPartition: Int64] {
        // librdkafka reads the timestamp to look up from each element's offset field.
        let list = RDKafkaTopicPartitionList(Dictionary(uniqueKeysWithValues: partitions.map { ($0, milliseconds) }))
        let code = rd_kafka_offsets_for_times(handle, list.pointer, Int32(clamping: timeoutMilliseconds))
        try throwIfFailed(code, action: "look up offsets for timestamp \(milliseconds) within \(timeoutMilliseconds) ms")
        try list.throwFirstPartitionError(attempting: "look up the offset for timestamp \(milliseconds)")
        return list.offsets
    }
}
