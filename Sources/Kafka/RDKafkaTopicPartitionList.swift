import CRdKafka
import Foundation

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

    convenience init(_ offsets: [TopicPartition: CommittedOffset]) {
        self.init(owning: rd_kafka_topic_partition_list_new(Int32(clamping: offsets.count)))
        for (topicPartition, committed) in offsets {
            guard let element = rd_kafka_topic_partition_list_add(pointer, topicPartition.topic, topicPartition.partition) else {
                continue
            }
            element.pointee.offset = committed.offset
            if !committed.metadata.isEmpty {
                // The list's destroy call frees metadata with free(), so it must come from malloc.
                let bytes = Array(committed.metadata.utf8)
                let buffer = malloc(bytes.count)!
                bytes.withUnsafeBytes { buffer.copyMemory(from: $0.baseAddress!, byteCount: bytes.count) }
                element.pointee.metadata = buffer
                element.pointee.metadata_size = bytes.count
            }
        }
    }

    deinit {
        rd_kafka_topic_partition_list_destroy(pointer)
    }

    var committedOffsets: [TopicPartition: CommittedOffset] {
        var result: [TopicPartition: CommittedOffset] = [:]
        for element in elements {
            var metadata = ""
            if let bytes = element.metadata, element.metadata_size > 0 {
                let buffer = UnsafeRawBufferPointer(start: bytes, count: element.metadata_size)
                metadata = String(decoding: buffer, as: UTF8.self)
            }
            result[TopicPartition(element)] = CommittedOffset(offset: element.offset, metadata: metadata)
        }
        return result
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
