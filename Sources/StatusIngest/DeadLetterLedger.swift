import Foundation
import Kafka

/// The record of input records already on the dead-letter topic. It lets a record be dead-lettered
/// once even when a worker crashes between publishing its dead letter and committing its offset.
///
/// Each input partition's dead letters go to one dead-letter partition (input partition modulo the
/// dead-letter topic's partition count). Every offset commit carries, as metadata, a dead-letter
/// offset at or before the dead letter of every record at or past the committed offset:
/// `dlq=<dead-letter partition>:<offset>`. The next owner of the partition reads the dead-letter
/// partition from there to its end and collects the source offsets of that partition's dead letters:
/// those records are done and are skipped. Without metadata (no commit yet, or a commit by another
/// tool) the scan starts at the dead-letter partition's beginning.
final class DeadLetterLedger {
    let topic: String
    let partitionCount: Int32

    /// Per owned partition, the source offsets of records already on the dead-letter topic, each with
    /// the offset of its dead letter.
    private var published: [TopicPartition: [Int64: Int64]] = [:]
    /// Per dead-letter partition, an offset at or before every dead letter not yet committed past.
    private var safeStart: [Int32: Int64] = [:]
    /// Partitions assigned but not yet scanned, with their committed offsets and metadata.
    private(set) var pendingRecovery: [TopicPartition: CommittedOffset?] = [:]

    init(topic: String, partitionCount: Int) {
        self.topic = topic
        self.partitionCount = Int32(max(partitionCount, 1))
    }

    func deadLetterPartition(for source: TopicPartition) -> Int32 {
        source.partition % partitionCount
    }

    // MARK: - Ownership

    func assigned(_ partitions: [TopicPartition], committed: [TopicPartition: CommittedOffset]?) {
        for partition in partitions {
            // A nil entry still marks the partition as pending: read its dead letters from the beginning.
            let entry: CommittedOffset? = committed?[partition]
            pendingRecovery.updateValue(entry, forKey: partition)
        }
    }

    func revoked(_ partitions: [TopicPartition]) {
        for partition in partitions {
            published[partition] = nil
            pendingRecovery[partition] = nil
        }
    }

    /// Marks `sources` for another scan from the dead-letter offsets in `starts`, taken before a
    /// publish whose outcome is unknown: a delivery reported as failed may still have been written.
    func recheck(_ sources: [TopicPartition: Int64], from starts: [Int32: Int64]) {
        for (source, firstOffset) in sources {
            let partition = deadLetterPartition(for: source)
            let metadata = starts[partition].map { "dlq=\(partition):\($0)" } ?? ""
            pendingRecovery[source] = CommittedOffset(offset: firstOffset, metadata: metadata)
        }
    }

    /// The current safe starts, to pass to `recheck` after an uncertain publish.
    var safeStarts: [Int32: Int64] { safeStart }

    func isPublished(_ message: KafkaMessage) -> Bool {
        published[message.topicPartition]?[message.offset] != nil
    }

    func notePublished(source: TopicPartition, offset: Int64, deadLetterPartition: Int32, deadLetterOffset: Int64) {
        published[source, default: [:]][offset] = deadLetterOffset
        safeStart[deadLetterPartition] = max(safeStart[deadLetterPartition] ?? 0, deadLetterOffset + 1)
    }

    /// Returns the metadata to commit with `source`'s next offset `nextOffset`.
    ///
    /// The start must come at or before every dead letter of a record at or past `nextOffset`. Those
    /// records were dead-lettered but the commit did not pass them (a commit failed during a
    /// rebalance, say), so the next owner must still find them.
    func metadata(for source: TopicPartition, nextOffset: Int64) -> String {
        let partition = deadLetterPartition(for: source)
        let pending = published[source]?.filter { $0.key >= nextOffset }.values.min()
        guard let start = [pending, safeStart[partition]].compactMap({ $0 }).min() else { return "" }
        return "dlq=\(partition):\(start)"
    }

    /// Forgets source offsets below the committed offset: they will not be read again.
    func committed(_ source: TopicPartition, nextOffset: Int64) {
        if let offsets = published[source] {
            published[source] = offsets.filter { $0.key >= nextOffset }
        }
    }

    static func parseMetadata(_ metadata: String) -> (partition: Int32, offset: Int64)? {
        guard metadata.hasPrefix("dlq=") else { return nil }
        let parts = metadata.dropFirst(4).split(separator: ":")
        guard parts.count == 2, let partition = Int32(parts[0]), let offset = Int64(parts[1]) else { return nil }
        return (partition, offset)
    }

    // MARK: - Recovery

    /// Reads the dead-letter partitions of every partition waiting for recovery and records which of
    /// their records are already there. Throws when the dead-letter topic cannot be read; the caller retries.
    func recover(kafkaProperties: [String: String], logger: Logger) throws {
        guard !pendingRecovery.isEmpty else { return }
        var sourcesByPartition: [Int32: [TopicPartition: (committedOffset: Int64, start: Int64?)]] = [:]
        for (source, committed) in pendingRecovery {
            let committedOffset = committed.map { $0.offset >= 0 ? $0.offset : 0 } ?? 0
            var start: Int64?
            if let committed, let recorded = Self.parseMetadata(committed.metadata), recorded.partition == deadLetterPartition(for: source) {
                start = recorded.offset
            }
            sourcesByPartition[deadLetterPartition(for: source), default: [:]][source] = (committedOffset, start)
        }

        var properties = KafkaRoles.consumerProperties(kafkaProperties)
        properties["group.id"] = (kafkaProperties["group.id"] ?? "status-ingest") + ".dead-letter-scan"
        properties["enable.auto.commit"] = "false"
        properties["enable.partition.eof"] = "false"
        let consumer = try KafkaConsumer(configuration: properties)
        defer { try? consumer.close() }

        var scans: [TopicPartition: DeadLetterScan] = [:]
        for (deadLetterPartition, sources) in sourcesByPartition {
            let partition = TopicPartition(topic: topic, partition: deadLetterPartition)
            let marks = try consumer.watermarks(partition, timeoutMilliseconds: 10_000)
            // Without metadata for every source, the whole partition must be read.
            let knownStarts = sources.values.compactMap(\.start)
            let start = knownStarts.count == sources.count ? (knownStarts.min() ?? marks.low) : marks.low
            scans[partition] = DeadLetterScan(
                start: max(start, marks.low), end: marks.high, sources: sources.mapValues(\.committedOffset))
        }
        let found = try scan(consumer, scans)

        for (partition, scan) in scans {
            safeStart[partition.partition] = max(safeStart[partition.partition] ?? 0, scan.end)
            let count = found[partition] ?? 0
            logger.log(count > 0 ? .info : .debug, "dead-letter topic checked for records of newly assigned partitions", [
                "dlq_topic": .string(topic), "dlq_partition": .int(partition.partition),
                "from_offset": .int(scan.start), "to_offset": .int(scan.end),
                "partitions": .string(scan.sources.keys.map(\.description).sorted().joined(separator: ",")),
                "already_dead_lettered": .int(count),
            ])
        }
        pendingRecovery = [:]
    }

    /// One dead-letter partition to read: from `start` to the end it had when recovery began, for the
    /// dead letters of `sources` (each with its committed offset).
    private struct DeadLetterScan {
        var start: Int64
        var end: Int64
        var sources: [TopicPartition: Int64]
    }

    /// Reads every scan's range at once and returns, per dead-letter partition, how many dead letters
    /// of the scan's sources it found.
    ///
    /// One assignment for all partitions lets librdkafka fetch them together. Read one after another,
    /// each partition would first wait for the long-polling fetch of the one before, about
    /// `fetch.wait.max.ms` each, and a worker taking over many partitions could stop polling its
    /// own consumer for longer than `max.poll.interval.ms`.
    private func scan(_ consumer: KafkaConsumer, _ scans: [TopicPartition: DeadLetterScan]) throws -> [TopicPartition: Int] {
        var found: [TopicPartition: Int] = [:]
        // NOTE: the worker's own consumer is not polled meanwhile. A scan longer than
        // max.poll.interval.ms (tens of millions of dead letters at once) costs the assignment, and
        // the next assignment starts the same scan again.
        try DeadLetterReader.read(scans.mapValues { $0.start..<max($0.start, $0.end) }, with: consumer) { message in
            guard let scan = scans[message.topicPartition],
                  let topic = message.header(DeadLetterHeader.sourceTopic),
                  let sourcePartition = message.header(DeadLetterHeader.sourcePartition).flatMap({ Int32($0) }),
                  let sourceOffset = message.header(DeadLetterHeader.sourceOffset).flatMap({ Int64($0) }) else { return }
            let source = TopicPartition(topic: topic, partition: sourcePartition)
            // Every dead letter of a recovered partition counts, also below the committed offset read
            // here: the consumer may start from an older commit than that read, and a record it
            // delivers again that is already on the dead-letter topic is done.
            if scan.sources[source] != nil {
                published[source, default: [:]][sourceOffset] = message.offset
                found[message.topicPartition, default: 0] += 1
            }
        }
        return found
    }
}

extension KafkaMessage {
    /// Returns the last header named `key` as UTF-8 text.
    func header(_ key: String) -> String? {
        headers.last { $0.key == key }?.value.flatMap { String(validating: $0, as: UTF8.self) }
    }
}
