import Foundation
import Kafka
import StatusCore
import StatusStore

/// `status-ingest store prune-applied`: deletes the `applied_records` rows of records that Kafka itself
/// has deleted.
///
/// The store keeps one `applied_records` row per applied record, so that a redelivered record counts
/// as a duplicate. Kafka can deliver a record again only while the record is in its partition, below
/// the log start offset (the low watermark, which retention moves up) it cannot. A worker that lags
/// behind retention may still be applying such a record, though, and its retry after a lost commit
/// must find the row. So pruning also stops at the worker group's committed offset, and partitions
/// the group has never committed keep their rows. Without pruning the table grows with the topic's
/// whole history.
public enum AppliedRecordPruning {
    /// The limit of pruning in one partition: the lower of its log start offset and the worker
    /// group's committed offset.
    struct PartitionBound: Equatable {
        var partition: Int32
        var logStartOffset: Int64
        /// The group's next offset to read, nil when it has committed none.
        var committedOffset: Int64?

        var pruneBelow: Int64 { min(logStartOffset, committedOffset ?? 0) }
    }

    /// The rows pruned, or counted by a dry run, in one partition.
    struct PartitionResult: Equatable {
        var bound: PartitionBound
        var rows: Int
    }

    /// Rows deleted per transaction by default: small enough that the worker's own writes to the
    /// table wait for each transaction only briefly.
    static let defaultBatchSize = 10_000

    /// Runs `store prune-applied ARGUMENTS` on `store` and writes the JSON summary to `output`.
    ///
    /// - Throws: `UsageError` for invalid arguments, `StoreCommandError` for an unknown topic, and the
    ///   store's or Kafka's error when either cannot be reached.
    public static func run(
        _ arguments: [String], configuration: Configuration, store: any TaskStatusStore, logger: Logger,
        output: CommandOutput = .standard
    ) throws -> Int32 {
        let parsed = try CommandLineArguments(arguments, flags: ["dry-run"], options: ["topic", "batch-size"])
        guard parsed.positionals.isEmpty else {
            throw UsageError("store prune-applied takes no positional arguments, got '\(parsed.positionals[0])'")
        }
        guard !configuration.usesEmbeddedBroker else {
            throw UsageError("""
                store prune-applied reads each partition's log start offset from the brokers, but \
                kafka.bootstrap.servers=embedded has no lasting topic; point it at the brokers the worker reads.
                """)
        }
        let topics = (parsed.options["topic"] ?? configuration.ingestTopic)
            .split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        guard !topics.isEmpty else {
            throw UsageError("--topic needs at least one topic name")
        }
        let batchSize = try parsed.integer("batch-size", default: defaultBatchSize, range: 1...1_000_000)
        let dryRun = parsed.flags.contains("dry-run")

        var results: [(topic: String, partitions: [PartitionResult])] = []
        for topic in topics {
            let bounds = try pruneBounds(topic: topic, kafkaProperties: configuration.kafkaProperties)
            let partitions = try prune(store: store, topic: topic, bounds: bounds, batchSize: batchSize, dryRun: dryRun, logger: logger)
            results.append((topic, partitions))
        }
        output.line(json(results, dryRun: dryRun))
        return 0
    }

    /// Reads the log start offset of every partition of `topic`, and the committed offset of the
    /// group named by `group.id` in `kafkaProperties`.
    ///
    /// - Throws: `StoreCommandError` when the brokers do not know the topic, and `KafkaError` when they
    ///   cannot be reached.
    static func pruneBounds(topic: String, kafkaProperties: [String: String]) throws -> [PartitionBound] {
        let admin = try KafkaAdmin(configuration: KafkaRoles.producerProperties(kafkaProperties))
        guard let partitionCount = try admin.partitionCount(topic: topic, timeoutMilliseconds: 10_000) else {
            throw StoreCommandError("""
                topic \(topic) not found on the brokers, so nothing was pruned. Check --topic; the rows of a \
                deleted topic stay until they are deleted by hand.
                """)
        }

        // The worker group's id reads its committed offsets. The consumer never subscribes, so it
        // does not join the group.
        let consumer = try KafkaConsumer(configuration: KafkaRoles.consumerProperties(kafkaProperties))
        defer { try? consumer.close() }

        let partitions = (0..<Int32(partitionCount)).map { TopicPartition(topic: topic, partition: $0) }
        let committed = try consumer.committed(partitions, timeoutMilliseconds: 10_000)
        return try partitions.map { partition in
            let offset = committed[partition] ?? KafkaOffset.invalid
            return PartitionBound(
                partition: partition.partition,
                logStartOffset: try consumer.watermarks(partition, timeoutMilliseconds: 10_000).low,
                committedOffset: offset >= 0 ? offset : nil)
        }
    }

    /// Deletes, in batches of `batchSize`, the rows of `topic` below each partition's bound, or only
    /// counts them when `dryRun` is set.
    static func prune(
        store: any TaskStatusStore, topic: String, bounds: [PartitionBound], batchSize: Int, dryRun: Bool, logger: Logger
    ) throws -> [PartitionResult] {
        var results: [PartitionResult] = []
        for bound in bounds.sorted(by: { $0.partition < $1.partition }) {
            let below = bound.pruneBelow
            var rows = 0
            if dryRun {
                rows = try store.appliedRecordCount(topic: topic, partition: bound.partition, before: below)
            } else if below > 0 {
                while true {
                    let deleted = try store.deleteAppliedRecords(
                        topic: topic, partition: bound.partition, before: below, limit: batchSize)
                    rows += deleted
                    if deleted < batchSize { break }
                }
            }
            if rows > 0 {
                logger.info(dryRun ? "applied records to prune" : "applied records pruned", [
                    "topic": .string(topic), "partition": .int(Int(bound.partition)),
                    "below_offset": .int(Int(below)), "rows": .int(rows),
                ])
            }
            results.append(PartitionResult(bound: bound, rows: rows))
        }
        return results
    }

    /// Formats the results as one JSON document, the way `store stats` prints its figures.
    static func json(_ results: [(topic: String, partitions: [PartitionResult])], dryRun: Bool) -> String {
        var topics: [JSONValue] = []
        var total = 0
        for result in results {
            let rows = result.partitions.reduce(0) { $0 + $1.rows }
            total += rows
            let partitions = result.partitions.map { partition -> JSONValue in
                .object([
                    JSONMember("partition", .number(String(partition.bound.partition))),
                    JSONMember("log_start_offset", .number(String(partition.bound.logStartOffset))),
                    JSONMember("committed_offset", partition.bound.committedOffset.map { .number(String($0)) } ?? .null),
                    JSONMember("prune_below", .number(String(partition.bound.pruneBelow))),
                    JSONMember("rows", .number(String(partition.rows))),
                ])
            }
            topics.append(.object([
                JSONMember("topic", .string(result.topic)),
                JSONMember("rows", .number(String(rows))),
                JSONMember("partitions", .array(partitions)),
            ]))
        }
        return PrettyJSON.format(.object([
            JSONMember("dry_run", .bool(dryRun)),
            JSONMember(dryRun ? "rows_to_delete" : "rows_deleted", .number(String(total))),
            JSONMember("topics", .array(topics)),
        ]))
    }
}
