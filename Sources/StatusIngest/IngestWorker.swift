import Foundation
import Kafka
import StatusCore
import StatusStore

/// Consumes task-status records and records them: the story of one chunk of records is
/// poll → decode → group → apply → dead-letter → store offsets.
///
/// Delivery is at least once with an idempotent apply. An offset is committed only after every record
/// before it in its partition is applied (the database transaction committed) or dead-lettered (the
/// broker acknowledged the dead letter). So a crash replays records, and the store and the dead-letter
/// ledger skip those already done. Everything runs on the thread that calls `run()`, including the
/// rebalance handler. Only a chunk's store calls run in parallel, one per connection.
public final class IngestWorker {
    /// The worker's topics, chunk size, retry policy and stopping rule.
    public struct Options: Sendable {
        public var ingestTopic: String
        public var deadLetterTopic: String
        public var pollMaxRecords: Int
        public var pollMaxWait: Duration
        public var retry: RetryPolicy
        public var shutdownTimeout: Duration
        /// Exit once every assigned partition is caught up and committed, instead of running until stopped.
        public var untilDrained: Bool
        /// When set, the worker reads exactly these offset ranges by assignment instead of joining the
        /// group's subscription, and exits once every range is done (backfills use this).
        public var ranges: [TopicPartition: OffsetRange]?
        /// Called on the worker's thread after each chunk is done, with the figures so far.
        public var progress: (@Sendable (RunReport) -> Void)?

        public init(
            ingestTopic: String,
            deadLetterTopic: String,
            pollMaxRecords: Int = 10000,
            pollMaxWait: Duration = .milliseconds(10),
            retry: RetryPolicy = RetryPolicy(initialBackoff: .milliseconds(200), maximumBackoff: .seconds(30), budget: .zero),
            shutdownTimeout: Duration = .seconds(30),
            untilDrained: Bool = false,
            ranges: [TopicPartition: OffsetRange]? = nil,
            progress: (@Sendable (RunReport) -> Void)? = nil
        ) {
            self.ingestTopic = ingestTopic
            self.deadLetterTopic = deadLetterTopic
            self.pollMaxRecords = pollMaxRecords
            self.pollMaxWait = pollMaxWait
            self.retry = retry
            self.shutdownTimeout = shutdownTimeout
            self.untilDrained = untilDrained
            self.ranges = ranges
            self.progress = progress
        }
    }

    private let options: Options
    private let lanes: StoreLanes
    private let logger: Logger
    private let stopSignal: StopSignal
    private let identity: WorkerIdentity
    private var consumer: KafkaConsumer!
    private let producer: KafkaProducer
    private let kafkaProperties: [String: String]
    private let ledger: DeadLetterLedger
    private var requestIDs = ULIDGenerator()
    /// Partitions whose next offset changed since their last successful commit.
    private var uncommitted: Set<TopicPartition> = []

    /// Partitions this worker owns now; updated by the rebalance handler.
    private var owned: Set<TopicPartition> = []
    private var hasBeenAssigned = false
    /// Partitions revoked since the current chunk was polled: their records are dropped, not applied.
    private var revokedSinceChunkStart: Set<TopicPartition> = []
    /// The next offset to read per partition, after everything before it is done.
    private var nextOffsets: [TopicPartition: Int64] = [:]
    private var pausedForRetry: Set<TopicPartition> = []
    /// Partitions revoked while paused for a retry. librdkafka 2.0.2 keeps a partition's pause
    /// across revocation and reassignment, so one that comes back must be resumed explicitly.
    private var pausedBeforeRevocation: Set<TopicPartition> = []
    private var isRetrying = false
    /// Chunks applied and waiting for their dead letters' acknowledgements, oldest first.
    private var awaiting: [AwaitingChunk] = []
    /// Records fetched while a retry had partitions paused; they lead the next chunk.
    private var backlog: [KafkaMessage] = []

    public private(set) var report = RunReport()
    /// Counters and gauges for the metrics and health endpoints.
    public let metrics: WorkerMetrics

    /// Creates the worker with its own consumer (in `kafkaProperties`' group) and dead-letter producer.
    ///
    /// `additionalStores` are more connections to the same store: a chunk's partitions are spread over
    /// all the connections and their transactions run in parallel.
    public init(
        options: Options,
        kafkaProperties: [String: String],
        store: any TaskStatusStore,
        additionalStores: [any TaskStatusStore] = [],
        logger: Logger,
        stopSignal: StopSignal,
        metrics: WorkerMetrics = WorkerMetrics()
    ) throws {
        self.options = options
        self.metrics = metrics
        self.lanes = StoreLanes([store] + additionalStores)
        self.logger = logger
        self.stopSignal = stopSignal
        self.identity = WorkerIdentity(groupID: kafkaProperties["group.id"] ?? "")
        self.kafkaProperties = kafkaProperties
        self.producer = try KafkaProducer(configuration: KafkaRoles.producerProperties(kafkaProperties))
        guard let deadLetterPartitions = try producer.partitionCount(topic: options.deadLetterTopic, timeoutMilliseconds: 30_000) else {
            throw ConfigurationError(
                "the dead-letter topic \(options.deadLetterTopic) does not exist: create it (for example with as many partitions as \(options.ingestTopic)) or set ingest.dlq.topic")
        }
        self.ledger = DeadLetterLedger(topic: options.deadLetterTopic, partitionCount: deadLetterPartitions)
        self.consumer = try KafkaConsumer(configuration: KafkaRoles.consumerProperties(kafkaProperties)) { [unowned self] event in
            self.handleRebalance(event)
        }
    }

    // MARK: - Running

    /// Consumes until stopped (or drained, with `untilDrained`), then commits and leaves the group.
    public func run() throws -> RunReport {
        if let ranges = options.ranges {
            try startRanges(ranges)
        } else {
            try consumer.subscribe(topics: [options.ingestTopic])
        }
        logger.info("worker started", [
            "topic": .string(options.ingestTopic), "dlq_topic": .string(options.deadLetterTopic),
            "group_id": .string(identity.groupID), "version": .string(identity.version),
            "mode": .string(options.ranges == nil ? "subscribe" : "offset ranges"),
        ])

        var lastAssignmentNotice = ContinuousClock.now
        while !stopSignal.isRequested {
            let chunk = try pollChunk()
            if !hasBeenAssigned, ContinuousClock.now - lastAssignmentNotice >= .seconds(10) {
                lastAssignmentNotice = .now
                logger.info("waiting for partition assignment", [
                    "group_id": .string(identity.groupID),
                    "hint": .string("a member that stopped without leaving the group holds its partitions until kafka.session.timeout.ms passes"),
                ])
            }
            if chunk.isEmpty {
                // Nothing new arrived: finish what waits for acknowledgements so its offsets commit.
                guard try settleAwaitingChunks(keepingAtMost: 0) else { break }
            }
            if options.ranges != nil, rangesAreDone() {
                if !chunk.isEmpty { try process(chunk) }
                guard try settleAwaitingChunks(keepingAtMost: 0) else { break }
                if rangesAreDone(), commitDone(uncommitted) {
                    logger.info("every offset range is done", ["partitions": .int(owned.count)])
                    break
                }
                continue
            }
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
            metrics.update { $0.lastPollAt = Date() }
            if !awaiting.isEmpty {
                // Commit chunks whose dead letters were acknowledged meanwhile, to keep latency low.
                settleAcknowledgedChunks()
            }
            if let message = try consumer.poll(timeoutMilliseconds: timeout) {
                if let end = options.ranges?[message.topicPartition]?.end, message.offset >= end {
                    pauseAtRangeEnd(message.topicPartition)
                    continue
                }
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

    // MARK: - Offset ranges

    private func startRanges(_ ranges: [TopicPartition: OffsetRange]) throws {
        let partitions = Array(ranges.keys)
        try consumer.assign(ranges.mapValues(\.start))
        hasBeenAssigned = true
        owned = Set(partitions)
        for (partition, range) in ranges {
            // Everything before the start counts as done, so an empty range is done at once.
            nextOffsets[partition] = range.start
        }
        let committed = try? consumer.committedWithMetadata(partitions, timeoutMilliseconds: 10_000)
        ledger.assigned(partitions, committed: committed)
        metrics.update {
            $0.hasBeenAssigned = true
            $0.assignedPartitions = partitions.count
        }
    }

    private func rangesAreDone() -> Bool {
        guard let ranges = options.ranges else { return false }
        return ranges.allSatisfy { partition, range in (nextOffsets[partition] ?? range.start) >= range.end }
    }

    private var pausedAtRangeEnd: Set<TopicPartition> = []

    private func pauseAtRangeEnd(_ partition: TopicPartition) {
        guard !pausedAtRangeEnd.contains(partition) else { return }
        pausedAtRangeEnd.insert(partition)
        try? consumer.pause([partition])
    }

    // MARK: - One chunk

    private func process(_ messages: [KafkaMessage]) throws {
        let started = ContinuousClock.now
        report.noteFirstRecord()
        guard try recoverLedgerWithRetry() else { return }
        let messages = messages.filter { !revokedSinceChunkStart.contains($0.topicPartition) }
        report.recordsRead += messages.count
        metrics.update {
            $0.recordsConsumed += messages.count
            $0.inFlightRecords = messages.count
        }

        var pending: [PendingRecord] = []
        var messagesBySource: [MessageKey: KafkaMessage] = [:]
        var deadLetters: [DeadLetter] = []
        pending.reserveCapacity(messages.count)
        var alreadyDeadLettered = 0
        for message in messages {
            if ledger.isPublished(message) {
                // A previous owner dead-lettered it and stopped before committing: it is done.
                alreadyDeadLettered += 1
                continue
            }
            let decoded = RecordDecoder.decodeWithDocument(key: message.key, value: message.value)
            switch decoded.result {
            case .success(let record):
                let source = RecordSource(
                    topic: message.topic, partition: message.partition, offset: message.offset,
                    fingerprint: RecordFingerprint.make(message))
                pending.append(PendingRecord(source: source, record: record))
                messagesBySource[MessageKey(source)] = message
            case .failure(let error):
                deadLetters.append(DeadLetter(message: message, error: error, document: decoded.document))
            }
        }

        var round = beginPublishRound()
        send(deadLetters, in: &round)
        let decoded = ContinuousClock.now
        let applied = try applyWithRetry(pending, messagesBySource: messagesBySource)
        let appliedAt = ContinuousClock.now
        guard let applied else { return }
        guard !assignmentLostDuring(messages) else {
            // The undecodable records' dead letters went out before the store call: let them land, so
            // that this worker's own recovery finds them if it gets these partitions back.
            try? producer.flush(timeoutMilliseconds: 10_000)
            return
        }
        send(applied.deadLetters, in: &round)
        let deadLetterCount = deadLetters.count + applied.deadLetters.count

        awaiting.append(AwaitingChunk(
            messages: messages, round: round, applied: applied, deadLetterCount: deadLetterCount,
            alreadyDeadLettered: alreadyDeadLettered, started: started, decodedAt: decoded, appliedAt: appliedAt))
        // The next chunk's store work overlaps this chunk's dead-letter acknowledgements.
        _ = try settleAwaitingChunks(keepingAtMost: 1)
    }

    /// Returns whether librdkafka gave up the assignment while the chunk was being applied, for example
    /// because a store call outlasted `max.poll.interval.ms`, and then drops the chunk.
    ///
    /// Other members may already own its partitions and read these records again from the last
    /// commit. Sending the dead letters of records the store rejected could put them on the topic
    /// twice, and committing the chunk could skip records whose dead letters were never sent. What the
    /// chunk applied stays, and counts as duplicates when read again.
    private func assignmentLostDuring(_ messages: [KafkaMessage]) -> Bool {
        guard (try? consumer.isAssignmentLost()) == true else { return false }
        metrics.update { [awaiting] in $0.inFlightRecords = awaiting.reduce(0) { $0 + $1.messages.count } }
        logger.warning("assignment lost while the chunk was applied; its dead letters and offsets are left to the partitions' next owners", [
            "records": .int(messages.count), "offsets": .string(OffsetRanges.describe(messages)),
            "hint": .string("a store call outlasted kafka.max.poll.interval.ms or the group session expired"),
        ])
        return true
    }

    // MARK: - Finishing chunks

    /// A chunk whose records are applied and whose dead letters are sent, waiting for the broker's
    /// acknowledgements before its offsets may be committed.
    private struct AwaitingChunk {
        var messages: [KafkaMessage]
        var round: PublishRound
        var applied: ApplyResult
        var deadLetterCount: Int
        var alreadyDeadLettered: Int
        var started: ContinuousClock.Instant
        var decodedAt: ContinuousClock.Instant
        var appliedAt: ContinuousClock.Instant
    }

    /// Finishes awaiting chunks in order: those whose dead letters are all acknowledged, then, waiting,
    /// the oldest ones until at most `limit` remain. Returns false when a stop came first.
    private func settleAwaitingChunks(keepingAtMost limit: Int) throws -> Bool {
        producer.poll(timeoutMilliseconds: 0)
        while let chunk = awaiting.first {
            if awaiting.count <= limit && !chunk.round.isSettled { break }
            let waitStarted = ContinuousClock.now
            guard try finish(chunk.round) else { return false }
            awaiting.removeFirst()
            complete(chunk, waited: ContinuousClock.now - waitStarted)
        }
        return true
    }

    /// Finishes, without waiting and without polling the consumer, the awaiting chunks whose dead
    /// letters all succeeded. Safe inside the rebalance handler.
    private func settleAcknowledgedChunks() {
        producer.poll(timeoutMilliseconds: 0)
        while let chunk = awaiting.first, chunk.round.isSettled, chunk.round.failures.isEmpty {
            account(chunk.round)
            awaiting.removeFirst()
            complete(chunk, waited: .zero)
        }
    }

    private func complete(_ chunk: AwaitingChunk, waited: Duration) {
        let messages = chunk.messages
        let committing = ContinuousClock.now
        markDone(messages)
        let committedAt = Date()
        for message in messages {
            if let timestamp = message.timestamp {
                report.produceToCommit.record(milliseconds: committedAt.timeIntervalSince(timestamp) * 1000)
            }
        }

        let applied = chunk.applied
        report.historyRows += applied.historyRows
        report.recordsApplied += applied.appliedRecords
        report.duplicates += applied.duplicates
        report.alreadyDeadLettered += chunk.alreadyDeadLettered
        report.noteLastCommit()
        metrics.update { [report] in
            $0.recordsApplied = report.recordsApplied
            $0.historyRows = report.historyRows
            $0.duplicates = report.duplicates
            $0.alreadyDeadLettered = report.alreadyDeadLettered
            $0.deadLettersByCode = report.deadLettersByCode
            $0.inFlightRecords = awaiting.reduce(0) { $0 + $1.messages.count }
        }
        updateLag()
        options.progress?(report)
        let suppressedLines = deadLetterLogLimiter.takeSuppressed()
        logger.info("batch applied", [
            "records": .int(messages.count), "applied": .int(applied.appliedRecords),
            "history_rows": .int(applied.historyRows), "duplicates": .int(applied.duplicates),
            "dead_letters": .int(chunk.deadLetterCount), "already_dead_lettered": .int(chunk.alreadyDeadLettered),
            "dead_letter_lines_suppressed": .int(suppressedLines),
            "executions": .int(applied.executions),
            "offsets": .string(OffsetRanges.describe(messages)),
            "ms": .int(Self.milliseconds(ContinuousClock.now - chunk.started)),
            "decode_ms": .int(Self.milliseconds(chunk.decodedAt - chunk.started)),
            "apply_ms": .int(Self.milliseconds(chunk.appliedAt - chunk.decodedAt)),
            "dead_letter_wait_ms": .int(Self.milliseconds(waited)),
            "commit_ms": .int(Self.milliseconds(ContinuousClock.now - committing)),
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
    private func applyWithRetry(_ records: [PendingRecord], messagesBySource: [MessageKey: KafkaMessage]) throws -> ApplyResult? {
        var pending: [Int: [PendingRecord]] = [:]
        for record in records {
            pending[lanes.lane(for: record.source), default: []].append(record)
        }
        var done: [(batches: [ExecutionBatch], outcomes: [[RecordOutcome]])] = []
        var attempt = 0
        var firstFailure: ContinuousClock.Instant?
        while true {
            if !revokedSinceChunkStart.isEmpty {
                for lane in pending.keys {
                    pending[lane]?.removeAll { revokedSinceChunkStart.contains(TopicPartition(topic: $0.source.topic, partition: $0.source.partition)) }
                }
            }
            pending = pending.filter { !$0.value.isEmpty }
            if pending.isEmpty {
                endRetry()
                return summarize(done, messagesBySource: messagesBySource)
            }

            let started = ContinuousClock.now
            let results = lanes.apply(pending)
            let seconds = Self.seconds(ContinuousClock.now - started)
            var failures: [String] = []
            for (lane, result) in results {
                switch result {
                case .success(let applied):
                    done.append(applied)
                    pending[lane] = nil
                    metrics.update {
                        $0.batches += applied.batches.count
                        for batch in applied.batches { $0.batchSizes.observe(Double(batch.updateCount)) }
                    }
                case .failure(let error):
                    // StoreError.transient is the expected case; anything else is unexpected but retried
                    // the same way, since giving up would lose records and retrying loses nothing.
                    failures.append((error as? StoreError)?.description ?? "unexpected store error: \(error)")
                }
            }
            metrics.update {
                $0.applySeconds.observe(seconds)
                $0.storeReachable = failures.isEmpty
            }
            guard let description = failures.first else { continue }

            attempt += 1
            let failedSince = firstFailure ?? .now
            firstFailure = failedSince
            report.storeRetries += 1
            metrics.update {
                $0.storeErrors += failures.count
                $0.retriesByKind["store", default: 0] += 1
            }
            let remaining = pending.values.flatMap { $0 }
            if options.retry.isExhausted(since: failedSince) {
                logger.error("retry budget used up: dead-lettering records with repository_error", [
                    "records": .int(remaining.count), "error": .string(description),
                ])
                endRetry()
                var result = summarize(done, messagesBySource: messagesBySource)
                result.deadLetters += budgetExhausted(remaining, reason: description, messagesBySource: messagesBySource).deadLetters
                return result
            }
            let wait = options.retry.backoff(attempt: attempt)
            logger.warning("store failed, retrying", [
                "attempt": .int(attempt), "retry_in_ms": .int(Self.milliseconds(wait)),
                "records": .int(remaining.count), "error": .string(description),
            ])
            guard try waitWhilePaused(wait) else { return nil }
        }
    }

    private func summarize(_ applied: [(batches: [ExecutionBatch], outcomes: [[RecordOutcome]])], messagesBySource: [MessageKey: KafkaMessage]) -> ApplyResult {
        var total = ApplyResult()
        for (batches, outcomes) in applied {
            let part = summarize(batches: batches, outcomes: outcomes, messagesBySource: messagesBySource)
            total.deadLetters += part.deadLetters
            total.appliedRecords += part.appliedRecords
            total.historyRows += part.historyRows
            total.duplicates += part.duplicates
            total.executions += part.executions
        }
        return total
    }

    private func summarize(batches: [ExecutionBatch], outcomes: [[RecordOutcome]], messagesBySource: [MessageKey: KafkaMessage]) -> ApplyResult {
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
                    if let message = messagesBySource[MessageKey(pending.source)] {
                        result.deadLetters.append(DeadLetter(message: message, error: error, document: Self.document(of: message)))
                    }
                }
            }
        }
        result.executions = executions.count
        return result
    }

    private func budgetExhausted(_ records: [PendingRecord], reason: String, messagesBySource: [MessageKey: KafkaMessage]) -> ApplyResult {
        var result = ApplyResult()
        let contractError = ContractError(
            code: .repositoryError, message: "The database failed and the retry budget is used up",
            details: .object([JSONMember("reason", .string(reason))]), httpStatus: 500)
        for record in records {
            if let message = messagesBySource[MessageKey(record.source)] {
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

    /// Dead letters sent and not yet confirmed: one publish round.
    private struct PublishRound {
        var deadLetters: [DeadLetter] = []
        let deliveries = DeliveryTracker()
        /// The ledger's safe starts before anything of the round was sent, for a recheck after failures.
        let startsBeforePublish: [Int32: Int64]

        /// Whether the broker reported a delivery result for every dead letter of the round.
        var isSettled: Bool { deliveries.results.count >= deadLetters.count }

        var failures: [SourceOffset: KafkaError] {
            deliveries.results.compactMapValues { result in
                if case .failure(let error) = result { return error }
                return nil
            }
        }
    }

    private func beginPublishRound() -> PublishRound {
        PublishRound(startsBeforePublish: ledger.safeStarts)
    }

    /// Sends dead letters without waiting for the broker, so that their acknowledgements arrive while
    /// the worker goes on (the chunk's undecodable records are sent before the store is called).
    private func send(_ deadLetters: [DeadLetter], in round: inout PublishRound) {
        for deadLetter in deadLetters {
            let source = deadLetter.message.topicPartition
            if revokedSinceChunkStart.contains(source) || ledger.isPublished(deadLetter.message) { continue }
            let requestID = Self.incomingRequestID(deadLetter.message) ?? requestIDs.next().description
            var (record, layout) = DeadLetterEnvelope.make(
                deadLetter, requestID: requestID, worker: identity, failedAt: Date(),
                maximumBytes: producer.maximumMessageBytes)
            record.topic = options.deadLetterTopic
            record.partition = ledger.deadLetterPartition(for: source)
            let key = SourceOffset(partition: source, offset: deadLetter.message.offset)
            let deliveries = round.deliveries
            do {
                try producer.send(record) { result in deliveries.note(key, result) }
                logDeadLetter(deadLetter, layout: layout)
            } catch let error as KafkaError {
                deliveries.note(key, .failure(error))
            } catch {
                deliveries.note(key, .failure(KafkaError(
                    code: KafkaErrorCode.invalidArgument, name: "_INVALID_ARG", reason: "\(error)", isRetriable: false, isFatal: false)))
            }
            round.deadLetters.append(deadLetter)
        }
    }

    /// Waits until the broker acknowledged every dead letter of the round, sending failed ones again
    /// with backoff. Returns false when the worker was asked to stop first.
    private func finish(_ firstRound: PublishRound) throws -> Bool {
        var round = firstRound
        var attempt = 0
        while !round.deadLetters.isEmpty {
            if !round.isSettled {
                try flushWhilePolling()
            }
            let (failed, firstError) = account(round)
            // A partition lost meanwhile is its new owner's: it reads those records again.
            let retry = failed.filter { owned.contains($0.message.topicPartition) }
            if retry.isEmpty { return true }

            attempt += 1
            report.deadLetterRetries += 1
            metrics.update { $0.retriesByKind["dead_letter_publish", default: 0] += 1 }
            let wait = options.retry.backoff(attempt: attempt)
            logger.warning("dead-letter publish failed, retrying", [
                "dlq_topic": .string(options.deadLetterTopic), "records": .int(retry.count),
                "error": .string(firstError?.description ?? "no delivery report"), "attempt": .int(attempt),
                "retry_in_ms": .int(Self.milliseconds(wait)),
            ])
            // A record reported as failed may still have been written: look before sending it again.
            var firstOffsets: [TopicPartition: Int64] = [:]
            for deadLetter in retry {
                let source = deadLetter.message.topicPartition
                firstOffsets[source] = min(firstOffsets[source] ?? deadLetter.message.offset, deadLetter.message.offset)
            }
            ledger.recheck(firstOffsets, from: round.startsBeforePublish)
            guard try waitWhilePaused(wait) else { return false }
            guard try recoverLedgerWithRetry() else { return false }
            round = beginPublishRound()
            send(retry, in: &round)
        }
        return true
    }

    /// Records the round's acknowledged dead letters in the ledger and the report, and returns the
    /// ones that failed or got no delivery report.
    @discardableResult
    private func account(_ round: PublishRound) -> (failed: [DeadLetter], firstError: KafkaError?) {
        var failed: [DeadLetter] = []
        var firstError: KafkaError?
        for deadLetter in round.deadLetters {
            let key = SourceOffset(partition: deadLetter.message.topicPartition, offset: deadLetter.message.offset)
            switch round.deliveries.results[key] {
            case .success(let delivered)?:
                ledger.notePublished(
                    source: key.partition, offset: key.offset,
                    deadLetterPartition: delivered.partition, deadLetterOffset: delivered.offset)
                report.deadLettersByCode[deadLetter.error.code.rawValue, default: 0] += 1
            case .failure(let error)?:
                firstError = firstError ?? error
                failed.append(deadLetter)
            case nil:
                // No report before the stop: its outcome is unknown, so it is checked like a failure.
                failed.append(deadLetter)
            }
        }
        return (failed, firstError)
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

    /// Reads the dead-letter topic for partitions assigned since the last chunk, retrying while it
    /// cannot be read. Returns false when the worker was asked to stop first.
    private func recoverLedgerWithRetry() throws -> Bool {
        var attempt = 0
        while !ledger.pendingRecovery.isEmpty {
            do {
                try ledger.recover(kafkaProperties: kafkaProperties, logger: logger)
            } catch {
                attempt += 1
                metrics.update { $0.retriesByKind["dead_letter_scan", default: 0] += 1 }
                let wait = options.retry.backoff(attempt: attempt)
                logger.warning("reading the dead-letter topic failed, retrying", [
                    "dlq_topic": .string(options.deadLetterTopic), "error": .string("\(error)"),
                    "attempt": .int(attempt), "retry_in_ms": .int(Self.milliseconds(wait)),
                ])
                guard try waitWhilePaused(wait) else { return false }
            }
        }
        endRetry()
        return true
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

    /// Records that every message of the chunk is done and commits the new offsets.
    private func markDone(_ messages: [KafkaMessage]) {
        var highest: [TopicPartition: Int64] = [:]
        for message in messages {
            let partition = message.topicPartition
            if message.offset >= highest[partition] ?? -1 { highest[partition] = message.offset }
        }
        for (partition, offset) in highest where owned.contains(partition) && !revokedSinceChunkStart.contains(partition) {
            if offset + 1 > nextOffsets[partition] ?? 0 {
                nextOffsets[partition] = offset + 1
                uncommitted.insert(partition)
            }
        }
        commitDone(uncommitted)
    }

    /// Commits the next offsets of `partitions` with the dead-letter ledger's metadata. A failed commit
    /// is logged and tried again with the next chunk: the records after the last commit are read again
    /// after a crash, and the store and the ledger skip them.
    @discardableResult
    private func commitDone(_ partitions: Set<TopicPartition>) -> Bool {
        var offsets: [TopicPartition: CommittedOffset] = [:]
        for partition in partitions where owned.contains(partition) {
            if let next = nextOffsets[partition] {
                offsets[partition] = CommittedOffset(offset: next, metadata: ledger.metadata(for: partition, nextOffset: next))
            }
        }
        guard !offsets.isEmpty else { return true }
        do {
            try consumer.commit(withMetadata: offsets)
            for (partition, committed) in offsets {
                uncommitted.remove(partition)
                ledger.committed(partition, nextOffset: committed.offset)
            }
            return true
        } catch {
            report.commitFailures += 1
            metrics.update { $0.commitFailures += 1 }
            logger.warning("offset commit failed; it is retried with the next chunk", [
                "error": .string("\(error)"), "partitions": .int(offsets.count),
            ])
            return false
        }
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
            }
        }
        // Drained means committed too: a failed commit keeps the worker running until one succeeds.
        return commitDone(uncommitted)
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
        metrics.update { $0.lastPollAt = Date() }
        // Serving poll keeps max.poll.interval.ms from expiring; records already fetched before the
        // pause still arrive and are kept, in order, for the next chunk.
        if let message = try consumer.poll(timeoutMilliseconds: 100) {
            backlog.append(message)
        }
    }

    private func beginRetry() {
        guard !isRetrying else { return }
        isRetrying = true
        let toPause = owned.subtracting(pausedForRetry).subtracting(pausedAtRangeEnd)
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
            } else {
                let stillPaused = pausedBeforeRevocation.intersection(partitions)
                if !stillPaused.isEmpty {
                    try? consumer.resume(Array(stillPaused))
                }
            }
            pausedBeforeRevocation.subtract(partitions)
            let committed: [TopicPartition: CommittedOffset]?
            do {
                committed = try consumer.committedWithMetadata(partitions, timeoutMilliseconds: 10_000)
            } catch {
                // Without the commit metadata the dead-letter partitions are read from their beginning.
                logger.warning("reading committed offsets failed; the dead-letter topic will be read in full", ["error": .string("\(error)")])
                committed = nil
            }
            ledger.assigned(partitions, committed: committed)
            metrics.update { [owned] in
                $0.hasBeenAssigned = true
                $0.assignedPartitions = owned.count
            }
            logger.info("partitions assigned", ["partitions": .string(Self.describe(partitions)), "owned": .int(owned.count)])
        case .revoked(let partitions), .lost(let partitions):
            let isLost: Bool
            if case .lost = event { isLost = true } else { isLost = false }
            if !isLost {
                // Everything done so far is committed before another member takes over. Chunks whose
                // dead letters are not yet acknowledged are dropped for these partitions instead.
                try? producer.flush(timeoutMilliseconds: 5000)
                settleAcknowledgedChunks()
                commitDone(Set(partitions).intersection(uncommitted))
            }
            for index in awaiting.indices {
                awaiting[index].messages.removeAll { partitions.contains($0.topicPartition) }
            }
            owned.subtract(partitions)
            pausedBeforeRevocation.formUnion(pausedForRetry.intersection(partitions))
            pausedForRetry.subtract(partitions)
            if owned.isEmpty {
                // Drained means caught up on an assignment: after losing every partition, wait for the next one.
                hasBeenAssigned = false
            }
            revokedSinceChunkStart.formUnion(partitions)
            backlog.removeAll { partitions.contains($0.topicPartition) }
            ledger.revoked(partitions)
            for partition in partitions {
                nextOffsets[partition] = nil
                uncommitted.remove(partition)
            }
            metrics.update { [owned] in $0.assignedPartitions = owned.count }
            logger.info(isLost ? "partitions lost" : "partitions revoked", [
                "partitions": .string(Self.describe(partitions)), "owned": .int(owned.count),
            ])
        }
    }

    private static func describe(_ partitions: [TopicPartition]) -> String {
        partitions.sorted { ($0.topic, $0.partition) < ($1.topic, $1.partition) }.map(\.description).joined(separator: ",")
    }

    static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }

    private func updateLag() {
        var lag: [TopicPartition: Int64] = [:]
        for partition in owned {
            guard let marks = try? consumer.cachedWatermarks(partition) else { continue }
            lag[partition] = max(0, marks.high - (nextOffsets[partition] ?? marks.low))
        }
        metrics.update { $0.lagByPartition = lag }
    }

    static func milliseconds(_ duration: Duration) -> Int {
        Int(duration.components.seconds * 1000 + duration.components.attoseconds / 1_000_000_000_000_000)
    }

    // MARK: - Shutdown

    private func shutDown() throws {
        logger.info("worker stopping", ["reason": .string(stopSignal.isRequested ? "stop requested" : "drained")])
        if !awaiting.isEmpty {
            // Acknowledged dead letters let their chunks commit; the rest are read again later.
            try? producer.flush(timeoutMilliseconds: max(Self.milliseconds(options.shutdownTimeout) / 2, 1))
            settleAcknowledgedChunks()
        }
        if !commitDone(uncommitted) {
            logger.error("final offset commit failed; the records after the last commit will be read again and skipped")
        }
        do {
            try producer.flush(timeoutMilliseconds: max(Self.milliseconds(options.shutdownTimeout), 1))
        } catch {
            logger.error("dead-letter producer did not flush before the shutdown timeout", ["error": .string("\(error)")])
        }
        try consumer.close()
        producer.close()
        report.noteStop()
        logger.info("worker stopped", [
            "records": .int(report.recordsRead), "applied": .int(report.recordsApplied),
            "history_rows": .int(report.historyRows), "dead_letters": .int(report.deadLetters),
            "duplicates": .int(report.duplicates), "already_dead_lettered": .int(report.alreadyDeadLettered),
            "active_seconds": .double(report.activeSeconds ?? 0),
            "latency_p50_ms": .double(report.produceToCommit.percentile(0.5) ?? 0),
            "latency_p99_ms": .double(report.produceToCommit.percentile(0.99) ?? 0),
            "latency_max_ms": .double(report.produceToCommit.maximum),
            "peak_rss_bytes": .int(report.peakResidentBytes ?? 0),
        ])
    }
}

/// An input record's position, which names its dead letter in a publish round.
private struct SourceOffset: Hashable {
    var partition: TopicPartition
    var offset: Int64
}

/// Collects the producer's delivery reports of one publish round.
private final class DeliveryTracker {
    private(set) var results: [SourceOffset: Result<DeliveryReport, KafkaError>] = [:]

    func note(_ source: SourceOffset, _ result: Result<DeliveryReport, KafkaError>) { results[source] = result }
}

/// A consumed record's place in the one input topic the worker reads: a cheaper dictionary key than
/// `RecordSource`, whose topic name and fingerprint would be hashed for every record of a chunk.
struct MessageKey: Hashable {
    var partition: Int32
    var offset: Int64

    init(_ source: RecordSource) {
        partition = source.partition
        offset = source.offset
    }
}
