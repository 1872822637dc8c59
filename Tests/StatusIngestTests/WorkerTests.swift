import Foundation
import Kafka
import StatusCore
import StatusIngest
import StatusStore
import XCTest

final class WorkerTests: XCTestCase {
    func testValidRecordsAreAppliedAroundBadOnes() throws {
        let harness = try WorkerHarness(partitions: 1)
        let execution = Fixture.execution()
        try harness.store.importExecutions([execution])
        try harness.produce([
            Fixture.record(harness.topic, key: execution.id, value: Fixture.update(execution.id, "extract", "queued")),
            Fixture.record(harness.topic, key: execution.id, value: Array("{\"flow_execution_id\":".utf8)),
            Fixture.record(harness.topic, key: execution.id, value: Fixture.update(execution.id, "extract", "running")),
            Fixture.record(harness.topic, key: execution.id, value: Fixture.update(execution.id, "unknown_task", "running")),
            Fixture.record(harness.topic, key: execution.id, value: Fixture.update(execution.id, "extract", "completed")),
        ])

        let report = try harness.runUntilDrained()

        XCTAssertEqual(report.recordsRead, 5)
        XCTAssertEqual(report.recordsApplied, 3)
        XCTAssertEqual(report.deadLettersByCode, ["validation_error": 1, "bad_request": 1])
        let stats = try harness.store.stats()
        XCTAssertEqual(stats.historyRows, 3)
        XCTAssertEqual(stats.taskStates, 1)
        XCTAssertEqual(try harness.deadLetters().count, 2)
    }

    func testRedeliveredRecordsChangeNothing() throws {
        let harness = try WorkerHarness(partitions: 3)
        let executions = (0..<5).map { _ in Fixture.execution() }
        try harness.store.importExecutions(executions)
        var records: [ProducerRecord] = []
        for execution in executions {
            for task in execution.taskNames {
                records.append(Fixture.record(harness.topic, key: execution.id, value: Fixture.update(execution.id, task, "running")))
            }
        }
        try harness.produce(records)

        let first = try harness.runUntilDrained(groupID: "first-pass")
        let before = try harness.store.stats()
        // A new group reads the topic from the beginning again: every record is delivered a second time.
        let second = try harness.runUntilDrained(groupID: "second-pass")
        let after = try harness.store.stats()

        XCTAssertEqual(first.recordsApplied, records.count)
        XCTAssertEqual(second.recordsApplied, 0)
        XCTAssertEqual(second.duplicates, records.count)
        XCTAssertEqual(after, before)
        XCTAssertEqual(after.historyRows, records.count)
    }

    func testDeadLettersAreNotRepeatedWhenRecordsAreReadAgain() throws {
        let harness = try WorkerHarness(partitions: 3)
        let execution = Fixture.execution()
        try harness.store.importExecutions([execution])
        var records: [ProducerRecord] = []
        for index in 0..<30 {
            let key = index % 3 == 0 ? UUID() : execution.id
            records.append(Fixture.record(harness.topic, key: key, value: Fixture.update(key, "extract", "step-\(index)")))
        }
        try harness.produce(records)

        let first = try harness.runUntilDrained(groupID: "first-pass")
        // A group with no commits reads every record again, as a worker would after a crash that came
        // between publishing dead letters and committing: none may be published twice.
        let second = try harness.runUntilDrained(groupID: "second-pass")

        XCTAssertEqual(first.deadLettersByCode, ["not_found": 10])
        XCTAssertEqual(second.deadLetters, 0)
        XCTAssertEqual(second.alreadyDeadLettered, 10)
        XCTAssertEqual(second.duplicates, 20)
        let deadLetters = try harness.deadLetters()
        XCTAssertEqual(deadLetters.count, 10)
        let sources = Set(deadLetters.map { "\($0.header("dlq.source.partition") ?? "")/\($0.header("dlq.source.offset") ?? "")" })
        XCTAssertEqual(sources.count, 10, "each source record should be on the dead-letter topic once")
    }

    func testRepeatedEventIDIsAppliedOnce() throws {
        let harness = try WorkerHarness(partitions: 1)
        let execution = Fixture.execution()
        try harness.store.importExecutions([execution])
        try harness.produce([
            Fixture.record(harness.topic, key: execution.id, value: Fixture.update(execution.id, "extract", "running", extra: ",\"event_id\":\"e-1\"")),
            Fixture.record(harness.topic, key: execution.id, value: Fixture.update(execution.id, "extract", "failed", extra: ",\"event_id\":\"e-1\"")),
        ])

        let report = try harness.runUntilDrained()

        XCTAssertEqual(report.recordsApplied, 1)
        XCTAssertEqual(report.duplicates, 1)
        XCTAssertEqual(try harness.store.stats().historyRows, 1)
    }

    func testUpdatesOfOneExecutionApplyInPartitionOrder() throws {
        let harness = try WorkerHarness(partitions: 2)
        let execution = Fixture.execution(tasks: ["extract"])
        try harness.store.importExecutions([execution])
        let statuses = (0..<250).map { "step-\($0)" }
        try harness.produce(statuses.map { Fixture.record(harness.topic, key: execution.id, value: Fixture.update(execution.id, "extract", $0)) })

        // Small chunks make the updates span several transactions and several batches of 100.
        let report = try harness.runUntilDrained(pollMaxRecords: 70)

        XCTAssertEqual(report.historyRows, 250)
        let expected = try DigestLine.sha256(["\(execution.id.uuidString.lowercased())\textract\tstep-249\n"])
        XCTAssertEqual(try harness.store.stats().taskStatesSHA256, expected)
    }

    func testAwaitingInputFollowsTaskStates() throws {
        let harness = try WorkerHarness(partitions: 1)
        let paused = Fixture.execution()
        let resumed = Fixture.execution()
        try harness.store.importExecutions([paused, resumed])
        try harness.produce([
            Fixture.record(harness.topic, key: paused.id, value: Fixture.update(paused.id, "extract", "awaiting_input")),
            Fixture.record(harness.topic, key: resumed.id, value: Fixture.update(resumed.id, "load", "awaiting_input")),
            Fixture.record(harness.topic, key: resumed.id, value: Fixture.update(resumed.id, "load", "running")),
        ])

        _ = try harness.runUntilDrained()

        XCTAssertEqual(try harness.store.stats().executionsAwaitingInput, 1)
    }
}

/// The digest `store stats` prints, computed here from known lines with the system's sha256sum.
enum DigestLine {
    static func sha256(_ lines: [String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["sha256sum"]
        let input = Pipe()
        let output = Pipe()
        process.standardInput = input
        process.standardOutput = output
        try process.run()
        input.fileHandleForWriting.write(Data(lines.joined().utf8))
        try input.fileHandleForWriting.close()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return String(decoding: data, as: UTF8.self).split(separator: " ").first.map(String.init) ?? ""
    }
}
