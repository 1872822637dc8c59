import Foundation
import Kafka
import XCTest

/// The dead-letter topic refusing writes for a while, and dead letters too large for the
/// producer's maximum message size.
final class DeadLetterTopicTests: XCTestCase {
    func testDeadLetterTimeoutsArePublishedAgain() throws {
        // librdkafka retries these itself, but not beyond message.timeout.ms: deliveries time out
        // while the topic keeps refusing writes, and the worker must publish those dead letters again.
        try assertOutageRidden(by: Array(repeating: BrokerError.notLeaderForPartition, count: 200))
    }

    func testRejectedDeadLetterWritesArePublishedAgain() throws {
        // Not retriable: each delivery fails at once, as when the topic's ACLs are wrong for a while.
        try assertOutageRidden(by: Array(repeating: BrokerError.topicAuthorizationFailed, count: 10))
    }

    /// Runs the sample with `errors` pushed for the worker's produce requests, and checks that the
    /// worker published dead letters again, exited 0, and ended with every figure.
    private func assertOutageRidden(by errors: [Int32], file: StaticString = #filePath, line: UInt = #line) throws {
        let scenario = try FaultScenario(store: .sqlite)
        try scenario.loadSample()
        // Every produce request after this point is the worker's, so all the errors hit dead letters.
        scenario.cluster.pushRequestErrors(.produce, errors: errors)
        let worker = try scenario.startWorker(untilDrained: true, overrides: ["kafka.message.timeout.ms": "1000"])

        XCTAssertEqual(try worker.waitForExit(timeout: .seconds(240)), .exited(0), worker.logTail(), file: file, line: line)
        XCTAssertGreaterThan(
            worker.occurrences(of: WorkerLogEvent.deadLetterPublishRetry), 0,
            "the worker never had to publish a dead letter again, so the fault did not reach it\n\(worker.logTail())",
            file: file, line: line)
        try scenario.assertExpectedOutcome(file: file, line: line)
    }

    func testOversizedDeadLetterCarriesOriginalBytes() throws {
        let scenario = try FaultScenario(store: .sqlite)
        try scenario.loadSample()

        // Both fit the worker's default message.max.bytes of 1,000,000 as input records, but even
        // without the parsed copy their envelopes would not: base64 alone makes them 4/3 as large.
        let unknownExecution = "7f3c1d2e-0000-4000-8000-00000000f00d"
        let padding = String(repeating: "p", count: 800_000)
        let notFound = Array(
            "{\"flow_execution_id\":\"\(unknownExecution)\",\"task_name\":\"extract\",\"status\":\"running\",\"padding\":\"\(padding)\"}".utf8)
        let notJSON = Array(("{\"flow_execution_id\": " + String(repeating: "[", count: 900_000)).utf8)
        let partition: Int32 = 3
        let firstOffset = try XCTUnwrap(scenario.highWatermarks()[partition])
        try scenario.produce([
            ProducerRecord(topic: scenario.topic, partition: partition, key: Array(unknownExecution.utf8), value: notFound),
            ProducerRecord(topic: scenario.topic, partition: partition, key: nil, value: notJSON),
        ])
        scenario.expected.records += 2
        scenario.expected.deadLetters += 2
        scenario.expected.deadLettersByCode["not_found", default: 0] += 1
        scenario.expected.deadLettersByCode["validation_error", default: 0] += 1

        try scenario.runUntilDrained()
        try scenario.assertExpectedOutcome()

        let deadLetters = try scenario.deadLetters()
        for (offset, original, code) in [(firstOffset, notFound, "not_found"), (firstOffset + 1, notJSON, "validation_error")] {
            let letter = try XCTUnwrap(
                deadLetters.first { $0.sourcePartition == partition && $0.sourceOffset == offset },
                "no dead letter for \(scenario.topic)[\(partition)] offset \(offset)")
            XCTAssertEqual(letter.code, code, "offset \(offset)")
            XCTAssertEqual(letter.valueFormat, "original", "offset \(offset)")
            XCTAssertTrue(letter.value == original, "offset \(offset): the value is not the original bytes (\(letter.value?.count ?? 0) bytes)")
            XCTAssertTrue(letter.errorBody?.contains("\"code\":\"\(code)\"") ?? false, "offset \(offset): error body header \(letter.errorBody ?? "missing")")
        }
    }
}
