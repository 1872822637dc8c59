import Foundation
import Kafka
import StatusStore

/// `status-ingest run`: the worker.
enum RunCommand {
    static func run(_ arguments: [String], configuration: Configuration, logger: Logger) throws -> Int32 {
        let parsed = try CommandLineArguments(arguments, flags: ["until-drained"], options: [])
        guard parsed.positionals.isEmpty else {
            throw UsageError("run takes no arguments, found '\(parsed.positionals[0])'")
        }

        let metrics = WorkerMetrics()
        let metricsServer = try WorkerEndpoints.serve(configuration: configuration, metrics: metrics, logger: logger)
        defer { metricsServer?.stop() }

        var kafka = configuration.kafkaProperties
        var embedded: MockKafkaCluster?
        if configuration.usesEmbeddedBroker {
            let cluster = try EmbeddedBroker.start(configuration: configuration, logger: logger)
            kafka["bootstrap.servers"] = cluster.bootstrapServers
            embedded = cluster
        }
        defer { embedded?.close() }

        let storeURL = try configuration.storeURL
        var newSQLiteFile: String?
        if case .sqlite(let path)? = try? StoreURL(parsing: storeURL), path != ":memory:", !FileManager.default.fileExists(atPath: path) {
            newSQLiteFile = path
        }
        let store = try StoreFactory.open(url: storeURL)
        defer { store.close() }
        try store.migrate()
        if let newSQLiteFile {
            // A mistyped path would otherwise pass unnoticed, and every record would end as not_found.
            logger.warning("created a new, empty SQLite store; records of executions it does not hold are dead-lettered as not_found", [
                "path": .string(newSQLiteFile),
                "hint": .string("check store.url, or load executions with 'status-ingest store import-executions FILE'"),
            ])
        }
        let connections = try configuration.integer("store.connections", range: 0...64)
        let additionalStores = try StoreConnections.openAdditional(
            url: try configuration.storeURL, total: connections == 0 ? nil : connections)
        defer { additionalStores.forEach { $0.close() } }

        let options = try workerOptions(configuration, untilDrained: parsed.flags.contains("until-drained"))
        let stopSignal = StopSignal()
        stopSignal.installSignalHandlers { signalNumber in
            logger.info("stop requested", ["signal": .string(signalNumber == SIGTERM ? "SIGTERM" : "SIGINT")])
            ShutdownWatchdog.start(timeout: options.shutdownTimeout, logger: logger)
        }
        let worker = try IngestWorker(
            options: options,
            kafkaProperties: kafka, store: store, additionalStores: additionalStores, logger: logger, stopSignal: stopSignal, metrics: metrics)
        _ = try worker.run()
        return 0
    }

    static func workerOptions(_ configuration: Configuration, untilDrained: Bool) throws -> IngestWorker.Options {
        func milliseconds(_ key: String) throws -> Duration {
            .milliseconds(try configuration.integer(key, range: 0...Int.max))
        }
        return IngestWorker.Options(
            ingestTopic: configuration.ingestTopic,
            deadLetterTopic: configuration.deadLetterTopic,
            pollMaxRecords: try configuration.integer("ingest.poll.max.records", range: 1...1_000_000),
            pollMaxWait: try milliseconds("ingest.poll.max.wait.ms"),
            retry: RetryPolicy(
                initialBackoff: try milliseconds("ingest.retry.initial.backoff.ms"),
                maximumBackoff: try milliseconds("ingest.retry.max.backoff.ms"),
                budget: try milliseconds("ingest.retry.budget.ms")),
            shutdownTimeout: try milliseconds("ingest.shutdown.timeout.ms"),
            untilDrained: untilDrained)
    }
}

/// The in-process mock cluster that `kafka.bootstrap.servers=embedded` requests.
enum EmbeddedBroker {
    static func start(configuration: Configuration, logger: Logger, brokers: Int = 1) throws -> MockKafkaCluster {
        let cluster = try MockKafkaCluster(brokerCount: brokers)
        let partitions = try configuration.integer("ingest.topic.partitions", range: 1...10_000)
        for topic in [configuration.ingestTopic, configuration.deadLetterTopic] {
            try cluster.createTopic(topic, partitions: partitions)
        }
        logger.info("mock cluster started", [
            "bootstrap_servers": .string(cluster.bootstrapServers), "brokers": .int(brokers),
            "topics": .string("\(configuration.ingestTopic),\(configuration.deadLetterTopic)"), "partitions": .int(partitions),
        ])
        return cluster
    }
}

/// Ends the process when a requested stop takes longer than the shutdown timeout.
///
/// Exiting then loses nothing: a record is done only once it is applied or dead-lettered and its
/// offset committed, so whatever was in flight is read again by the next owner and skipped if done.
enum ShutdownWatchdog {
    static func start(timeout: Duration, logger: Logger) {
        // A little past the timeout, so the worker's own bounded steps get their full time first.
        let deadline = DispatchTime.now() + .milliseconds(IngestWorker.milliseconds(timeout) + 2000)
        DispatchQueue.global().asyncAfter(deadline: deadline) {
            logger.error("shutdown took longer than ingest.shutdown.timeout.ms; exiting without waiting further", [
                "timeout_ms": .int(IngestWorker.milliseconds(timeout)),
            ])
            exit(0)
        }
    }
}
