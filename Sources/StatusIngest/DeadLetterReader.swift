import Foundation
import Kafka

/// Reads a dead-letter topic from its beginning to its current end, outside any consumer group.
public enum DeadLetterReader {
    /// Dead-letter records by the error code in their `dlq.error.code` header.
    public static func countByCode(topic: String, kafkaProperties: [String: String]) throws -> [String: Int] {
        var counts: [String: Int] = [:]
        try read(topic: topic, kafkaProperties: kafkaProperties) { message in
            let code = message.headers.last { $0.key == DeadLetterHeader.errorCode }?.value
                .flatMap { String(validating: $0, as: UTF8.self) } ?? "(no code header)"
            counts[code, default: 0] += 1
        }
        return counts
    }

    /// Calls `body` for every record of `topic` up to its current end, each partition in offset order.
    public static func read(topic: String, kafkaProperties: [String: String], _ body: (KafkaMessage) throws -> Void) throws {
        var properties = KafkaRoles.consumerProperties(kafkaProperties)
        properties["group.id"] = "status-ingest-reader-\(UUID().uuidString.lowercased())"
        properties["enable.auto.commit"] = "false"
        properties["auto.offset.reset"] = "earliest"
        let admin = try KafkaAdmin(configuration: KafkaRoles.producerProperties(kafkaProperties))
        guard let partitionCount = try admin.partitionCount(topic: topic, timeoutMilliseconds: 10_000) else {
            return
        }
        let consumer = try KafkaConsumer(configuration: properties)
        defer { try? consumer.close() }

        var ranges: [TopicPartition: Range<Int64>] = [:]
        for partition in 0..<Int32(partitionCount) {
            let topicPartition = TopicPartition(topic: topic, partition: partition)
            let marks = try consumer.watermarks(topicPartition, timeoutMilliseconds: 10_000)
            ranges[topicPartition] = marks.low..<marks.high
        }
        try read(ranges, with: consumer, body)
    }

    /// Calls `body` for every record in `ranges`, each partition in offset order, reading all
    /// partitions under one assignment so that librdkafka fetches them together.
    ///
    /// A large range may take long to read, so only a stall ends the read: no record of an unfinished
    /// partition for 60 s. Records of partitions already at their end do not count as progress, so a
    /// topic that keeps growing cannot hide a partition that never reaches its end.
    /// - Throws: `KafkaError` with `_TIMED_OUT` on a stall, and what `body` throws.
    static func read(
        _ ranges: [TopicPartition: Range<Int64>], with consumer: KafkaConsumer, _ body: (KafkaMessage) throws -> Void
    ) throws {
        var remaining = ranges.filter { !$0.value.isEmpty }
        guard !remaining.isEmpty else { return }
        // Assigned, not subscribed: no group join to wait for, and no offsets committed.
        try consumer.assign(remaining.mapValues(\.lowerBound))

        let stallLimit = Duration.seconds(60)
        var lastProgress = ContinuousClock.now
        while !remaining.isEmpty {
            guard ContinuousClock.now - lastProgress < stallLimit else {
                let names = remaining.keys.map(\.description).sorted().joined(separator: ",")
                throw KafkaError(
                    code: KafkaErrorCode.timedOut, name: "_TIMED_OUT",
                    reason: "reading \(names) stalled: no record for 60 s before their recorded end",
                    isRetriable: true, isFatal: false)
            }
            guard let message = try consumer.poll(timeoutMilliseconds: 200) else { continue }
            guard let range = remaining[message.topicPartition] else { continue }
            lastProgress = .now
            if message.offset + 1 >= range.upperBound {
                remaining[message.topicPartition] = nil
            }
            try body(message)
        }
    }
}
