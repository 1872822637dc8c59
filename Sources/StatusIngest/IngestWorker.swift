import Foundation
import Kafka
import StatusCore
import StatusStore

/// Consumes task-status records and records them: the story of one chunk of records is
/// poll → decode → group → apply → dead-letter → store offsets.
///
/// Delivery is at least once with an idempotent apply: an offset is stored only after every record
/// before it in its partition is applied (the database transaction committed) or dead-lettered (the
/// broker acknowledged the dead letter), so a crash replays records and the store skips those it
/// already has. Everything runs on the thread that calls `run()`, including the rebalance handler.
public final class IngestWorker {
    /// What the worker reads, where it writes, and how it paces itself.
    public struct Options: Sendable {
        public var ingestTopic: String
        public var deadLetterTopic: String
        public var pollMaxRecords: Int
        public var pollMaxWait: Duration
        public var retry: RetryPolicy
        public var shutdownTimeout: Duration
        /// Exit once every assigned partition is caught up and committed, instead of running until stopped.
        public var untilDrained: Bool

        public init(
            ingestTopic: String,
            deadLetterTopic: String,
            pollMaxRecords: Int = 5000,
            pollMaxWait: Duration = .milliseconds(50),
            retry: RetryPolicy = RetryPolicy(initialBackoff: .milliseconds(200), maximumBackoff: .seconds(30), budget: .zero),
            shutdownTimeout: Duration = .seconds(30),
            untilDrained: Bool = false
        ) {
            self.ingestTopic = ingestTopic
            self.deadLetterTopic = deadLetterTopic
            self.pollMaxRecords = pollMaxRecords
            self.pollMaxWait = pollMaxWait
            self.retry = retry
            self.shutdownTimeout = shutdownTimeout
            self.untilDrained = untilDrained
        }
    }

    private let options: Options
    private let store: any TaskStatusStore
    private let logger: Logger
    private let stopSignal: StopSignal
    private let identity: WorkerIdentity
    private var consumer: KafkaConsumer!
    private let producer: KafkaProducer
    private var requestIDs = ULIDGenerator()

    /// Partitions this worker owns now; updated by the rebalance handler.
    private var owned: Set<TopicPartition> = []
    private var hasBeenAssigned = false
    /// Partitions revoked since the current chunk was polled: their records are dropped, not applied.
    private var revokedSinceChunkStart: Set<TopicPartition> = []
    /// The next offset to read per partition, after everything before it is done.
    private var nextOffsets: [TopicPartition: Int64] = [:]
    private var pausedForRetry: Set<TopicPartition> = []
    private var isRetrying = false
    /// Records fetched while a retry had partitions paused; they lead the next chunk.
    private var backlog: [KafkaMessage] = []

    public private(set) var report = RunReport()

    /// Creates the worker with its own consumer (in `kafkaProperties`' group) and dead-letter producer.
    public init(
        options: Options,
        kafkaProperties: [String: String],
        store: any TaskStatusStore,
        logger: Logger,
        stopSignal: StopSignal
    ) throws {
        self.options = options
        self.store = store
        self.logger = logger
        self.stopSignal = stopSignal
        self.identity = WorkerIdentity(groupID: kafkaProperties["group.id"] ?? "")
        self.producer = try KafkaProducer(configuration: KafkaRoles.producerProperties(kafkaProperties))
        self.consumer = try KafkaConsumer(configuration: KafkaRoles.consumerProperties(kafkaProperties)) { [unowned self] event in
            self.handleRebalance(event)
        }
    }

    // MARK: - Running

    /// Consumes until stopped (or drained, with `untilDrained`), then commits and leaves the group.
    public func run() throws -> RunReport {
        try consumer.subscribe(topics: [options.ingestTopic])
        logger.info("worker started", [
            "topic": .string(options.ingestTopic), "dlq_topic": .string(options.deadLetterTopic),
            "group_id": .string(identity.groupID), "version": .string(identity.version),
        ])

        while !stopSignal.isRequested {
            let chunk = try pollChunk()
            if chunk.isEmpty {
                if options.untilDrained, try isDrained() {
                    logger.info("every assigned partition is caught up", ["partitions": .int(owned.count)])
                    break
                }
                continue
            }
            try process(chunk)
        }
        try shutDown()
        return report
    }

    private func pollChunk() throws -> [KafkaMessage] {
        revokedSinceChunkStart = []
        var messages = backlog
        backlog = []
        var deadline: ContinuousClock.Instant? = messages.isEmpty ? nil : .now + options.pollMaxWait
        while messages.count < options.pollMaxRecords, !stopSignal.isRequested {
            let timeout: Int
            if let deadline {
                let remaining = deadline - .now
                if remaining <= .zero { break }
                timeout = max(1, Int(remaining.components.seconds * 1000 + remaining.components.attoseconds / 1_000_000_000_000_000))
            } else {
                timeout = 100
            }
            if let message = try consumer.poll(timeoutMilliseconds: timeout) {
                messages.append(message)
                if deadline == nil { deadline = .now + options.pollMaxWait }
            } else if deadline == nil {
                break
            }
        }
        if !revokedSinceChunkStart.isEmpty {
            // Another worker owns these partitions now and reads them from the committed offset.
            messages.removeAll { revokedSinceChunkStart.contains($0.topicPartition) }
        }
        return messages
    }

    // MARK: - One chunk

    private func process(_ messages: [KafkaMessage]) throws {
        let started = ContinuousClock.now
        report.noteFirstRecord()
        report.recordsRead += messages.count

        var pending: [PendingRecord] = []
        var messagesBySource: [RecordSource: KafkaMessage] = [:]
        var deadLetters: [DeadLetter] = []
        pending.reserveCapacity(messages.count)
        for message in messages {
            let decoded = RecordDecoder.decodeWithDocument(key: message.key, value: message.value)
            switch decoded.result {
            case .success(let record):
                let source = RecordSource(
                    topic: message.topic, partition: message.partition, offset: message.offset,
                    fingerprint: RecordFingerprint.make(message))
                pending.append(PendingRecord(source: source, record: record))
                messagesBySource[source] = message
            case .failure(let error):
                deadLetters.append(DeadLetter(message: message, error: error, document: decoded.document))
            }
        }

        let applied = try applyWithRetry(pending, messagesBySource: messagesBySource)
        guard let applied else { return }
        deadLetters.append(contentsOf: applied.deadLetters)
        deadLetters.sort { ($0.message.partition, $0.message.offset) < ($1.message.partition, $1.message.offset) }

        guard try publish(deadLetters) else { return }
        try markDone(messages)

        report.historyRows += applied.historyRows
        report.recordsApplied += applied.appliedRecords
        report.duplicates += applied.duplicates
        report.noteLastCommit()
        logger.info("batch applied", [
            "records": .int(messages.count), "applied": .int(applied.appliedRecords),
            "history_rows": .int(applied.historyRows), "duplicates": .int(applied.duplicates),
            "dead_letters": .int(deadLetters.count), "executions": .int(applied.executions),
            "offsets": .string(OffsetRanges.describe(messages)),
            "ms": .int(Int((ContinuousClock.now - started).components.attoseconds / 1_000_000_000_000_000 + (ContinuousClock.now - started).components.seconds * 1000)),
        ])
    }

    private struct ApplyResult {
        var deadLetters: [DeadLetter] = []
        var appliedRecords = 0
        var historyRows = 0
        var duplicates = 0
        var executions = 0
    }

    /// Applies the records, retrying transient store failures with backoff while the partitions are
    /// paused. Returns nil when the worker was asked to stop before the records could be applied.
    private func applyWithRetry(_ records: [PendingRecord], messagesBySource: [RecordSource: KafkaMessage]) throws -> ApplyResult? {
        var records = records
        var attempt = 0
        var firstFailure: ContinuousClock.Instant?
        while true {
            if !revokedSinceChunkStart.isEmpty {
                records.removeAll { revokedSinceChunkStart.contains(TopicPartition(topic: $0.source.topic, partition: $0.source.partition)) }
            }
            if records.isEmpty { return ApplyResult() }
            let batches = BatchGrouper.group(records)
            do {
                let outcomes = try store.apply(batches)
                endRetry()
                return summarize(batches: batches, outcomes: outcomes, messagesBySource: messagesBySource)
            } catch let error as StoreError {
                attempt += 1
                let failedSince = firstFailure ?? .now
                firstFailure = failedSince
                report.storeRetries += 1
                if options.retry.isExhausted(since: failedSince) {
                    logger.error("retry budget used up: dead-lettering records with repository_error", [
                        "records": .int(records.count), "error": .string(error.description),
                    ])
                    endRetry()
                    return budgetExhausted(records, error: error, messagesBySource: messagesBySource)
                }
                let wait = options.retry.backoff(attempt: attempt)
                logger.warning("store failed, retrying", [
                    "attempt": .int(attempt), "retry_in_ms": .int(Int(wait.components.seconds * 1000 + wait.components.attoseconds / 1_000_000_000_000_000)),
                    "records": .int(records.count), "error": .string(error.description),
                ])
                guard try waitWhilePaused(wait) else { return nil }
            }
        }
    }

    private func summarize(batches: [ExecutionBatch], outcomes: [[RecordOutcome]], messagesBySource: [RecordSource: KafkaMessage]) -> ApplyResult {
        var result = ApplyResult()
        var executions = Set<UUID>()
        for (batch, batchOutcomes) in zip(batches, outcomes) {
            for (pending, outcome) in zip(batch.records, batchOutcomes) {
                switch outcome {
                case .applied(let rows):
                    result.appliedRecords += 1
                    result.historyRows += rows.count
                    executions.insert(batch.flowExecutionID)
                case .duplicate:
                    result.duplicates += 1
                case .rejected(let error):
                    if let message = messagesBySource[pending.source] {
                        result.deadLetters.append(DeadLetter(message: message, error: error, document: Self.document(of: message)))
                    }
                }
            }
        }
        result.executions = executions.count
        return result
    }

    private func budgetExhausted(_ records: [PendingRecord], error: StoreError, messagesBySource: [RecordSource: KafkaMessage]) -> ApplyResult {
        var result = ApplyResult()
        let contractError = ContractError(
            code: .repositoryError, message: "The database failed and the retry budget is used up",
            details: .object([JSONMember("reason", .string(error.description))]), httpStatus: 500)
        for record in records {
            if let message = messagesBySource[record.source] {
                result.deadLetters.append(DeadLetter(message: message, error: contractError, document: Self.document(of: message)))
            }
        }
        return result
    }

    private static func document(of message: KafkaMessage) -> JSONValue? {
        guard let value = message.value, let document = try? JSONParser.parse(value), case .object = document else {
            return nil
        }
        return document
    }

    // MARK: - Dead letters

    /// Publishes the dead letters and waits until the broker acknowledged each one, retrying failures.
    /// Returns false when the worker was asked to stop first.
    private func publish(_ deadLetters: [DeadLetter]) throws -> Bool {
        guard !deadLetters.isEmpty else { return true }
        var remaining = deadLetters
        var attempt = 0
        while !remaining.isEmpty {
            remaining.removeAll { revokedSinceChunkStart.contains($0.message.topicPartition) }
            let failed = DeliveryTracker()
            var sent: [(DeadLetter, Int)] = []
            for (index, deadLetter) in remaining.enumerated() {
                let requestID = Self.incomingRequestID(deadLetter.message) ?? requestIDs.next().description
                var (record, layout) = DeadLetterEnvelope.make(
                    deadLetter, requestID: requestID, worker: identity, failedAt: Date(),
                    maximumBytes: producer.maximumMessageBytes)
                record.topic = options.deadLetterTopic
                do {
                    try producer.send(record) { result in
                        if case .failure(let error) = result { failed.fail(index, error) }
                    }
                    sent.append((deadLetter, index))
                    logDeadLetter(deadLetter, layout: layout)
                } catch let error as KafkaError {
                    failed.fail(index, error)
                }
            }
            try flushWhilePolling()
            let failures = failed.failures
            if failures.isEmpty {
                for (deadLetter, _) in sent {
                    report.deadLettersByCode[deadLetter.error.code.rawValue, default: 0] += 1
                }
                return true
            }
            for (deadLetter, index) in sent where failures[index] == nil {
                report.deadLettersByCode[deadLetter.error.code.rawValue, default: 0] += 1
            }
            remaining = failures.keys.sorted().map { remaining[$0] }
            attempt += 1
            report.deadLetterRetries += 1
            let wait = options.retry.backoff(attempt: attempt)
            logger.warning("dead-letter publish failed, retrying", [
                "topic": .string(options.deadLetterTopic), "records": .int(remaining.count),
                "error": .string(failures.values.first?.description ?? ""), "attempt": .int(attempt),
            ])
            guard try waitWhilePaused(wait) else { return false }
        }
        return true
    }

    private func flushWhilePolling() throws {
        while true {
            do {
                try producer.flush(timeoutMilliseconds: 1000)
                return
            } catch {
                // The broker is slow or away: keep serving the consumer so the group keeps this member.
                if stopSignal.isRequested { return }
                try keepConsumerAlive()
            }
        }
    }

    private static func incomingRequestID(_ message: KafkaMessage) -> String? {
        guard let header = message.headers.last(where: { $0.key == DeadLetterHeader.incomingRequestID }),
              let value = header.value, let text = String(validating: value, as: UTF8.self),
              !text.isEmpty, text.count <= 128 else { return nil }
        return text
    }

    private var deadLetterLogLimiter = LogRateLimiter(linesPerSecond: 10)

    private func logDeadLetter(_ deadLetter: DeadLetter, layout: DeadLetterEnvelope.Layout) {
        guard let suppressed = deadLetterLogLimiter.admit() else { return }
        let message = deadLetter.message
        let executionID = message.key.flatMap { String(validating: $0, as: UTF8.self) } ?? ""
        logger.warning("record dead-lettered", [
            "topic": .string(message.topic), "partition": .int(message.partition), "offset": .int(message.offset),
            "flow_execution_id": .string(executionID), "code": .string(deadLetter.error.code.rawValue),
            "error": .string(deadLetter.error.message), "value_format": .string(layout.rawValue),
            "suppressed_since_last": .int(suppressed),
        ])
    }

    // MARK: - Offsets

    private func markDone(_ messages: [KafkaMessage]) throws {
        var offsets: [TopicPartition: Int64] = [:]
        for message in messages where owned.contains(message.topicPartition) && !revokedSinceChunkStart.contains(message.topicPartition) {
            offsets[message.topicPartition] = max(offsets[message.topicPartition] ?? 0, message.offset + 1)
        }
        guard !offsets.isEmpty else { return }
        try consumer.storeOffsets(offsets)
        nextOffsets.merge(offsets) { max($0, $1) }
    }

    private func isDrained() throws -> Bool {
        guard hasBeenAssigned else { return false }
        var unknown: [TopicPartition] = []
        for partition in owned {
            // Watermarks from the latest fetch response; a broker query would wait behind the fetch.
            let marks = try consumer.cachedWatermarks(partition) ?? consumer.watermarks(partition, timeoutMilliseconds: 5000)
            if marks.high <= marks.low { continue }
            if let next = nextOffsets[partition] {
                if next < marks.high {
                    logger.debug("partition not caught up", [
                        "partition": .string(partition.description), "next_offset": .int(next), "high_watermark": .int(marks.high),
                    ])
                    return false
                }
            } else {
                unknown.append(partition)
            }
        }
        if !unknown.isEmpty {
            let committed = try consumer.committed(unknown, timeoutMilliseconds: 5000)
            for partition in unknown {
                let marks = try consumer.watermarks(partition, timeoutMilliseconds: 5000)
                guard let offset = committed[partition], offset >= 0, offset >= marks.high else { return false }
                nextOffsets[partition] = offset
            }
        }
        try commitStoredOffsets()
        return true
    }

    private func commitStoredOffsets() throws {
        let offsets = nextOffsets.filter { owned.contains($0.key) }
        guard !offsets.isEmpty else { return }
        do {
            try consumer.commit(offsets)
        } catch let error as KafkaError {
            logger.warning("offset commit failed", ["error": .string(error.description), "partitions": .int(offsets.count)])
            throw error
        }
    }

    // MARK: - Retrying without leaving the group

    /// Waits `duration` while serving the consumer, with every owned partition paused so nothing new
    /// piles up. Returns false when a stop was requested.
    private func waitWhilePaused(_ duration: Duration) throws -> Bool {
        beginRetry()
        let deadline = ContinuousClock.now + duration
        while ContinuousClock.now < deadline {
            if stopSignal.isRequested { return false }
            try keepConsumerAlive()
        }
        return !stopSignal.isRequested
    }

    private func keepConsumerAlive() throws {
        // Serving poll keeps max.poll.interval.ms from expiring; records already fetched before the
        // pause still arrive and are kept, in order, for the next chunk.
        if let message = try consumer.poll(timeoutMilliseconds: 100) {
            backlog.append(message)
        }
    }

    private func beginRetry() {
        guard !isRetrying else { return }
        isRetrying = true
        let toPause = owned.subtracting(pausedForRetry)
        if !toPause.isEmpty {
            try? consumer.pause(Array(toPause))
            pausedForRetry.formUnion(toPause)
        }
    }

    private func endRetry() {
        guard isRetrying else { return }
        isRetrying = false
        // Only partitions that are paused and still owned are resumed: in librdkafka 2.0.2 resuming a
        // partition that is not paused can make it fetch again from an old position.
        let toResume = pausedForRetry.intersection(owned)
        if !toResume.isEmpty {
            try? consumer.resume(Array(toResume))
        }
        pausedForRetry = []
    }

    // MARK: - Rebalances

    private func handleRebalance(_ event: RebalanceEvent) {
        switch event {
        case .assigned(let partitions):
            hasBeenAssigned = true
            owned.formUnion(partitions)
            if isRetrying {
                try? consumer.pause(partitions)
                pausedForRetry.formUnion(partitions)
            }
            logger.info("partitions assigned", ["partitions": .string(Self.describe(partitions)), "owned": .int(owned.count)])
        case .revoked(let partitions), .lost(let partitions):
            let isLost: Bool
            if case .lost = event { isLost = true } else { isLost = false }
            if !isLost {
                // Everything done so far is committed before another member takes over.
                let offsets = nextOffsets.filter { partitions.contains($0.key) }
                if !offsets.isEmpty {
                    do {
                        try consumer.commit(offsets)
                    } catch {
                        logger.warning("offset commit on revocation failed", ["error": .string("\(error)")])
                    }
                }
            }
            owned.subtract(partitions)
            pausedForRetry.subtract(partitions)
            revokedSinceChunkStart.formUnion(partitions)
            backlog.removeAll { partitions.contains($0.topicPartition) }
            for partition in partitions { nextOffsets[partition] = nil }
            logger.info(isLost ? "partitions lost" : "partitions revoked", [
                "partitions": .string(Self.describe(partitions)), "owned": .int(owned.count),
            ])
        }
    }

    private static func describe(_ partitions: [TopicPartition]) -> String {
        partitions.sorted { ($0.topic, $0.partition) < ($1.topic, $1.partition) }.map(\.description).joined(separator: ",")
    }

    // MARK: - Shutdown

    private func shutDown() throws {
        logger.info("worker stopping", ["reason": .string(stopSignal.isRequested ? "stop requested" : "drained")])
        do {
            try commitStoredOffsets()
        } catch {
            logger.error("final offset commit failed; the records after the last commit will be read again", ["error": .string("\(error)")])
        }
        do {
            let timeout = Int(options.shutdownTimeout.components.seconds * 1000)
            try producer.flush(timeoutMilliseconds: max(timeout, 1))
        } catch {
            logger.error("dead-letter producer did not flush before the shutdown timeout", ["error": .string("\(error)")])
        }
        try consumer.close()
        producer.close()
        report.noteStop()
        logger.info("worker stopped", [
            "records": .int(report.recordsRead), "applied": .int(report.recordsApplied),
            "history_rows": .int(report.historyRows), "dead_letters": .int(report.deadLetters),
        ])
    }
}

/// Collects delivery failures reported by the producer's callbacks.
private final class DeliveryTracker {
    private(set) var failures: [Int: KafkaError] = [:]

    func fail(_ index: Int, _ error: KafkaError) { failures[index] = error }
}
