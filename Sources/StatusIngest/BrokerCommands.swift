import Foundation
import Kafka

/// `status-ingest dev-broker` and `status-ingest produce`.
enum BrokerCommands {
    static func devBroker(_ arguments: [String], configuration: Configuration, logger: Logger) throws -> Int32 {
        let parsed = try CommandLineArguments(arguments, flags: [], options: ["partitions", "brokers"])
        guard parsed.positionals.isEmpty else {
            throw UsageError("dev-broker takes no arguments, found '\(parsed.positionals[0])'")
        }
        var configuration = configuration
        if let partitions = parsed.options["partitions"] {
            configuration.set("ingest.topic.partitions", partitions, origin: "--partitions")
        }
        let brokers = try parsed.integer("brokers", default: 1, range: 1...9)

        let stopSignal = StopSignal()
        stopSignal.installSignalHandlers()
        let cluster = try EmbeddedBroker.start(configuration: configuration, logger: logger, brokers: brokers)
        defer { cluster.close() }
        FileHandle.standardOutput.write(Data("""
            \(cluster.bootstrapServers)
            # Mock cluster running; it keeps records in memory only (about 5 MB per partition).
            # Point the other commands at it, then stop it with Ctrl-C:
            #   export STATUS_INGEST_KAFKA_BOOTSTRAP_SERVERS=\(cluster.bootstrapServers)
            # A short group session lets a run join seconds after the previous one left; set it for every run:
            #   export STATUS_INGEST_KAFKA_SESSION_TIMEOUT_MS=6000

            """.utf8))
        while !stopSignal.isRequested {
            Thread.sleep(forTimeInterval: 0.2)
        }
        logger.info("mock cluster stopped")
        return 0
    }

    static func produce(_ arguments: [String], configuration: Configuration, logger: Logger) throws -> Int32 {
        let parsed = try CommandLineArguments(arguments, flags: [], options: ["topic", "rate", "limit"])
        guard parsed.positionals.count == 1 else {
            throw UsageError("produce needs exactly one NDJSON file, e.g. status-ingest produce events.ndjson")
        }
        let path = parsed.positionals[0]
        let topic = parsed.options["topic"] ?? configuration.ingestTopic
        var records = try EventFile.load(path: path)
        if parsed.options["limit"] != nil {
            records = Array(records.prefix(try parsed.integer("limit", default: records.count, range: 1...Int.max)))
        }
        let rate = parsed.options["rate"] == nil ? nil : try parsed.integer("rate", default: 1, range: 1...10_000_000)
        guard !configuration.usesEmbeddedBroker else {
            throw UsageError("""
                produce needs a broker that outlives it, but kafka.bootstrap.servers=embedded runs one inside a \
                single process. Start 'status-ingest dev-broker' and set STATUS_INGEST_KAFKA_BOOTSTRAP_SERVERS \
                to the address it prints.
                """)
        }
        let producer = try KafkaProducer(configuration: KafkaRoles.producerProperties(configuration.kafkaProperties))
        // Fails within seconds when no broker responds, instead of retrying each record for minutes.
        guard try producer.partitionCount(topic: topic, timeoutMilliseconds: 10_000) != nil else {
            throw UsageError("""
                topic \(topic) does not exist on \(configuration.string("kafka.bootstrap.servers")): create it on the broker, \
                or pass --topic with one that exists (dev-broker creates ingest.topic and its dead-letter topic)
                """)
        }
        defer { producer.close() }

        let started = ContinuousClock.now
        let result = try RecordSender.send(records, topic: topic, producer: producer, recordsPerSecond: rate)
        let elapsed = ContinuousClock.now - started
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        logger.info("records produced", [
            "topic": .string(topic), "file": .string(path), "sent": .int(result.sent), "failed": .int(result.failed),
            "records_per_second": .int(Int(Double(result.sent) / max(seconds, 0.001))),
        ])
        if result.failed > 0 {
            StatusIngestCommand.printError("status-ingest: \(result.failed) of \(records.count) records were not delivered: \(result.firstError.map { "\($0)" } ?? "unknown error")")
            return 1
        }
        return 0
    }
}
