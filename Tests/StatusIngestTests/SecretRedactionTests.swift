import Foundation
import Kafka
import StatusIngest
import XCTest

final class SecretRedactionTests: XCTestCase {
    private let secrets = [
        "file-sasl-password-1f4e", "environment-sasl-password-77ab", "argument-client-secret-93cd",
        "url-password-5be0", "query-password-c2d1", "key-password-0a9e", "oauth-config-token-6d3f",
    ]

    override func tearDown() {
        KafkaLog.resetHandler()
        super.tearDown()
    }

    func testConfigShowPrintsNoSecret() throws {
        let path = try TestEnvironment.temporaryDirectory() + "/secrets.properties"
        try """
            store.url=postgresql://ingest:url-password-5be0@db.example:5432/flows?sslmode=require&password=query-password-c2d1
            kafka.security.protocol=SASL_SSL
            kafka.sasl.mechanisms=SCRAM-SHA-512
            kafka.sasl.username=status-ingest
            kafka.sasl.password=file-sasl-password-1f4e
            kafka.ssl.key.password=key-password-0a9e
            kafka.sasl.oauthbearer.config=principal=ingest token=oauth-config-token-6d3f

            """.write(toFile: path, atomically: true, encoding: .utf8)

        let (status, output) = try TestEnvironment.capturingStandardOutput {
            StatusIngestCommand.main(
                ["--config", path, "--set", "kafka.sasl.oauthbearer.client.secret=argument-client-secret-93cd", "config", "show"],
                environment: ["STATUS_INGEST_KAFKA_SASL_PASSWORD": "environment-sasl-password-77ab"])
        }

        XCTAssertEqual(status, 0)
        for secret in secrets {
            XCTAssertFalse(output.contains(secret), "config show printed \(secret):\n\(output)")
        }
        XCTAssertTrue(output.contains("kafka.sasl.password=********    # environment STATUS_INGEST_KAFKA_SASL_PASSWORD"), output)
        XCTAssertTrue(output.contains("kafka.sasl.oauthbearer.client.secret=********    # --set"), output)
        XCTAssertTrue(
            output.contains("store.url=postgresql://ingest:********@db.example:5432/flows?sslmode=require&password=********"), output)
        XCTAssertTrue(output.contains("kafka.sasl.username=status-ingest"), output)
    }

    func testWorkerLogsNoSecret() throws {
        let lines = LockedLines()
        let logger = Logger(level: .debug, format: .json) { lines.append($0) }
        KafkaLogRouting.install(logger: logger)
        let harness = try WorkerHarness(partitions: 1)
        let execution = Fixture.execution()
        try harness.store.importExecutions([execution])
        try harness.produce([
            Fixture.record(harness.topic, key: execution.id, value: Fixture.update(execution.id, "extract", "running")),
            Fixture.record(harness.topic, key: execution.id, value: Fixture.update(execution.id, "nope", "running")),
        ])
        var kafka = harness.kafka
        // The mock cluster speaks plaintext, so librdkafka keeps the credentials without using them.
        kafka["sasl.username"] = "status-ingest"
        kafka["sasl.password"] = "file-sasl-password-1f4e"
        kafka["debug"] = "generic,cgrp"

        let observed = try ObservedWorker(harness: harness, store: harness.store, logger: logger, kafka: kafka, untilDrained: true)
        observed.start()
        let report = try observed.waitForExit()
        try observed.stop()

        XCTAssertEqual(report.recordsApplied, 1)
        XCTAssertGreaterThan(lines.all.count, 0)
        for line in lines.all {
            for secret in secrets {
                XCTAssertFalse(line.contains(secret), "a log line holds \(secret): \(line)")
            }
        }
    }
}
