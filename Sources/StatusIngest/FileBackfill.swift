import Foundation
import Kafka
import StatusCore
import StatusStore

/// Loads an NDJSON file of records (the samples' `events.ndjson` format) into the store through the
/// same core as the worker: decode, group, apply, dead-letter.
///
/// The records never go through Kafka. Each line is applied with the source
/// `RecordSource(topic: sourceName, partition: 0, offset: line number, fingerprint: …)`, so a second
/// run over the same file finds every applied line as a duplicate. Rejected lines are dead-lettered
/// with that source in their headers, and a second run skips the lines already on the dead-letter
/// topic. Without a dead-letter topic (`deadLetterTopic` nil, the embedded broker) rejected lines are
/// listed in the summary and counted as unprocessed.
public struct FileBackfill {
    public var path: String
    /// The topic name recorded as the records' source: `file:` and the file's absolute path unless given.
    public var sourceName: String
    public var deadLetterTopic: String?
    public var kafkaProperties: [String: String]
    public var chunkSize: Int
    public var retry: RetryPolicy
    public var logger: Logger
    /// Rejected lines listed one by one in the summary when there is no dead-letter topic; the rest are counted.
    static let listedProblems = 20

    public init(
        path: String,
        sourceName: String? = nil,
        deadLetterTopic: String?,
        kafkaProperties: [String: String],
        chunkSize: Int = 5000,
        retry: RetryPolicy = RetryPolicy(initialBackoff: .milliseconds(200), maximumBackoff: .seconds(30), budget: .zero),
        logger: Logger
    ) {
        self.path = path
        self.sourceName = sourceName ?? "file:" + URL(fileURLWithPath: path).standardizedFileURL.path
        self.deadLetterTopic = deadLetterTopic
        self.kafkaProperties = kafkaProperties
        self.chunkSize = max(chunkSize, 1)
        self.retry = retry
        self.logger = logger
    }

    /// One record of the file and its line number.
    struct Line {
        var number: Int
        var record: EventFile.Record
    }

    /// Applies every line of the file, in file order, and returns what happened.
    ///
    /// - Parameter progress: called after each chunk with the records done so far and the total.
    /// - Throws: `EventFileError` before anything is applied when a line is not in the file format,
    ///   `StoreError.configuration` when the store cannot be used, and `KafkaError` when the
    ///   dead-letter topic cannot be read.
    public func run(store: any TaskStatusStore, stopSignal: StopSignal, progress: ((Int, Int) -> Void)? = nil) throws -> BackfillSummary {
        let lines = try Self.load(path: path)
        var summary = BackfillSummary(source: sourceName)
        summary.total = lines.count
        let started = ContinuousClock.now

        let publisher = try deadLetterTopic.map { try DeadLetterPublisher(topic: $0, kafkaProperties: kafkaProperties, logger: logger) }
        defer { publisher?.close() }
        let alreadyDeadLettered = try deadLetterTopic.map { try publishedLines(deadLetterTopic: $0) } ?? []

        var done = 0
        var start = 0
        while start < lines.count, !stopSignal.isRequested {
            let chunk = lines[start..<min(start + chunkSize, lines.count)]
            guard let outcome = try process(chunk, skipping: alreadyDeadLettered, store: store, stopSignal: stopSignal) else { break }
            summary.applied += outcome.applied
            summary.historyRows += outcome.historyRows
            summary.duplicates += outcome.duplicates
            summary.alreadyDeadLettered += outcome.alreadyDeadLettered

            if let publisher {
                let published = { try self.publishedLines(deadLetterTopic: publisher.topic) }
                guard try publisher.publish(outcome.deadLetters, stopSignal: stopSignal, retry: retry, publishedOffsets: published) else {
                    break
                }
                for deadLetter in outcome.deadLetters {
                    summary.deadLettersByCode[deadLetter.error.code.rawValue, default: 0] += 1
                }
            } else {
                summary.unprocessed += outcome.deadLetters.count
                for deadLetter in outcome.deadLetters {
                    summary.notDeadLetteredByCode[deadLetter.error.code.rawValue, default: 0] += 1
                    guard summary.problems.count < Self.listedProblems else {
                        summary.problemsOmitted += 1
                        continue
                    }
                    summary.problems.append(
                        "line \(deadLetter.message.offset): \(deadLetter.error.code.rawValue): \(deadLetter.error.message)")
                }
            }
            done += chunk.count
            summary.records = done
            start += chunk.count
            progress?(done, lines.count)
        }

        summary.unprocessed += lines.count - done
        summary.seconds = IngestWorker.seconds(ContinuousClock.now - started)
        return summary
    }

    // MARK: - Reading the file

    /// Reads and checks every line first, so a file with a broken line applies nothing.
    static func load(path: String) throws -> [Line] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw EventFileError("cannot read \(path): the file does not exist or is not readable")
        }
        var lines: [Line] = []
        var number = 0
        for bytes in data.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false) {
            number += 1
            if bytes.allSatisfy({ $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\r") || $0 == UInt8(ascii: "\t") }) {
                continue
            }
            lines.append(Line(number: number, record: try EventFile.parse(Array(bytes), path: path, lineNumber: number)))
        }
        return lines
    }

    /// Collects the line numbers of this file's records that are already on the dead-letter topic.
    private func publishedLines(deadLetterTopic: String) throws -> Set<Int64> {
        var offsets = Set<Int64>()
        try DeadLetterReader.read(topic: deadLetterTopic, kafkaProperties: kafkaProperties) { message in
            guard message.header(DeadLetterHeader.sourceTopic) == sourceName,
                  let offset = message.header(DeadLetterHeader.sourceOffset).flatMap({ Int64($0) }) else { return }
            offsets.insert(offset)
        }
        return offsets
    }

    // MARK: - One chunk

    private struct ChunkOutcome {
        var applied = 0
        var historyRows = 0
        var duplicates = 0
        var alreadyDeadLettered = 0
        var deadLetters: [DeadLetter] = []
    }

    /// Decodes, groups and applies one chunk. Returns nil when a stop was requested while the store was failing.
    private func process(_ lines: ArraySlice<Line>, skipping alreadyDeadLettered: Set<Int64>, store: any TaskStatusStore, stopSignal: StopSignal) throws -> ChunkOutcome? {
        var outcome = ChunkOutcome()
        var pending: [PendingRecord] = []
        var messagesBySource: [RecordSource: (message: KafkaMessage, document: JSONValue?)] = [:]
        for line in lines {
            let message = KafkaMessage(
                topic: sourceName, partition: 0, offset: Int64(line.number),
                key: line.record.key, value: line.record.value, headers: line.record.headers)
            if alreadyDeadLettered.contains(message.offset) {
                outcome.alreadyDeadLettered += 1
                continue
            }
            let decoded = RecordDecoder.decodeWithDocument(key: message.key, value: message.value)
            switch decoded.result {
            case .success(let record):
                let source = RecordSource(
                    topic: sourceName, partition: 0, offset: message.offset, fingerprint: RecordFingerprint.make(message))
                pending.append(PendingRecord(source: source, record: record))
                messagesBySource[source] = (message, decoded.document)
            case .failure(let error):
                outcome.deadLetters.append(DeadLetter(message: message, error: error, document: decoded.document))
            }
        }
        guard !pending.isEmpty else { return outcome }

        let batches = BatchGrouper.group(pending)
        guard let results = try applyWithRetry(batches, store: store, stopSignal: stopSignal) else { return nil }
        for (batch, batchResults) in zip(batches, results) {
            for (record, result) in zip(batch.records, batchResults) {
                switch result {
                case .applied(let rows):
                    outcome.applied += 1
                    outcome.historyRows += rows.count
                case .duplicate:
                    outcome.duplicates += 1
                case .rejected(let error):
                    if let source = messagesBySource[record.source] {
                        outcome.deadLetters.append(DeadLetter(message: source.message, error: error, document: source.document))
                    }
                }
            }
        }
        // Dead letters go out in file order, as the worker sends them in offset order.
        outcome.deadLetters.sort { $0.message.offset < $1.message.offset }
        return outcome
    }

    private func applyWithRetry(_ batches: [ExecutionBatch], store: any TaskStatusStore, stopSignal: StopSignal) throws -> [[RecordOutcome]]? {
        var attempt = 0
        while !stopSignal.isRequested {
            do {
                return try store.apply(batches)
            } catch StoreError.transient(let reason) {
                attempt += 1
                let wait = retry.backoff(attempt: attempt)
                logger.warning("store failed, retrying", [
                    "source": .string(sourceName), "attempt": .int(attempt),
                    "retry_in_ms": .int(IngestWorker.milliseconds(wait)), "error": .string(reason),
                ])
                Thread.sleep(forTimeInterval: IngestWorker.seconds(wait))
            }
        }
        return nil
    }
}
