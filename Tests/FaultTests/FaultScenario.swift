import Foundation
import Kafka
import StatusCore
import StatusIngest
import StatusStore
import XCTest

/// One fault case's world: a mock cluster hosted by the test process, a store, the `trace-3000`
/// sample loaded into both, and `status-ingest run` children pointed at them.
///
/// The cluster lives here rather than in a worker so that it outlives every worker killed on purpose.
final class FaultScenario {
    /// Where the store lives.
    enum StoreKind {
        case sqlite
        case postgres
    }

    let topic = "task-status-updates"
    let deadLetterTopic = "task-status-updates.dlq"
    let groupID = "status-ingest-faults"
    let partitions: Int
    let cluster: MockKafkaCluster
    let directory: String
    let storeURL: String
    let postgres: PostgresServer?
    /// The figures the run must end with; cases that add records of their own add them here too.
    var expected: ExpectedOutcome
    /// Settings every child gets, as configuration keys (`ingest.poll.max.records`); a case may change them.
    var settings: [String: String]
    private(set) var workers: [WorkerProcess] = []
    private let binary: String
    private let configurationPath: String

    /// Creates the cluster, its two topics and an empty, migrated store.
    /// - Throws: `XCTSkip` for a PostgreSQL case when the tests run without the test server.
    init(store: StoreKind, brokers: Int = 1, partitions: Int = 12) throws {
        guard FileManager.default.fileExists(atPath: FaultEnvironment.sampleDirectory + "/expected.json") else {
            throw FaultSetupError(
                "sample not found at \(FaultEnvironment.sampleDirectory): the shared material must sit beside the "
                    + "repository (or set STATUS_INGEST_SHARED_DIR)")
        }
        binary = try FaultEnvironment.workerBinary()
        directory = try FaultEnvironment.temporaryDirectory()
        switch store {
        case .sqlite:
            postgres = nil
            storeURL = "sqlite:" + directory + "/store.sqlite"
        case .postgres:
            let server = try FaultEnvironment.postgresServer()
            postgres = server
            storeURL = try server.urlWithFreshSchema()
        }
        // An empty file, so that the repository's config/status-ingest.properties cannot leak in.
        configurationPath = directory + "/empty.properties"
        _ = FileManager.default.createFile(atPath: configurationPath, contents: Data())

        self.partitions = partitions
        cluster = try MockKafkaCluster(brokerCount: brokers)
        try cluster.createTopic(topic, partitions: partitions)
        try cluster.createTopic(deadLetterTopic, partitions: partitions)
        expected = try ExpectedOutcome.load(path: FaultEnvironment.sampleDirectory + "/expected.json")
        settings = [
            "kafka.bootstrap.servers": cluster.bootstrapServers,
            "kafka.group.id": groupID,
            "store.url": storeURL,
            // Small chunks give many commits, so faults land between and inside them.
            "ingest.poll.max.records": "1000",
            "ingest.retry.initial.backoff.ms": "50",
            "ingest.retry.max.backoff.ms": "1000",
            "ingest.shutdown.timeout.ms": "10000",
            "kafka.session.timeout.ms": "6000",
            "kafka.heartbeat.interval.ms": "500",
            "kafka.auto.commit.interval.ms": "200",
            "kafka.topic.metadata.refresh.interval.ms": "1000",
            // librdkafka 2.0.2's mock broker does not check an idempotent producer's sequence numbers.
            // When it drops a connection, a produce request it already appended loses its response, and
            // librdkafka sends it again. A real broker discards that copy, but the mock appends it twice.
            // With one request in flight per connection, no appended request is waiting for its response
            // when a connection drops.
            "kafka.max.in.flight.requests.per.connection": "1",
            "log.level": "info",
            "log.format": "json",
            // Several workers run at once: the metrics server would want the same port in each.
            "metrics.port": "0",
        ]

        let handle = try StoreFactory.open(url: storeURL)
        defer { handle.close() }
        try handle.migrate()
    }

    deinit {
        // Children first: a cluster closed under a running worker only makes it log connection failures.
        for worker in workers where worker.isRunning {
            try? worker.kill()
        }
        cluster.close()
    }

    // MARK: - Loading

    /// Imports the sample's flow executions into the store and produces its events to the input topic.
    func loadSample() throws {
        try importSampleExecutions()
        let events = try EventFile.load(path: FaultEnvironment.sampleDirectory + "/events.ndjson")
        try produce(events.map { ProducerRecord(topic: topic, key: $0.key, value: $0.value, headers: $0.headers) })
    }

    /// Imports the sample's flow executions into the store and returns them.
    @discardableResult
    func importSampleExecutions() throws -> [FlowExecution] {
        let executions = try ExecutionFile.load(path: FaultEnvironment.sampleDirectory + "/executions.ndjson")
        let handle = try StoreFactory.open(url: storeURL)
        defer { handle.close() }
        try handle.importExecutions(executions)
        return executions
    }

    /// Produces records in order, waits until the broker acknowledged every one, and returns where
    /// each landed, in the order of `records`.
    @discardableResult
    func produce(_ records: [ProducerRecord]) throws -> [DeliveryReport] {
        let producer = try KafkaProducer(configuration: [
            "bootstrap.servers": cluster.bootstrapServers, "linger.ms": "5", "enable.idempotence": "true",
            "message.max.bytes": "1048576",
        ])
        defer { producer.close() }
        let deliveries = DeliveryCollector(count: records.count)
        for (index, record) in records.enumerated() {
            while true {
                do {
                    try producer.send(record) { result in deliveries.note(index, result) }
                    break
                } catch let error as KafkaError where error.code == KafkaErrorCode.queueFull {
                    producer.poll(timeoutMilliseconds: 100)
                }
            }
            producer.poll(timeoutMilliseconds: 0)
        }
        try producer.flush(timeoutMilliseconds: 120_000)
        let reports = deliveries.reports.compactMap { $0 }
        guard reports.count == records.count else {
            throw FaultSetupError(
                "\(records.count - reports.count) of \(records.count) input records were not delivered: \(deliveries.firstError ?? "")")
        }
        return reports
    }

    // MARK: - Workers

    /// Starts `status-ingest run` (with `--until-drained` when asked) with the scenario's settings and `overrides`.
    @discardableResult
    func startWorker(untilDrained: Bool, overrides: [String: String] = [:]) throws -> WorkerProcess {
        var environment: [String: String] = [:]
        for (key, value) in settings.merging(overrides, uniquingKeysWith: { $1 }) {
            environment[Configuration.variableName(for: key)] = value
        }
        let name = "worker-\(workers.count + 1)"
        let worker = try WorkerProcess(
            name: name, binary: binary,
            arguments: ["--config", configurationPath, "run"] + (untilDrained ? ["--until-drained"] : []),
            environment: environment, logPath: directory + "/\(name).log")
        workers.append(worker)
        return worker
    }

    /// Runs one worker with `--until-drained` and fails the test unless it exits 0.
    func runUntilDrained(overrides: [String: String] = [:], timeout: Duration = .seconds(180),
                         file: StaticString = #filePath, line: UInt = #line) throws {
        let worker = try startWorker(untilDrained: true, overrides: overrides)
        let termination = try worker.waitForExit(timeout: timeout)
        XCTAssertEqual(termination, .exited(0), "\(worker.name) \(termination)\n\(worker.logTail())", file: file, line: line)
    }

    /// The log tails of every child, for a failure message.
    var logTails: String {
        workers.map { $0.logTail(lines: 25) }.joined(separator: "\n")
    }

    // MARK: - Offsets

    /// Returns the end of each input partition: the offset after its last record.
    func highWatermarks() throws -> [Int32: Int64] {
        let consumer = try KafkaConsumer(configuration: [
            "bootstrap.servers": cluster.bootstrapServers, "group.id": groupID + "-observer", "enable.auto.commit": "false",
        ])
        defer { try? consumer.close() }
        var marks: [Int32: Int64] = [:]
        for partition in 0..<Int32(partitions) {
            let (low, high) = try consumer.watermarks(TopicPartition(topic: topic, partition: partition), timeoutMilliseconds: 10_000)
            guard low == 0 else {
                throw FaultSetupError(
                    "\(topic)[\(partition)] starts at offset \(low): the mock cluster dropped records (it keeps about 5 MiB per partition)")
            }
            marks[partition] = high
        }
        return marks
    }

    /// Returns the worker group's committed offset per input partition, `nil` where none was committed.
    ///
    /// The offsets are requested from the group coordinator by a consumer that never joins the group, so it changes no assignment.
    func committedOffsets() throws -> [Int32: Int64?] {
        let consumer = try KafkaConsumer(configuration: [
            "bootstrap.servers": cluster.bootstrapServers, "group.id": groupID, "enable.auto.commit": "false",
        ])
        defer { try? consumer.close() }
        let topicPartitions = (0..<Int32(partitions)).map { TopicPartition(topic: topic, partition: $0) }
        let committed = try consumer.committed(topicPartitions, timeoutMilliseconds: 10_000)
        var offsets: [Int32: Int64?] = [:]
        for topicPartition in topicPartitions {
            let offset = committed[topicPartition] ?? -1
            offsets[topicPartition.partition] = offset >= 0 ? offset : nil
        }
        return offsets
    }

    /// Waits until the group has committed the end of every input partition, as a worker running
    /// without `--until-drained` does once it has caught up.
    func waitUntilGroupCaughtUp(timeout: Duration) throws {
        let marks = try highWatermarks()
        let deadline = ContinuousClock.now + timeout
        while true {
            let committed = try committedOffsets()
            let behind = marks.filter { partition, high in (committed[partition] ?? nil) ?? 0 < high }
            if behind.isEmpty { return }
            guard ContinuousClock.now < deadline else {
                throw WorkerTimeoutError(
                    "the group did not commit the end of \(behind.count) partitions within \(timeout): "
                        + "committed \(committed.sorted { $0.key < $1.key }), ends \(marks.sorted { $0.key < $1.key })\n\(logTails)")
            }
            Thread.sleep(forTimeInterval: 0.5)
        }
    }

    // MARK: - Dead letters

    /// Reads every record of the dead-letter topic and returns its summary.
    func deadLetters() throws -> [DeadLetterSummary] {
        var summaries: [DeadLetterSummary] = []
        try DeadLetterReader.read(topic: deadLetterTopic, kafkaProperties: ["bootstrap.servers": cluster.bootstrapServers]) { message in
            summaries.append(DeadLetterSummary(message))
        }
        return summaries
    }

    // MARK: - Checking the outcome

    /// Checks every figure of `expected` and that each input record sits in exactly one place: once
    /// in the store's `applied_records`, or once on the dead-letter topic with a contract code.
    func assertExpectedOutcome(file: StaticString = #filePath, line: UInt = #line) throws {
        let marks = try highWatermarks()
        XCTAssertEqual(marks.values.reduce(0, +), Int64(expected.records), "records on the input topic", file: file, line: line)

        let committed = try committedOffsets()
        for (partition, high) in marks.sorted(by: { $0.key < $1.key }) {
            XCTAssertEqual(committed[partition] ?? nil, high, "committed offset of \(topic)[\(partition)]", file: file, line: line)
        }

        let handle = try StoreFactory.open(url: storeURL)
        let stats = try handle.stats()
        handle.close()
        XCTAssertEqual(stats.historyRows, expected.historyRows, "history_rows", file: file, line: line)
        XCTAssertEqual(stats.taskStates, expected.taskStates, "task_states", file: file, line: line)
        XCTAssertEqual(stats.taskStatesSHA256, expected.taskStatesSHA256, "task_states_sha256", file: file, line: line)
        XCTAssertEqual(stats.executionsAwaitingInput, expected.executionsAwaitingInput, "executions_awaiting_input", file: file, line: line)

        let deadLetters = try deadLetters()
        var byCode: [String: Int] = [:]
        for deadLetter in deadLetters {
            byCode[deadLetter.code ?? "(no code header)", default: 0] += 1
        }
        XCTAssertEqual(deadLetters.count, expected.deadLetters, "dead_letters", file: file, line: line)
        XCTAssertEqual(byCode, expected.deadLettersByCode, "dead_letters_by_code", file: file, line: line)

        let ledger = try RecordLedger(
            ends: marks, applied: AppliedRecords.offsets(topic: topic, storeURL: storeURL, postgres: postgres),
            deadLetters: deadLetters, topic: topic)
        XCTAssertEqual(ledger.deadLetteredTwice, [], "source records dead-lettered more than once", file: file, line: line)
        XCTAssertEqual(ledger.deadLettersWithoutSource, 0, "dead letters without dlq.source headers", file: file, line: line)
        XCTAssertEqual(ledger.appliedAndDeadLettered, [], "records both applied and dead-lettered", file: file, line: line)
        XCTAssertEqual(ledger.unaccounted, [], "records neither applied nor dead-lettered", file: file, line: line)
    }

    /// Checks that the group's committed offsets pass no record that is neither applied nor
    /// dead-lettered: what a crash at this moment would rely on.
    func assertCommittedOffsetsPassOnlyFinishedRecords(file: StaticString = #filePath, line: UInt = #line) throws {
        let committed = try committedOffsets()
        var ends: [Int32: Int64] = [:]
        for (partition, offset) in committed {
            ends[partition] = offset ?? 0
        }
        let ledger = try RecordLedger(
            ends: ends, applied: AppliedRecords.offsets(topic: topic, storeURL: storeURL, postgres: postgres),
            deadLetters: deadLetters(), topic: topic)
        XCTAssertEqual(ledger.unaccounted, [], "committed offsets pass records neither applied nor dead-lettered", file: file, line: line)
    }
}

/// The parts of a dead-letter record the fault tests check.
struct DeadLetterSummary {
    var code: String?
    var sourceTopic: String?
    var sourcePartition: Int32?
    var sourceOffset: Int64?
    var valueFormat: String?
    var errorBody: String?
    var failedAt: String?
    var value: [UInt8]?

    init(_ message: KafkaMessage) {
        func header(_ key: String) -> String? {
            message.headers.last { $0.key == key }?.value.flatMap { String(validating: $0, as: UTF8.self) }
        }
        code = header(DeadLetterHeader.errorCode)
        sourceTopic = header(DeadLetterHeader.sourceTopic)
        sourcePartition = header(DeadLetterHeader.sourcePartition).flatMap { Int32($0) }
        sourceOffset = header(DeadLetterHeader.sourceOffset).flatMap { Int64($0) }
        valueFormat = header(DeadLetterHeader.valueFormat)
        errorBody = header(DeadLetterHeader.errorBody)
        failedAt = header(DeadLetterHeader.failedAt)
        value = message.value
    }
}

/// Input records sorted into applied, dead-lettered, both, or neither, up to an end offset per partition.
struct RecordLedger {
    /// A source record as `partition:offset`, readable in a failure message.
    typealias Coordinates = String

    var deadLetteredTwice: [Coordinates] = []
    var appliedAndDeadLettered: [Coordinates] = []
    var unaccounted: [Coordinates] = []
    var deadLettersWithoutSource = 0

    init(ends: [Int32: Int64], applied: [Int32: [Int64]], deadLetters: [DeadLetterSummary], topic: String) throws {
        // Each source record's dead letters, by failure time and value: a send stamps its own time, so
        // identical copies come from one send written twice.
        var deadLettered: [Int32: [Int64: [String]]] = [:]
        for deadLetter in deadLetters {
            guard deadLetter.sourceTopic == topic, let partition = deadLetter.sourcePartition, let offset = deadLetter.sourceOffset else {
                deadLettersWithoutSource += 1
                continue
            }
            let send = (deadLetter.failedAt ?? "") + " " + (deadLetter.value.map { Data($0).base64EncodedString() } ?? "")
            deadLettered[partition, default: [:]][offset, default: []].append(send)
        }
        for (partition, offsets) in deadLettered {
            for (offset, sends) in offsets where sends.count > 1 {
                deadLetteredTwice.append("\(partition):\(offset) (\(sends.count) times, \(Set(sends).count) sends)")
            }
        }
        for (partition, end) in ends.sorted(by: { $0.key < $1.key }) {
            let appliedOffsets = Set(applied[partition] ?? [])
            let deadLetteredOffsets = deadLettered[partition] ?? [:]
            for offset in 0..<end {
                let isApplied = appliedOffsets.contains(offset)
                let isDeadLettered = deadLetteredOffsets[offset] != nil
                if isApplied && isDeadLettered {
                    appliedAndDeadLettered.append("\(partition):\(offset)")
                } else if !isApplied && !isDeadLettered {
                    unaccounted.append("\(partition):\(offset)")
                }
            }
        }
        deadLetteredTwice.sort()
        // A long list only repeats itself; the first few show where it went wrong.
        appliedAndDeadLettered = Array(appliedAndDeadLettered.prefix(20))
        unaccounted = Array(unaccounted.prefix(20))
    }
}

/// Collects the producer's delivery reports by the index of the record sent.
private final class DeliveryCollector {
    private(set) var reports: [DeliveryReport?]
    private(set) var firstError: String?

    init(count: Int) {
        reports = Array(repeating: nil, count: count)
    }

    func note(_ index: Int, _ result: Result<DeliveryReport, KafkaError>) {
        switch result {
        case .success(let report):
            reports[index] = report
        case .failure(let error):
            if firstError == nil { firstError = error.description }
        }
    }
}
