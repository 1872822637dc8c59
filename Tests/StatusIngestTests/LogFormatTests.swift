import Foundation
import Kafka
import StatusIngest
import StatusStore
import XCTest

final class LogFormatTests: XCTestCase {
    override func tearDown() {
        KafkaLog.resetHandler()
        super.tearDown()
    }

    /// Runs a worker through a store outage with a tiny retry budget, so it logs at every level,
    /// with librdkafka's own lines routed through the same logger.
    func testEveryWorkerLogLineParsesAsJSON() throws {
        let lines = LockedLines()
        let logger = Logger(level: .debug, format: .json) { lines.append($0) }
        KafkaLogRouting.install(logger: logger)
        let harness = try WorkerHarness(partitions: 2)
        let execution = Fixture.execution()
        try harness.store.importExecutions([execution])
        try harness.produce([
            Fixture.record(harness.topic, key: execution.id, value: Fixture.update(execution.id, "extract", "queued")),
            Fixture.record(harness.topic, key: execution.id, value: Array("{\"broken\": \"line\nbreak\"".utf8)),
        ])
        let store = SwitchableStore(wrapping: harness.store)
        store.isDown = true
        var kafka = harness.kafka
        kafka["debug"] = "cgrp"
        let observed = try ObservedWorker(
            harness: harness, store: store, logger: logger, kafka: kafka, retryBudget: .milliseconds(1))
        observed.start()
        defer { _ = try? observed.stop() }

        try waitUntil("the retry budget dead-letters the record") {
            observed.metrics.snapshot().deadLettersByCode["repository_error"] == 1
        }
        store.isDown = false
        try harness.produce([
            Fixture.record(harness.topic, key: execution.id, value: Fixture.update(execution.id, "load", "completed")),
        ])
        try waitUntil("the worker applies the record sent after the outage") { observed.metrics.snapshot().recordsApplied == 1 }
        try observed.stop()

        var levels: Set<String> = []
        var librdkafkaLines = 0
        for line in lines.all {
            let parsed = try? JSONSerialization.jsonObject(with: Data(line.utf8))
            let object = try XCTUnwrap(parsed as? [String: Any], "not a JSON object: \(line)")
            let level = try XCTUnwrap(object["level"] as? String, line)
            XCTAssertTrue(["debug", "info", "warning", "error"].contains(level), line)
            XCTAssertNotNil(object["ts"] as? String, line)
            let message = try XCTUnwrap(object["msg"] as? String, line)
            XCTAssertFalse(line.contains("\n"), "one event per line")
            levels.insert(level)
            if message.hasPrefix("librdkafka: ") {
                librdkafkaLines += 1
                XCTAssertNotNil(object["facility"] as? String, line)
                XCTAssertNotNil(object["kafka_level"] as? String, line)
            }
        }
        XCTAssertEqual(levels, ["debug", "info", "warning", "error"])
        XCTAssertGreaterThan(librdkafkaLines, 0, "debug=cgrp should make librdkafka log through the logger")
    }

    func testKafkaLevelsMapOntoLoggerLevels() {
        let expected: [(KafkaLogLevel, Logger.Level)] = [
            (.emergency, .error), (.alert, .error), (.critical, .error), (.error, .error),
            (.warning, .warning), (.notice, .debug), (.info, .debug), (.debug, .debug),
        ]
        for (kafkaLevel, level) in expected {
            XCTAssertEqual(KafkaLogRouting.level(for: kafkaLevel), level, "librdkafka level \(kafkaLevel)")
        }
    }

    func testAutoFormatIsTextOnlyOnATerminal() throws {
        let configuration = Configuration()
        let onTerminal = isatty(STDERR_FILENO) == 1

        XCTAssertEqual(configuration.string("log.format"), "auto")
        XCTAssertEqual(try configuration.logFormat, onTerminal ? .text : .json)
    }
}
