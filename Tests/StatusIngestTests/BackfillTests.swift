import Foundation
import Kafka
import StatusCore
import StatusIngest
import StatusStore
import XCTest

final class BackfillTests: XCTestCase {
    /// Four executions' updates, one record for an unknown execution and one that is not JSON.
    private func produceMixedRecords(_ harness: WorkerHarness) throws -> (valid: Int, invalid: Int) {
        let executions = (0..<4).map { _ in Fixture.execution() }
        try harness.store.importExecutions(executions)
        var records: [ProducerRecord] = []
        for execution in executions {
            for task in execution.taskNames {
                records.append(Fixture.record(harness.topic, key: execution.id, value: Fixture.update(execution.id, task, "running")))
            }
        }
        let unknown = UUID()
        records.append(Fixture.record(harness.topic, key: unknown, value: Fixture.update(unknown, "extract", "queued")))
        records.append(Fixture.record(harness.topic, key: executions[0].id, value: Array("{\"flow_execution_id\":".utf8)))
        try harness.produce(records)
        return (records.count - 2, 2)
    }

    private func topicBackfill(_ harness: WorkerHarness, start: TopicBackfill.Start = .beginning) throws -> BackfillSummary {
        var kafka = harness.kafka
        kafka["group.id"] = "status-ingest-test-backfill"
        kafka["enable.auto.commit"] = "false"
        let backfill = TopicBackfill(
            topic: harness.topic, deadLetterTopic: harness.deadLetterTopic, start: start, kafkaProperties: kafka,
            options: IngestWorker.Options(ingestTopic: harness.topic, deadLetterTopic: harness.deadLetterTopic),
            logger: TestEnvironment.logger)
        return try backfill.run(store: harness.store, stopSignal: StopSignal())
    }

    private func writeFile(_ lines: [String]) throws -> String {
        let path = try TestEnvironment.temporaryDirectory() + "/events.ndjson"
        try Data((lines.joined(separator: "\n") + "\n").utf8).write(to: URL(fileURLWithPath: path))
        return path
    }

    // MARK: - From a topic

    func testTopicBackfillAppliesEveryRecord() throws {
        let harness = try WorkerHarness(partitions: 3)
        let counts = try produceMixedRecords(harness)

        let summary = try topicBackfill(harness)

        XCTAssertEqual(summary.total, counts.valid + counts.invalid)
        XCTAssertEqual(summary.records, counts.valid + counts.invalid)
        XCTAssertEqual(summary.applied, counts.valid)
        XCTAssertEqual(summary.deadLettersByCode, ["not_found": 1, "validation_error": 1])
        XCTAssertEqual(summary.unprocessed, 0)
        XCTAssertEqual(summary.exitStatus, 0)
        XCTAssertEqual(try harness.store.stats().historyRows, counts.valid)
        XCTAssertEqual(try harness.deadLetters().count, 2)
    }

    func testTopicBackfillRerunChangesNothing() throws {
        let harness = try WorkerHarness(partitions: 3)
        let counts = try produceMixedRecords(harness)
        _ = try topicBackfill(harness)
        let before = try harness.store.stats()

        let second = try topicBackfill(harness)

        XCTAssertEqual(second.applied, 0)
        XCTAssertEqual(second.duplicates, counts.valid)
        XCTAssertEqual(second.deadLetters, 0)
        XCTAssertEqual(second.alreadyDeadLettered, counts.invalid)
        XCTAssertEqual(try harness.store.stats(), before)
        XCTAssertEqual(try harness.deadLetters().count, counts.invalid, "a rerun should publish no dead letter again")
    }

    func testTopicBackfillAfterLiveWorkerChangesNothing() throws {
        let harness = try WorkerHarness(partitions: 2)
        let counts = try produceMixedRecords(harness)
        _ = try harness.runUntilDrained()
        let before = try harness.store.stats()

        let summary = try topicBackfill(harness)

        XCTAssertEqual(summary.duplicates, counts.valid)
        XCTAssertEqual(summary.alreadyDeadLettered, counts.invalid)
        XCTAssertEqual(try harness.store.stats(), before)
        XCTAssertEqual(try harness.deadLetters().count, counts.invalid)
    }

    func testOffsetsBackfillReadsOnlyTheRange() throws {
        let harness = try WorkerHarness(partitions: 2)
        let execution = Fixture.execution(tasks: ["extract"])
        try harness.store.importExecutions([execution])
        var records: [ProducerRecord] = []
        for index in 0..<10 {
            var record = Fixture.record(harness.topic, key: execution.id, value: Fixture.update(execution.id, "extract", "step-\(index)"))
            record.partition = 1
            records.append(record)
        }
        try harness.produce(records)

        let summary = try topicBackfill(harness, start: .offsets([1: (start: 2, end: 5)]))

        XCTAssertEqual(summary.total, 3)
        XCTAssertEqual(summary.applied, 3)
        XCTAssertEqual(try harness.store.stats().historyRows, 3)
        let expected = try DigestLine.sha256(["\(execution.id.uuidString.lowercased())\textract\tstep-4\n"])
        XCTAssertEqual(try harness.store.stats().taskStatesSHA256, expected)
    }

    func testBackfillCommandPrintsSummaryAndProgressLines() throws {
        let harness = try WorkerHarness(partitions: 2)
        let counts = try produceMixedRecords(harness)
        let captured = CapturedOutput()

        let status = try BackfillCommand.run(
            ["--from-beginning", "--progress-interval-ms", "0"], configuration: harness.configuration,
            logger: TestEnvironment.logger, output: captured.output(progressIsTerminal: false))

        XCTAssertEqual(status, 0)
        XCTAssertTrue(captured.text.contains("Backfill of \(harness.topic)"), captured.text)
        XCTAssertTrue(captured.text.contains("\(counts.valid + counts.invalid) of \(counts.valid + counts.invalid)"), captured.text)
        let progressLines = captured.progress.split(separator: "\n")
        XCTAssertFalse(progressLines.isEmpty)
        XCTAssertTrue(progressLines.allSatisfy { $0.hasPrefix("progress: ") }, captured.progress)
        XCTAssertFalse(captured.progress.contains("\r"))
        XCTAssertTrue(progressLines.last?.contains("(100.0%)") ?? false, captured.progress)
    }

    func testBackfillCommandRejectsTwoStarts() throws {
        let harness = try WorkerHarness(partitions: 1)
        XCTAssertThrowsError(try BackfillCommand.run(
            ["--from-beginning", "--offsets", "0:0"], configuration: harness.configuration,
            logger: TestEnvironment.logger, output: CapturedOutput().output())) { error in
            XCTAssertTrue(error is UsageError, "\(error)")
        }
    }

    func testBackfillCommandRequiresAStart() throws {
        let harness = try WorkerHarness(partitions: 1)
        XCTAssertThrowsError(try BackfillCommand.run(
            [], configuration: harness.configuration,
            logger: TestEnvironment.logger, output: CapturedOutput().output())) { error in
            XCTAssertTrue(error is UsageError, "\(error)")
            XCTAssertTrue("\(error)".contains("--from-beginning"), "\(error)")
        }
    }

    // MARK: - From a file

    func testFileBackfillDeadLettersBadLinesOnce() throws {
        let harness = try WorkerHarness(partitions: 2)
        let execution = Fixture.execution()
        try harness.store.importExecutions([execution])
        let unknown = UUID()
        let path = try writeFile([
            Fixture.eventLine(key: execution.id, value: Fixture.update(execution.id, "extract", "queued")),
            "",
            Fixture.eventLine(key: unknown, value: Fixture.update(unknown, "extract", "queued")),
            Fixture.eventLine(key: execution.id, value: Fixture.update(execution.id, "unknown_task", "queued")),
            Fixture.eventLine(key: execution.id, value: Fixture.update(execution.id, "load", "completed")),
        ])
        let backfill = FileBackfill(
            path: path, deadLetterTopic: harness.deadLetterTopic, kafkaProperties: harness.kafka, logger: TestEnvironment.logger)

        let first = try backfill.run(store: harness.store, stopSignal: StopSignal())
        let before = try harness.store.stats()
        let second = try backfill.run(store: harness.store, stopSignal: StopSignal())

        XCTAssertEqual(first.total, 4)
        XCTAssertEqual(first.applied, 2)
        XCTAssertEqual(first.deadLettersByCode, ["not_found": 1, "bad_request": 1])
        XCTAssertEqual(second.applied, 0)
        XCTAssertEqual(second.duplicates, 2)
        XCTAssertEqual(second.alreadyDeadLettered, 2)
        XCTAssertEqual(second.deadLetters, 0)
        XCTAssertEqual(try harness.store.stats(), before)
        let deadLetters = try harness.deadLetters()
        XCTAssertEqual(deadLetters.count, 2)
        XCTAssertEqual(Set(deadLetters.compactMap { $0.header("dlq.source.offset") }), ["3", "4"], "line numbers are the offsets")
        XCTAssertEqual(deadLetters.first?.header("dlq.source.topic"), backfill.sourceName)
    }

    func testFileBackfillRetriesRejectedDeadLetterWritesOnce() throws {
        let harness = try WorkerHarness(partitions: 2)
        let execution = Fixture.execution()
        try harness.store.importExecutions([execution])
        var lines: [String] = []
        for _ in 0..<6 {
            let unknown = UUID()
            lines.append(Fixture.eventLine(key: unknown, value: Fixture.update(unknown, "extract", "queued")))
            lines.append(Fixture.eventLine(key: execution.id, value: Fixture.update(execution.id, "load", "running")))
        }
        let path = try writeFile(lines)
        let backfill = FileBackfill(
            path: path, deadLetterTopic: harness.deadLetterTopic, kafkaProperties: harness.kafka, chunkSize: 4,
            retry: RetryPolicy(initialBackoff: .milliseconds(20), maximumBackoff: .milliseconds(200), budget: .zero),
            logger: TestEnvironment.logger)
        // TOPIC_AUTHORIZATION_FAILED is not retriable: librdkafka reports it, and the backfill sends again.
        harness.cluster.pushRequestErrors(.produce, errors: Array(repeating: 29, count: 3))

        let summary = try backfill.run(store: harness.store, stopSignal: StopSignal())

        XCTAssertEqual(summary.applied, 6)
        XCTAssertEqual(summary.deadLettersByCode, ["not_found": 6])
        XCTAssertEqual(summary.unprocessed, 0)
        let offsets = try harness.deadLetters().compactMap { $0.header("dlq.source.offset") }
        XCTAssertEqual(offsets.count, 6, "each rejected line once: \(offsets)")
        XCTAssertEqual(Set(offsets), ["1", "3", "5", "7", "9", "11"])
    }

    func testFileBackfillWithoutBrokerReportsRejectedLines() throws {
        let harness = try WorkerHarness(partitions: 1)
        let execution = Fixture.execution()
        try harness.store.importExecutions([execution])
        let unknown = UUID()
        let path = try writeFile([
            Fixture.eventLine(key: execution.id, value: Fixture.update(execution.id, "extract", "queued")),
            Fixture.eventLine(key: unknown, value: Fixture.update(unknown, "extract", "queued")),
        ])
        let backfill = FileBackfill(path: path, deadLetterTopic: nil, kafkaProperties: [:], logger: TestEnvironment.logger)

        let summary = try backfill.run(store: harness.store, stopSignal: StopSignal())

        XCTAssertEqual(summary.applied, 1)
        XCTAssertEqual(summary.unprocessed, 1)
        XCTAssertEqual(summary.notDeadLetteredByCode, ["not_found": 1])
        XCTAssertEqual(summary.exitStatus, 1)
        XCTAssertTrue(summary.text.contains("line 2: not_found"), summary.text)
    }

    func testFileWithBrokenLineAppliesNothing() throws {
        let harness = try WorkerHarness(partitions: 1)
        let execution = Fixture.execution()
        try harness.store.importExecutions([execution])
        let path = try writeFile([
            Fixture.eventLine(key: execution.id, value: Fixture.update(execution.id, "extract", "queued")),
            "{\"key\": ",
        ])
        let backfill = FileBackfill(path: path, deadLetterTopic: nil, kafkaProperties: [:], logger: TestEnvironment.logger)

        XCTAssertThrowsError(try backfill.run(store: harness.store, stopSignal: StopSignal())) { error in
            XCTAssertTrue("\(error)".contains(":2:"), "the error should name line 2: \(error)")
        }
        XCTAssertEqual(try harness.store.stats().historyRows, 0)
    }

    // MARK: - The trace sample

    private var sample: String { TestEnvironment.sharedDirectory + "/samples/trace-3000" }

    private func assertMatchesExpected(_ stats: StoreStats, _ expected: ExpectedOutcome, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(stats.historyRows, expected.historyRows, file: file, line: line)
        XCTAssertEqual(stats.taskStates, expected.taskStates, file: file, line: line)
        XCTAssertEqual(stats.taskStatesSHA256, expected.taskStatesSHA256, file: file, line: line)
        XCTAssertEqual(stats.executionsAwaitingInput, expected.executionsAwaitingInput, file: file, line: line)
    }

    func testTraceSampleFileBackfillReachesExpected() throws {
        guard FileManager.default.fileExists(atPath: sample + "/expected.json") else {
            return XCTFail("sample not found at \(sample): the shared material must sit beside the repository (or set STATUS_INGEST_SHARED_DIR)")
        }
        let expected = try ExpectedOutcome.load(path: sample + "/expected.json")
        let harness = try WorkerHarness(partitions: 4)
        try harness.store.importExecutions(try ExecutionFile.load(path: sample + "/executions.ndjson"))
        let backfill = FileBackfill(
            path: sample + "/events.ndjson", deadLetterTopic: harness.deadLetterTopic, kafkaProperties: harness.kafka,
            logger: TestEnvironment.logger)

        let first = try backfill.run(store: harness.store, stopSignal: StopSignal())
        let afterFirst = try harness.store.stats()
        let second = try backfill.run(store: harness.store, stopSignal: StopSignal())

        XCTAssertEqual(first.records, expected.records)
        XCTAssertEqual(first.deadLettersByCode, expected.deadLettersByCode)
        assertMatchesExpected(afterFirst, expected)
        XCTAssertEqual(second.applied, 0)
        XCTAssertEqual(second.deadLetters, 0)
        XCTAssertEqual(second.alreadyDeadLettered, expected.deadLetters)
        XCTAssertEqual(try harness.store.stats(), afterFirst)
    }

    func testTraceSampleDeadLetterStatsAndTopicRerun() throws {
        guard FileManager.default.fileExists(atPath: sample + "/expected.json") else {
            return XCTFail("sample not found at \(sample): the shared material must sit beside the repository (or set STATUS_INGEST_SHARED_DIR)")
        }
        let expected = try ExpectedOutcome.load(path: sample + "/expected.json")
        let harness = try WorkerHarness(partitions: 12)
        try harness.store.importExecutions(try ExecutionFile.load(path: sample + "/executions.ndjson"))
        let events = try EventFile.load(path: sample + "/events.ndjson")
        try harness.produce(events.map { ProducerRecord(topic: harness.topic, key: $0.key, value: $0.value, headers: $0.headers) })
        _ = try harness.runUntilDrained()
        let afterRun = try harness.store.stats()

        let (status, output) = try harness.dlq(["stats", "--json"])
        let backfill = try topicBackfill(harness)

        XCTAssertEqual(status, 0)
        let statistics = try JSONParser.parse(Array(output.text.utf8))
        XCTAssertEqual(statistics["dead_letters"]?.intValue, expected.deadLetters)
        var byCode: [String: Int] = [:]
        for member in statistics["dead_letters_by_code"]?.objectMembers ?? [] {
            byCode[member.key] = member.value.intValue
        }
        XCTAssertEqual(byCode, expected.deadLettersByCode)
        assertMatchesExpected(afterRun, expected)
        XCTAssertEqual(backfill.records, expected.records)
        XCTAssertEqual(backfill.applied, 0)
        XCTAssertEqual(backfill.deadLetters, 0)
        XCTAssertEqual(backfill.alreadyDeadLettered, expected.deadLetters)
        XCTAssertEqual(try harness.store.stats(), afterRun)
    }
}
