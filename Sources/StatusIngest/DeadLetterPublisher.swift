import Foundation
import Kafka
import StatusCore

/// Publishes dead letters outside the worker (backfills from a file) and waits for the broker's
/// acknowledgement of each, with the worker's envelope and headers.
final class DeadLetterPublisher {
    let topic: String
    private let producer: KafkaProducer
    private let identity: WorkerIdentity
    private let logger: Logger
    private var requestIDs = ULIDGenerator()

    init(topic: String, kafkaProperties: [String: String], logger: Logger) throws {
        self.topic = topic
        self.logger = logger
        self.identity = WorkerIdentity(groupID: kafkaProperties["group.id"] ?? "")
        self.producer = try KafkaProducer(configuration: KafkaRoles.producerProperties(kafkaProperties))
    }

    /// Sends every dead letter and waits until each is acknowledged, sending failed ones again with backoff.
    /// Returns false when a stop was requested before all were acknowledged.
    ///
    /// - Parameter publishedOffsets: reads the dead-letter topic and returns the source offsets already
    ///   on it. A record reported as failed may still have been written, so it is looked for there
    ///   before it is sent again.
    func publish(
        _ deadLetters: [DeadLetter], stopSignal: StopSignal, retry: RetryPolicy, publishedOffsets: () throws -> Set<Int64>
    ) throws -> Bool {
        var remaining = deadLetters
        var attempt = 0
        var needsCheck = false
        while !remaining.isEmpty {
            if stopSignal.isRequested { return false }
            if needsCheck {
                do {
                    let published = try publishedOffsets()
                    remaining.removeAll { published.contains($0.message.offset) }
                    needsCheck = false
                } catch {
                    // Sending without knowing what is there could write a dead letter twice: wait instead.
                    attempt += 1
                    let wait = retry.backoff(attempt: attempt)
                    logger.warning("reading the dead-letter topic failed, retrying", [
                        "dlq_topic": .string(topic), "error": .string("\(error)"), "attempt": .int(attempt),
                        "retry_in_ms": .int(IngestWorker.milliseconds(wait)),
                    ])
                    Thread.sleep(forTimeInterval: IngestWorker.seconds(wait))
                    continue
                }
                if remaining.isEmpty { break }
            }
            let results = DeliveryResults()
            for (index, deadLetter) in remaining.enumerated() {
                var (record, _) = DeadLetterEnvelope.make(
                    deadLetter, requestID: requestID(for: deadLetter.message), worker: identity,
                    failedAt: Date(), maximumBytes: producer.maximumMessageBytes)
                record.topic = topic
                do {
                    try producer.send(record) { result in results.note(index, result) }
                } catch let error as KafkaError {
                    results.note(index, .failure(error))
                }
            }
            do {
                try producer.flush(timeoutMilliseconds: 60_000)
            } catch {
                logger.warning("dead-letter flush did not finish; unacknowledged records are sent again", [
                    "dlq_topic": .string(topic), "error": .string("\(error)"),
                ])
            }

            var failed: [DeadLetter] = []
            for (index, deadLetter) in remaining.enumerated() {
                if case .success? = results.values[index] { continue }
                failed.append(deadLetter)
            }
            remaining = failed
            guard !remaining.isEmpty else { break }
            needsCheck = true
            attempt += 1
            let wait = retry.backoff(attempt: attempt)
            logger.warning("dead-letter publish failed, retrying", [
                "dlq_topic": .string(topic), "records": .int(remaining.count), "attempt": .int(attempt),
                "retry_in_ms": .int(IngestWorker.milliseconds(wait)),
            ])
            Thread.sleep(forTimeInterval: IngestWorker.seconds(wait))
        }
        return true
    }

    func close() {
        producer.close()
    }

    /// Returns the producer's own request id from a `request_id` header, as the worker does, else a new ULID.
    private func requestID(for message: KafkaMessage) -> String {
        if let text = message.header(DeadLetterHeader.incomingRequestID), !text.isEmpty, text.count <= 128 {
            return text
        }
        return requestIDs.next().description
    }
}

/// Delivery reports by the index of the record in one publish round.
private final class DeliveryResults {
    private(set) var values: [Int: Result<DeliveryReport, KafkaError>] = [:]

    func note(_ index: Int, _ result: Result<DeliveryReport, KafkaError>) { values[index] = result }
}
