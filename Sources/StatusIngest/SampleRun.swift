import Foundation
import Kafka
import StatusCore
import StatusStore

/// Runs a sample (`executions.ndjson`, `events.ndjson`, `expected.json`) end to end through an
/// in-process mock cluster and a store, and compares the outcome with the expected figures.
///
/// This is `make run`'s quick start, and the integration tests run the same path.
public struct SampleRun {
    public var sampleDirectory: String
    public var storeURL: String
    public var partitions: Int
    public var logger: Logger
    public var pollMaxRecords = 10000
    /// Store connections the worker applies on; nil picks the store's default.
    public var storeConnections: Int?
    /// librdkafka properties that replace the defaults (the bootstrap servers and group stay the sample's own).
    public var kafkaOverrides: [String: String] = [:]

    public init(sampleDirectory: String, storeURL: String, partitions: Int = 12, logger: Logger) {
        self.sampleDirectory = sampleDirectory
        self.storeURL = storeURL
        self.partitions = partitions
        self.logger = logger
    }

    /// The figures of one run, next to the sample's expected ones.
    public struct Outcome: Sendable {
        public var recordsProduced: Int
        public var report: RunReport
        public var stats: StoreStats
        public var deadLettersByCode: [String: Int]
        public var expected: ExpectedOutcome
        /// Seconds from the first record consumed to the last offset stored.
        public var seconds: Double

        /// Each figure that differs from the expected one, as `name: expected X, got Y`.
        public var differences: [String] {
            var lines: [String] = []
            func compare<T: Equatable>(_ name: String, _ expected: T, _ actual: T) {
                if expected != actual { lines.append("\(name): expected \(expected), got \(actual)") }
            }
            compare("records", expected.records, report.recordsRead)
            compare("history_rows", expected.historyRows, stats.historyRows)
            compare("task_states", expected.taskStates, stats.taskStates)
            compare("task_states_sha256", expected.taskStatesSHA256, stats.taskStatesSHA256)
            compare("executions_awaiting_input", expected.executionsAwaitingInput, stats.executionsAwaitingInput)
            compare("dead_letters", expected.deadLetters, deadLettersByCode.values.reduce(0, +))
            for code in Set(expected.deadLettersByCode.keys).union(deadLettersByCode.keys).sorted() {
                compare("dead_letters_by_code.\(code)", expected.deadLettersByCode[code] ?? 0, deadLettersByCode[code] ?? 0)
            }
            return lines
        }
    }

    /// Loads the sample, produces its events, runs the worker until drained and reads back the dead letters.
    public func run() throws -> Outcome {
        let expected = try ExpectedOutcome.load(path: sampleDirectory + "/expected.json")
        let executions = try ExecutionFile.load(path: sampleDirectory + "/executions.ndjson")
        let events = try EventFile.load(path: sampleDirectory + "/events.ndjson")

        let cluster = try MockKafkaCluster(brokerCount: 1)
        defer { cluster.close() }
        let topic = "task-status-updates"
        let deadLetterTopic = topic + ".dlq"
        try cluster.createTopic(topic, partitions: partitions)
        try cluster.createTopic(deadLetterTopic, partitions: partitions)
        var kafka: [String: String] = [:]
        for (key, value) in Configuration.defaults where key.hasPrefix("kafka.") {
            kafka[String(key.dropFirst("kafka.".count))] = value
        }
        kafka.merge(kafkaOverrides) { $1 }
        kafka.merge(Configuration.fixedKafkaProperties) { $1 }
        kafka["bootstrap.servers"] = cluster.bootstrapServers
        kafka["group.id"] = "status-ingest-sample"

        let store = try StoreFactory.open(url: storeURL)
        defer { store.close() }
        try store.migrate()
        try store.importExecutions(executions)
        logger.info("sample loaded", ["executions": .int(executions.count), "records": .int(events.count), "store": .string(Configuration.redactingURLPassword(storeURL))])

        let producer = try KafkaProducer(configuration: KafkaRoles.producerProperties(kafka).merging(["linger.ms": "5"]) { $1 })
        let sent = try RecordSender.send(events, topic: topic, producer: producer)
        producer.close()
        guard sent.failed == 0 else {
            throw SampleRunError("\(sent.failed) of \(events.count) records could not be produced: \(sent.firstError.map { "\($0)" } ?? "unknown error")")
        }

        let additionalStores = try StoreConnections.openAdditional(url: storeURL, total: storeConnections)
        defer { additionalStores.forEach { $0.close() } }
        let worker = try IngestWorker(
            options: IngestWorker.Options(
                ingestTopic: topic, deadLetterTopic: deadLetterTopic, pollMaxRecords: pollMaxRecords, untilDrained: true),
            kafkaProperties: kafka, store: store, additionalStores: additionalStores, logger: logger, stopSignal: StopSignal())
        let report = try worker.run()

        let deadLetters = try DeadLetterReader.countByCode(topic: deadLetterTopic, kafkaProperties: kafka)
        return Outcome(
            recordsProduced: sent.sent, report: report, stats: try store.stats(),
            deadLettersByCode: deadLetters, expected: expected, seconds: report.activeSeconds ?? 0)
    }
}

/// A sample that cannot be run: a missing file, or records the broker would not take.
public struct SampleRunError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// A sample's `expected.json`: what a correct worker leaves behind after all its events.
public struct ExpectedOutcome: Sendable {
    public var records: Int
    public var historyRows: Int
    public var taskStates: Int
    public var taskStatesSHA256: String
    public var executionsAwaitingInput: Int
    public var deadLetters: Int
    public var deadLettersByCode: [String: Int]

    public static func load(path: String) throws -> ExpectedOutcome {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw SampleRunError("cannot read \(path): the sample needs expected.json beside its events")
        }
        let document = try JSONParser.parse(Array(data))
        func integer(_ key: String) throws -> Int {
            guard case .number(let text)? = document[key], let value = Int(text) else {
                throw SampleRunError("\(path): \"\(key)\" is missing or not a whole number")
            }
            return value
        }
        guard case .string(let digest)? = document["task_states_sha256"] else {
            throw SampleRunError("\(path): \"task_states_sha256\" is missing")
        }
        var byCode: [String: Int] = [:]
        if case .object(let members)? = document["dead_letters_by_code"] {
            for member in members {
                guard case .number(let text) = member.value, let count = Int(text) else {
                    throw SampleRunError("\(path): dead_letters_by_code.\(member.key) is not a whole number")
                }
                byCode[member.key] = count
            }
        }
        return ExpectedOutcome(
            records: try integer("records"), historyRows: try integer("history_rows"), taskStates: try integer("task_states"),
            taskStatesSHA256: digest, executionsAwaitingInput: try integer("executions_awaiting_input"),
            deadLetters: try integer("dead_letters"), deadLettersByCode: byCode)
    }
}
