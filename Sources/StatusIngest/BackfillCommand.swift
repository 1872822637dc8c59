import Foundation
import Kafka
import StatusCore
import StatusStore

/// `status-ingest backfill`: reads a range of the input topic again, or loads an NDJSON file, through
/// the same core and store as `run`, with progress and a closing summary.
public enum BackfillCommand {
    static let usage = """
        usage: status-ingest backfill [--from-beginning | --from-time TIME | --offsets P:START[-END],...]
                                      [--topic TOPIC] [--group GROUP] [--progress-interval-ms N]
               status-ingest backfill --file FILE [--source-name NAME] [--progress-interval-ms N]
        """

    /// Runs the backfill the arguments describe and returns the exit status: 0 when every record
    /// reached a place, 1 when some were left unprocessed.
    ///
    /// - Throws: `UsageError` for arguments that do not fit together, and what the backfill throws.
    public static func run(
        _ arguments: [String],
        configuration: Configuration,
        logger: Logger,
        output: CommandOutput = .standard,
        stopSignal: StopSignal = StopSignal()
    ) throws -> Int32 {
        let parsed = try CommandLineArguments(
            arguments, flags: ["from-beginning"],
            options: ["from-time", "offsets", "topic", "group", "file", "source-name", "progress-interval-ms"])
        guard parsed.positionals.isEmpty else {
            throw UsageError("backfill takes no positional arguments, found '\(parsed.positionals[0])'\n\(usage)")
        }
        let interval = Duration.milliseconds(try parsed.integer("progress-interval-ms", default: 1000, range: 0...3_600_000))
        let workerLogger = logger.level == .debug ? logger : Logger(level: max(logger.level, .warning), format: logger.format)

        let store = try StoreFactory.open(url: try configuration.storeURL)
        defer { store.close() }
        try store.migrate()

        let summary: BackfillSummary
        if let file = parsed.options["file"] {
            let conflicting = ["from-time", "offsets", "topic", "group"].filter { parsed.options[$0] != nil }
            guard conflicting.isEmpty, !parsed.flags.contains("from-beginning") else {
                throw UsageError("--file reads records from the file, so it cannot be combined with --from-beginning, --from-time, --offsets, --topic or --group")
            }
            summary = try backfillFile(
                file, sourceName: parsed.options["source-name"], configuration: configuration, logger: workerLogger,
                store: store, output: output, interval: interval, stopSignal: stopSignal)
        } else {
            guard parsed.options["source-name"] == nil else {
                throw UsageError("--source-name names the source of a --file backfill; a topic backfill records the topic itself")
            }
            summary = try backfillTopic(
                parsed, configuration: configuration, logger: workerLogger, store: store,
                output: output, interval: interval, stopSignal: stopSignal)
        }

        output.line(summary.text)
        let rejectedWithoutTopic = summary.notDeadLetteredByCode.values.reduce(0, +)
        if rejectedWithoutTopic > 0 {
            output.line("""
                Backfill incomplete: \(rejectedWithoutTopic) rejected records could not be dead-lettered because \
                kafka.bootstrap.servers=embedded has no lasting dead-letter topic; point it at a broker and run again.
                """)
        }
        if summary.unprocessed > rejectedWithoutTopic {
            output.line("Backfill incomplete: it was stopped with \(summary.unprocessed - rejectedWithoutTopic) records left; run the same command again to finish.")
        }
        return summary.exitStatus
    }

    // MARK: - From a topic

    private static func backfillTopic(
        _ parsed: CommandLineArguments,
        configuration: Configuration,
        logger: Logger,
        store: any TaskStatusStore,
        output: CommandOutput,
        interval: Duration,
        stopSignal: StopSignal
    ) throws -> BackfillSummary {
        guard !configuration.usesEmbeddedBroker else {
            throw UsageError("""
                backfill from a topic needs a broker that holds the records, but kafka.bootstrap.servers=embedded \
                starts an empty one; set STATUS_INGEST_KAFKA_BOOTSTRAP_SERVERS, or use --file
                """)
        }
        let start = try parseStart(parsed)
        var kafka = configuration.kafkaProperties
        kafka["group.id"] = parsed.options["group"] ?? (kafka["group.id"] ?? "status-ingest") + "-backfill"

        let backfill = TopicBackfill(
            topic: parsed.options["topic"] ?? configuration.ingestTopic,
            deadLetterTopic: configuration.deadLetterTopic,
            start: start,
            kafkaProperties: kafka,
            options: try RunCommand.workerOptions(configuration, untilDrained: false),
            logger: logger)
        let reporter = ProgressBox(output: output, interval: interval)
        let summary = try backfill.run(store: store, stopSignal: stopSignal) { done, total in
            reporter.update(done: done, total: total)
        }
        reporter.finish(done: summary.records, total: summary.total)
        return summary
    }

    static func parseStart(_ parsed: CommandLineArguments) throws -> TopicBackfill.Start {
        let chosen = [parsed.flags.contains("from-beginning"), parsed.options["from-time"] != nil, parsed.options["offsets"] != nil]
        guard chosen.filter({ $0 }).count == 1 else {
            // Reading a whole topic again is too large a step to take by default.
            throw UsageError("choose exactly one of --from-beginning, --from-time TIME and --offsets P:START[-END],... (or --file FILE)")
        }
        if let text = parsed.options["from-time"] {
            guard let date = RFC3339.parse(text) else {
                throw UsageError("--from-time \(text) is invalid: expected an RFC 3339 time such as 2026-12-04T21:00:00Z")
            }
            return .timestamp(date)
        }
        if let text = parsed.options["offsets"] {
            return .offsets(try parseOffsets(text))
        }
        return .beginning
    }

    /// Parses `P:START[-END],...`, END exclusive.
    static func parseOffsets(_ text: String) throws -> [Int32: (start: Int64, end: Int64?)] {
        var result: [Int32: (start: Int64, end: Int64?)] = [:]
        for item in text.split(separator: ",") {
            let parts = item.split(separator: ":", omittingEmptySubsequences: false)
            let bounds = parts.count == 2 ? parts[1].split(separator: "-", omittingEmptySubsequences: false) : []
            guard parts.count == 2, let partition = Int32(parts[0]), partition >= 0,
                  (1...2).contains(bounds.count), let start = Int64(bounds[0]), start >= 0 else {
                throw UsageError("--offsets item '\(item)' is invalid: expected PARTITION:START or PARTITION:START-END, e.g. 3:1200-1500")
            }
            var end: Int64?
            if bounds.count == 2 {
                guard let value = Int64(bounds[1]), value >= start else {
                    throw UsageError("--offsets item '\(item)' is invalid: END must be a whole number not below START")
                }
                end = value
            }
            guard result[partition] == nil else {
                throw UsageError("--offsets names partition \(partition) twice")
            }
            result[partition] = (start, end)
        }
        guard !result.isEmpty else { throw UsageError("--offsets needs at least one PARTITION:START") }
        return result
    }

    // MARK: - From a file

    private static func backfillFile(
        _ path: String,
        sourceName: String?,
        configuration: Configuration,
        logger: Logger,
        store: any TaskStatusStore,
        output: CommandOutput,
        interval: Duration,
        stopSignal: StopSignal
    ) throws -> BackfillSummary {
        var kafka = configuration.kafkaProperties
        kafka["group.id"] = (kafka["group.id"] ?? "status-ingest") + "-backfill"
        let options = try RunCommand.workerOptions(configuration, untilDrained: false)
        // The embedded broker lives only as long as this process: dead letters sent there would be lost.
        let deadLetterTopic = configuration.usesEmbeddedBroker ? nil : configuration.deadLetterTopic
        let backfill = FileBackfill(
            path: path, sourceName: sourceName.map { "file:" + $0 }, deadLetterTopic: deadLetterTopic,
            kafkaProperties: kafka, chunkSize: options.pollMaxRecords, retry: options.retry, logger: logger)

        let reporter = ProgressBox(output: output, interval: interval)
        let summary = try backfill.run(store: store, stopSignal: stopSignal) { done, total in
            reporter.update(done: done, total: total)
        }
        reporter.finish(done: summary.records, total: summary.total)
        return summary
    }
}

/// Creates the progress reporter once the total is known, which for a topic is after planning.
private final class ProgressBox: @unchecked Sendable {
    private let output: CommandOutput
    private let interval: Duration
    private let started = ContinuousClock.now
    private let lock = NSLock()
    private var reporter: ProgressReporter?

    init(output: CommandOutput, interval: Duration) {
        self.output = output
        self.interval = interval
    }

    func update(done: Int, total: Int) {
        reporter(total: total).update(done: done)
    }

    func finish(done: Int, total: Int) {
        reporter(total: total).finish(done: done)
    }

    private func reporter(total: Int) -> ProgressReporter {
        lock.withLock {
            if let reporter { return reporter }
            let created = ProgressReporter(
                total: total, isTerminal: output.progressIsTerminal, interval: interval, startedAt: started, output: output.progress)
            reporter = created
            return created
        }
    }
}
