import Foundation
import Kafka
import StatusCore
import StatusIngest
import StatusStore
import XCTest

/// `store prune-applied` against a mock cluster whose partition 0 has dropped its first records.
final class PruneAppliedTests: XCTestCase {
    /// Updates applied per partition before the filler pushes partition 0's old records out.
    private let appliedPerPartition = 20

    /// Creates a harness whose store has applied records of partitions 0 and 1, then sends partition 0
    /// enough filler for the mock cluster to delete those records from its log.
    private func makePrunableHarness() throws -> WorkerHarness {
        let harness = try WorkerHarness(partitions: 2)
        let execution = Fixture.execution()
        try harness.store.importExecutions([execution])
        var records: [ProducerRecord] = []
        for partition in Int32(0)...1 {
            for _ in 0..<appliedPerPartition {
                var record = Fixture.record(harness.topic, key: execution.id, value: Fixture.update(execution.id, "extract", "running"))
                record.partition = partition
                records.append(record)
            }
        }
        try harness.produce(records)
        XCTAssertEqual(try harness.runUntilDrained().recordsApplied, 2 * appliedPerPartition)

        // librdkafka 2.0.2's mock cluster keeps about 5 MB per partition and drops the oldest record
        // batches beyond that, as retention does on a broker: 8 MB of filler moves the log start.
        let filler = [UInt8](repeating: UInt8(ascii: "x"), count: 16 * 1024)
        var fillerRecords: [ProducerRecord] = []
        for _ in 0..<512 {
            var record = Fixture.record(harness.topic, key: nil, value: filler)
            record.partition = 0
            fillerRecords.append(record)
        }
        try harness.produce(fillerRecords)
        return harness
    }

    private func prune(
        _ harness: WorkerHarness, _ arguments: [String], configuration: Configuration? = nil
    ) throws -> (status: Int32, output: CapturedOutput) {
        let captured = CapturedOutput()
        let status = try AppliedRecordPruning.run(
            arguments, configuration: configuration ?? harness.configuration, store: harness.store,
            logger: TestEnvironment.logger, output: captured.output())
        return (status, captured)
    }

    private func logStart(_ harness: WorkerHarness, partition: Int32) throws -> Int64 {
        var properties = harness.kafka
        properties["group.id"] = "prune-test-\(UUID())"
        let consumer = try KafkaConsumer(configuration: properties)
        defer { try? consumer.close() }
        return try consumer.watermarks(TopicPartition(topic: harness.topic, partition: partition), timeoutMilliseconds: 10_000).low
    }

    func testDeletesRowsBelowLogStartOnly() throws {
        let harness = try makePrunableHarness()
        let start = try logStart(harness, partition: 0)
        XCTAssertGreaterThanOrEqual(start, Int64(appliedPerPartition), "the filler should push the applied records out of partition 0")
        XCTAssertEqual(try logStart(harness, partition: 1), 0)

        let (status, output) = try prune(harness, ["--batch-size", "7"])

        XCTAssertEqual(status, 0)
        let summary = try JSONParser.parse(Array(output.text.utf8))
        XCTAssertEqual(summary["rows_deleted"], .number(String(appliedPerPartition)), output.text)
        XCTAssertEqual(summary["dry_run"], .bool(false))
        XCTAssertEqual(try harness.store.appliedRecordCount(topic: harness.topic, partition: 0, before: .max), 0)
        XCTAssertEqual(try harness.store.appliedRecordCount(topic: harness.topic, partition: 1, before: .max), appliedPerPartition)
        XCTAssertEqual(try harness.store.stats().historyRows, 2 * appliedPerPartition, "pruning leaves the history alone")
    }

    func testDryRunCountsAndDeletesNothing() throws {
        let harness = try makePrunableHarness()

        let (status, output) = try prune(harness, ["--dry-run"])

        XCTAssertEqual(status, 0)
        let summary = try JSONParser.parse(Array(output.text.utf8))
        XCTAssertEqual(summary["dry_run"], .bool(true))
        XCTAssertEqual(summary["rows_to_delete"], .number(String(appliedPerPartition)), output.text)
        XCTAssertEqual(try harness.store.appliedRecordCount(topic: harness.topic, partition: 0, before: .max), appliedPerPartition)
    }

    func testGroupWithoutCommitsKeepsItsRows() throws {
        let harness = try makePrunableHarness()
        var configuration = harness.configuration
        configuration.set("kafka.group.id", "a-group-that-never-committed")

        let (status, output) = try prune(harness, [], configuration: configuration)

        XCTAssertEqual(status, 0)
        let summary = try JSONParser.parse(Array(output.text.utf8))
        XCTAssertEqual(summary["rows_deleted"], .number("0"), output.text)
        XCTAssertEqual(summary["topics"]?[0]?["partitions"]?[0]?["committed_offset"], .null, output.text)
        XCTAssertEqual(try harness.store.appliedRecordCount(topic: harness.topic, partition: 0, before: .max), appliedPerPartition)
    }

    func testUnknownTopicIsAnError() throws {
        let harness = try WorkerHarness(partitions: 1)

        XCTAssertThrowsError(try prune(harness, ["--topic", "no-such-topic"])) { error in
            XCTAssertTrue("\(error)".contains("topic no-such-topic not found"), "\(error)")
        }
    }

    func testEmbeddedBrokerIsRejected() throws {
        let harness = try WorkerHarness(partitions: 1)
        let configuration = Configuration(values: ["kafka.bootstrap.servers": "embedded", "store.url": harness.storeURL])

        XCTAssertThrowsError(try AppliedRecordPruning.run(
            [], configuration: configuration, store: harness.store, logger: TestEnvironment.logger)) { error in
            XCTAssertTrue(error is UsageError, "\(error)")
        }
    }
}
