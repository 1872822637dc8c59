import CRdKafka

/// An owned `rd_kafka_topic_partition_list_t`, destroyed with this object.
final class RDKafkaTopicPartitionList {
    let pointer: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>

    /// Takes ownership of a list that librdkafka allocated.
    init(owning pointer: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>) {
        self.pointer = pointer
    }

    /// Creates a list of partitions with no offset set (`RD_KAFKA_OFFSET_INVALID`).
    convenience init(_ partitions: [TopicPartition]) {
        self.init(owning: rd_kafka_topic_partition_list_new(Int32(clamping: partitions.count)))
        for topicPartition in partitions {
            rd_kafka_topic_partition_list_add(pointer, topicPartition.topic, topicPartition.partition)
        }
    }

    /// Creates a list of partitions, each with its offset.
    convenience init(_ offsets: [TopicPartition: Int64]) {
        self.init(owning: rd_kafka_topic_partition_list_new(Int32(clamping: offsets.count)))
        for (topicPartition, offset) in offsets {
            let element = rd_kafka_topic_partition_list_add(pointer, topicPartition.topic, topicPartition.partition)
            element?.pointee.offset = offset
        }
    }

    deinit {
        rd_kafka_topic_partition_list_destroy(pointer)
    }

    /// The elements in librdkafka's memory.
    var elements: UnsafeMutableBufferPointer<rd_kafka_topic_partition_t> {
        UnsafeMutableBufferPointer(start: pointer.pointee.elems, count: Int(pointer.pointee.cnt))
    }

    /// The partitions, in list order.
    var partitions: [TopicPartition] {
        RDKafkaTopicPartitionList.partitions(of: pointer)
    }

    /// The offset of each partition.
    var offsets: [TopicPartition: Int64] {
        var result: [TopicPartition: Int64] = [:]
        for element in elements {
            result[TopicPartition(element)] = element.offset
        }
        return result
    }

    /// Throws the first per-partition error that librdkafka wrote into the list, naming the
    /// partition and what was attempted.
    func throwFirstPartitionError(attempting action: String) throws {
        for element in elements where element.err != RD_KAFKA_RESP_ERR_NO_ERROR {
            let topicPartition = TopicPartition(element)
            throw KafkaError(
                responseError: element.err,
                reason: "Failed to \(action) for \(topicPartition): \(String(cString: rd_kafka_err2str(element.err)))"
            )
        }
    }

    /// Reads the partitions of a list this object does not own, such as the one a rebalance callback receives.
    static func partitions(of list: UnsafePointer<rd_kafka_topic_partition_list_t>) -> [TopicPartition] {
        let elements = UnsafeBufferPointer(start: list.pointee.elems, count: Int(list.pointee.cnt))
        return elements.map(TopicPartition.init)
    }
}

extension TopicPartition {
    /// Reads the topic and partition of a list element.
    init(_ element: rd_kafka_topic_partition_t) {
        self.init(topic: String(cString: element.topic), partition: element.partition)
    }
}
