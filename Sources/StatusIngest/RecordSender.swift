import Foundation
import Kafka

/// Sends records to a topic in order and waits until the broker acknowledged each one.
enum RecordSender {
    struct Result {
        var sent = 0
        var failed = 0
        var firstError: KafkaError?
    }

    /// Sends `records` in order; with `recordsPerSecond`, no faster than that rate.
    static func send(_ records: [EventFile.Record], topic: String, producer: KafkaProducer, recordsPerSecond: Int? = nil) throws -> Result {
        let outcome = SendOutcome()
        let started = ContinuousClock.now
        for (index, record) in records.enumerated() {
            if let recordsPerSecond {
                let due = started + .nanoseconds(Int64(index) * 1_000_000_000 / Int64(recordsPerSecond))
                if due > .now {
                    producer.poll(timeoutMilliseconds: 0)
                    Thread.sleep(forTimeInterval: IngestWorker.seconds(due - .now))
                }
            }
            let producerRecord = ProducerRecord(topic: topic, key: record.key, value: record.value, headers: record.headers)
            while true {
                do {
                    try producer.send(producerRecord) { delivery in outcome.note(delivery) }
                    break
                } catch let error as KafkaError where error.code == KafkaErrorCode.queueFull {
                    // The local queue is full: serve delivery reports to make room, then send again.
                    producer.poll(timeoutMilliseconds: 100)
                }
            }
            producer.poll(timeoutMilliseconds: 0)
        }
        try producer.flush(timeoutMilliseconds: 120_000)
        return outcome.result
    }
}

private final class SendOutcome {
    private(set) var result = RecordSender.Result()

    func note(_ delivery: Swift.Result<DeliveryReport, KafkaError>) {
        switch delivery {
        case .success: result.sent += 1
        case .failure(let error):
            result.failed += 1
            if result.firstError == nil { result.firstError = error }
        }
    }
}
