import Kafka

/// Text for the partitions and offsets a chunk covered, for log lines: `topic/0:10-95,topic/3:7-7`.
enum OffsetRanges {
    static func describe(_ messages: [KafkaMessage]) -> String {
        var ranges: [TopicPartition: (first: Int64, last: Int64)] = [:]
        for message in messages {
            let current = ranges[message.topicPartition]
            ranges[message.topicPartition] = (min(current?.first ?? message.offset, message.offset), max(current?.last ?? message.offset, message.offset))
        }
        return ranges.keys.sorted { ($0.topic, $0.partition) < ($1.topic, $1.partition) }.map { partition in
            let range = ranges[partition]!
            return "\(partition.description):\(range.first)-\(range.last)"
        }.joined(separator: ",")
    }
}
