import Foundation
import Kafka
import StatusCore
import StatusIngest
import StatusStore
import XCTest

/// Paths and servers the integration tests use.
enum TestEnvironment {
    static let repositoryRoot: String = {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
    }()

    /// The read-only shared material beside the repository (`../shared`), or `STATUS_INGEST_SHARED_DIR`.
    static var sharedDirectory: String {
        ProcessInfo.processInfo.environment["STATUS_INGEST_SHARED_DIR"] ?? repositoryRoot + "/../shared"
    }

    static func temporaryDirectory() throws -> String {
        let path = NSTemporaryDirectory() + "status-ingest-tests-" + UUID().uuidString.lowercased()
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    /// A PostgreSQL URL with a schema of its own, from `STATUS_INGEST_TEST_POSTGRES_URL`.
    /// Skips the test when the variable is unset, unless `CI` is set: there it must be.
    static func postgresURLWithFreshSchema() throws -> String {
        guard let base = ProcessInfo.processInfo.environment["STATUS_INGEST_TEST_POSTGRES_URL"], !base.isEmpty else {
            if ProcessInfo.processInfo.environment["CI"] != nil {
                XCTFail("STATUS_INGEST_TEST_POSTGRES_URL is not set: run the tests through 'make test'")
            }
            throw XCTSkip("STATUS_INGEST_TEST_POSTGRES_URL is not set; 'make test' starts a server and sets it")
        }
        let schema = "test_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "").prefix(16)
        try runPSQL(base, "CREATE SCHEMA \(schema)")
        let separator = base.contains("?") ? "&" : "?"
        return base + separator + "options=-c%20search_path%3D\(schema)"
    }

    static func runPSQL(_ url: String, _ sql: String) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["psql", url, "-v", "ON_ERROR_STOP=1", "-q", "-c", sql]
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw SampleRunError("psql failed with status \(process.terminationStatus) running: \(sql)")
        }
    }

    /// Runs `body` with file descriptor 1 sent to a file and returns what was written there.
    static func capturingStandardOutput(_ body: () -> Int32) throws -> (status: Int32, output: String) {
        let path = try temporaryDirectory() + "/stdout.txt"
        FileManager.default.createFile(atPath: path, contents: nil)
        let file = open(path, O_WRONLY)
        guard file >= 0 else { throw SampleRunError("cannot open \(path) to capture standard output") }
        let saved = dup(STDOUT_FILENO)
        fflush(nil)
        dup2(file, STDOUT_FILENO)
        let status = body()
        fflush(nil)
        dup2(saved, STDOUT_FILENO)
        close(saved)
        close(file)
        return (status, try String(contentsOfFile: path, encoding: .utf8))
    }

    /// A logger that keeps quiet unless `STATUS_INGEST_TEST_LOG` is set.
    static var logger: Logger {
        ProcessInfo.processInfo.environment["STATUS_INGEST_TEST_LOG"] != nil ? Logger(level: .debug) : Logger(level: .error)
    }
}

/// A mock cluster with the input and dead-letter topics, and a store, for one worker test.
final class WorkerHarness {
    let cluster: MockKafkaCluster
    let topic = "task-status-updates"
    let deadLetterTopic = "task-status-updates.dlq"
    let storeURL: String
    let store: any TaskStatusStore
    var kafka: [String: String]

    init(partitions: Int = 4, storeURL: String? = nil) throws {
        cluster = try MockKafkaCluster(brokerCount: 1)
        try cluster.createTopic(topic, partitions: partitions)
        try cluster.createTopic(deadLetterTopic, partitions: partitions)
        self.storeURL = try storeURL ?? ("sqlite:" + TestEnvironment.temporaryDirectory() + "/store.sqlite")
        store = try StoreFactory.open(url: self.storeURL)
        try store.migrate()
        kafka = [
            "bootstrap.servers": cluster.bootstrapServers,
            "group.id": "status-ingest-test",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": "true",
            "auto.commit.interval.ms": "200",
            "enable.auto.offset.store": "false",
            "session.timeout.ms": "6000",
            "heartbeat.interval.ms": "500",
            "topic.metadata.refresh.interval.ms": "1000",
        ]
    }

    deinit {
        store.close()
        cluster.close()
    }

    func produce(_ records: [ProducerRecord]) throws {
        let producer = try KafkaProducer(configuration: ["bootstrap.servers": cluster.bootstrapServers, "linger.ms": "1"])
        defer { producer.close() }
        var failures = 0
        for record in records {
            try producer.send(record) { result in
                if case .failure = result { failures += 1 }
            }
        }
        try producer.flush(timeoutMilliseconds: 30_000)
        XCTAssertEqual(failures, 0, "every test record should be delivered")
    }

    func runUntilDrained(groupID: String? = nil, pollMaxRecords: Int = 5000) throws -> RunReport {
        var properties = kafka
        if let groupID { properties["group.id"] = groupID }
        let worker = try IngestWorker(
            options: IngestWorker.Options(
                ingestTopic: topic, deadLetterTopic: deadLetterTopic, pollMaxRecords: pollMaxRecords,
                retry: RetryPolicy(initialBackoff: .milliseconds(50), maximumBackoff: .milliseconds(500), budget: .zero),
                untilDrained: true),
            kafkaProperties: properties, store: store, logger: TestEnvironment.logger, stopSignal: StopSignal())
        return try worker.run()
    }

    func deadLetters() throws -> [KafkaMessage] {
        var messages: [KafkaMessage] = []
        try DeadLetterReader.read(topic: deadLetterTopic, kafkaProperties: kafka) { messages.append($0) }
        return messages
    }
}

/// Builders for records and executions in tests.
enum Fixture {
    static let organization = UUID(uuidString: "0abc1230-28bd-5f01-80e7-5ddde0a3c93e")!
    static let otherOrganization = UUID(uuidString: "6147e0d7-7826-5487-82fd-264db7b6a23c")!

    static func execution(_ id: UUID = UUID(), tasks: [String] = ["extract", "transform", "load"], deleted: Bool = false) -> FlowExecution {
        FlowExecution(id: id, organizationID: organization, flowID: UUID(), taskNames: tasks, status: "running", deleted: deleted)
    }

    static func update(_ execution: UUID, _ task: String, _ status: String?, extra: String = "") -> [UInt8] {
        let statusText = status.map { "\"\($0)\"" } ?? "null"
        return Array("{\"flow_execution_id\":\"\(execution.uuidString.lowercased())\",\"task_name\":\"\(task)\",\"status\":\(statusText)\(extra)}".utf8)
    }

    static func record(_ topic: String, key: UUID?, value: [UInt8]?, headers: [KafkaHeader] = []) -> ProducerRecord {
        ProducerRecord(topic: topic, key: key.map { Array($0.uuidString.lowercased().utf8) }, value: value, headers: headers)
    }
}

extension KafkaMessage {
    func header(_ key: String) -> String? {
        headers.last { $0.key == key }?.value.flatMap { String(validating: $0, as: UTF8.self) }
    }
}
