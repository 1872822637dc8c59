import Foundation
import Kafka
import StatusStore

/// Reads offset ranges of the input topic again and applies them through the worker, in a consumer
/// group of its own so the live worker's group and offsets are never touched.
///
/// Each range ends at the partition's high watermark as it was when the backfill started, so records
/// produced during the backfill are left to the live worker. Records the store already has are
/// skipped as duplicates, and records already on the dead-letter topic are skipped too. Before it
/// starts, the backfill commits each range's start in its own group. The worker's dead-letter scan
/// then collects every dead letter from that offset on, whichever worker wrote it.
public struct TopicBackfill {
    /// The first offset of each partition's range.
    public enum Start: Sendable, Equatable {
        /// Each partition's first kept offset.
        case beginning
        /// The first record at or after this time, by record timestamp.
        case timestamp(Date)
        /// Only the partitions listed, from their start offset to their end offset (exclusive), or to
        /// the high watermark where the end is nil.
        case offsets([Int32: (start: Int64, end: Int64?)])

        public static func == (left: Start, right: Start) -> Bool {
            switch (left, right) {
            case (.beginning, .beginning): return true
            case (.timestamp(let a), .timestamp(let b)): return a == b
            case (.offsets(let a), .offsets(let b)):
                return a.count == b.count && a.allSatisfy { key, value in b[key].map { $0.start == value.start && $0.end == value.end } ?? false }
            default: return false
            }
        }
    }

    public var topic: String
    public var deadLetterTopic: String
    public var start: Start
    /// librdkafka properties; `group.id` is the backfill's own group.
    public var kafkaProperties: [String: String]
    public var options: IngestWorker.Options
    public var logger: Logger

    public init(
        topic: String,
        deadLetterTopic: String,
        start: Start,
        kafkaProperties: [String: String],
        options: IngestWorker.Options,
        logger: Logger
    ) {
        self.topic = topic
        self.deadLetterTopic = deadLetterTopic
        self.start = start
        self.kafkaProperties = kafkaProperties
        self.options = options
        self.logger = logger
    }

    // MARK: - Planning

    /// Computes the non-empty offset range of each partition to read from the broker's current watermarks.
    ///
    /// - Throws: `UsageError` for a partition the topic does not have, `KafkaError` when the broker
    ///   cannot be reached, and `ConfigurationError` when the topic does not exist.
    public func plan() throws -> [TopicPartition: OffsetRange] {
        let admin = try KafkaAdmin(configuration: KafkaRoles.producerProperties(kafkaProperties))
        guard let partitionCount = try admin.partitionCount(topic: topic, timeoutMilliseconds: 30_000) else {
            throw ConfigurationError("the topic \(topic) does not exist: check ingest.topic or --topic")
        }
        let consumer = try KafkaConsumer(configuration: KafkaRoles.consumerProperties(kafkaProperties))
        defer { try? consumer.close() }

        let partitions: [Int32]
        if case .offsets(let listed) = start {
            for partition in listed.keys where partition < 0 || Int(partition) >= partitionCount {
                throw UsageError("partition \(partition) is not in \(topic), which has partitions 0 to \(partitionCount - 1)")
            }
            partitions = listed.keys.sorted()
        } else {
            partitions = Array(0..<Int32(partitionCount))
        }

        var watermarks: [TopicPartition: (low: Int64, high: Int64)] = [:]
        for partition in partitions {
            let topicPartition = TopicPartition(topic: topic, partition: partition)
            watermarks[topicPartition] = try consumer.watermarks(topicPartition, timeoutMilliseconds: 10_000)
        }

        var starts: [TopicPartition: Int64] = [:]
        var ends: [TopicPartition: Int64] = [:]
        switch start {
        case .beginning:
            for (partition, marks) in watermarks { starts[partition] = marks.low }
        case .timestamp(let date):
            // NOTE: librdkafka 2.0.2's mock cluster returns the end for every timestamp, so on
            // `dev-broker` or `embedded` a backfill from a time reads nothing.
            let found = try consumer.offsets(forTimestamp: date, partitions: Array(watermarks.keys), timeoutMilliseconds: 30_000)
            for (partition, marks) in watermarks {
                let offset = found[partition] ?? KafkaOffset.end
                starts[partition] = offset < 0 ? marks.high : offset
            }
            let recordsOnTopic = watermarks.values.contains { $0.high > $0.low }
            if recordsOnTopic, watermarks.allSatisfy({ starts[$0.key] == $0.value.high }) {
                logger.warning("no record at or after the time: every partition starts at its end, so nothing is read", [
                    "topic": .string(topic), "from_time": .string(RFC3339Text.format(date)),
                    "hint": .string("a broker answers so for a time after its last record; librdkafka's mock cluster (dev-broker) answers so for every time"),
                ])
            }
        case .offsets(let listed):
            for (partition, bounds) in listed {
                let topicPartition = TopicPartition(topic: topic, partition: partition)
                starts[topicPartition] = bounds.start
                if let end = bounds.end { ends[topicPartition] = end }
            }
        }

        var ranges: [TopicPartition: OffsetRange] = [:]
        for (partition, marks) in watermarks {
            let first = max(starts[partition] ?? marks.low, marks.low)
            let end = min(ends[partition] ?? marks.high, marks.high)
            if first < end {
                ranges[partition] = OffsetRange(start: first, end: end)
            }
        }
        return ranges
    }

    // MARK: - Running

    /// Reads the ranges through the worker and returns the summary.
    ///
    /// - Parameter progress: called after each chunk with the records read so far and the total.
    /// - Throws: what `plan()` and the worker throw.
    public func run(store: any TaskStatusStore, stopSignal: StopSignal, progress: (@Sendable (Int, Int) -> Void)? = nil) throws -> BackfillSummary {
        let ranges = try plan()
        let total = ranges.values.reduce(0) { $0 + Int($1.end - $1.start) }
        var summary = BackfillSummary(source: topic)
        summary.total = total
        logger.info("backfill planned", [
            "topic": .string(topic), "group_id": .string(kafkaProperties["group.id"] ?? ""),
            "partitions": .int(ranges.count), "records": .int(total),
            "ranges": .string(Self.describe(ranges)),
        ])
        guard !ranges.isEmpty else { return summary }

        try commitStarts(ranges)
        var options = self.options
        options.ingestTopic = topic
        options.deadLetterTopic = deadLetterTopic
        options.ranges = ranges
        options.untilDrained = false
        if let progress {
            options.progress = { report in progress(report.recordsRead, total) }
        }
        let worker = try IngestWorker(
            options: options, kafkaProperties: kafkaProperties, store: store, logger: logger, stopSignal: stopSignal)
        let report = try worker.run()

        summary.records = report.recordsRead
        summary.applied = report.recordsApplied
        summary.historyRows = report.historyRows
        summary.duplicates = report.duplicates
        summary.deadLettersByCode = report.deadLettersByCode
        summary.alreadyDeadLettered = report.alreadyDeadLettered
        summary.seconds = report.activeSeconds ?? 0
        if stopSignal.isRequested {
            summary.unprocessed = max(total - report.recordsRead, 0)
        }
        return summary
    }

    /// Commits each range's start in the backfill's group, without metadata, so the worker reads the
    /// whole dead-letter partition for records already dead-lettered at or after the start.
    private func commitStarts(_ ranges: [TopicPartition: OffsetRange]) throws {
        let consumer = try KafkaConsumer(configuration: KafkaRoles.consumerProperties(kafkaProperties))
        defer { try? consumer.close() }
        try consumer.commit(withMetadata: ranges.mapValues { CommittedOffset(offset: $0.start, metadata: "") })
    }

    static func describe(_ ranges: [TopicPartition: OffsetRange]) -> String {
        ranges.keys.sorted { $0.partition < $1.partition }
            .map { "\($0.partition):\(ranges[$0]!.start)-\(ranges[$0]!.end)" }
            .joined(separator: ",")
    }
}
