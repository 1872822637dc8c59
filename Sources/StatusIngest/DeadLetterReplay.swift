import Foundation
import Kafka

/// Sends dead-lettered records back to the input topic as they were: the original value byte for byte,
/// the original key and headers, and a `dlq.replay.count` header one higher than before.
///
/// A record already replayed `maximumReplays` times is rejected, so a record that keeps failing cannot
/// loop between the topics forever.
public struct DeadLetterReplay {
    /// The result for one selected record.
    public enum Outcome: Sendable, Equatable {
        /// Sent (or, in a dry run, would be sent) to this partition, or the partitioner's choice when nil.
        case sent(partition: Int32?, replayCount: Int)
        /// Not sent, with the reason.
        case rejected(String)
        /// The broker did not acknowledge it.
        case failed(String)
    }

    public var topic: String
    public var maximumReplays: Int
    public var kafkaProperties: [String: String]

    public init(topic: String, maximumReplays: Int, kafkaProperties: [String: String]) {
        self.topic = topic
        self.maximumReplays = maximumReplays
        self.kafkaProperties = kafkaProperties
    }

    /// The record to send for `record`, or the reason it must not be sent.
    ///
    /// It goes to its source partition when it is replayed into its source topic, so it stays beside the
    /// other updates of its execution whatever partitioner the first producer used.
    public func producerRecord(for record: DeadLetterRecord, partitionCount: Int?) -> Result<ProducerRecord, ReplayRejection> {
        guard record.replayCount < maximumReplays else {
            return .failure(ReplayRejection(
                "replayed \(record.replayCount) time\(record.replayCount == 1 ? "" : "s") already, the maximum is \(maximumReplays) (--max-replays); fix the cause or raise the maximum"))
        }
        guard record.hasOriginalValue else {
            return .failure(ReplayRejection("the original value cannot be recovered: the value is not an envelope this worker wrote"))
        }
        var headers = record.originalHeaders.filter { $0.key != DeadLetterHeader.replayCount }
        headers.append(KafkaHeader(key: DeadLetterHeader.replayCount, text: String(record.replayCount + 1)))
        var partition: Int32?
        if record.sourceTopic == topic, let source = record.sourcePartition, let partitionCount, source < partitionCount {
            partition = source
        }
        return .success(ProducerRecord(topic: topic, partition: partition, key: record.key, value: record.originalValue, headers: headers))
    }

    /// Sends the records (or with `dryRun` only decides what would go) and returns one outcome per record.
    ///
    /// - Throws: `KafkaError` when the producer cannot be created or the topic's partitions cannot be read.
    public func run(_ records: [DeadLetterRecord], dryRun: Bool) throws -> [Outcome] {
        let admin = try KafkaAdmin(configuration: KafkaRoles.producerProperties(kafkaProperties))
        let partitionCount = try admin.partitionCount(topic: topic, timeoutMilliseconds: 30_000)
        guard dryRun || partitionCount != nil else {
            throw ConfigurationError("the topic \(topic) does not exist: check ingest.topic or --topic")
        }

        var outcomes: [Outcome] = []
        var toSend: [(index: Int, record: ProducerRecord)] = []
        for record in records {
            switch producerRecord(for: record, partitionCount: partitionCount) {
            case .success(let producerRecord):
                outcomes.append(.sent(partition: producerRecord.partition, replayCount: record.replayCount + 1))
                toSend.append((outcomes.count - 1, producerRecord))
            case .failure(let rejection):
                outcomes.append(.rejected(rejection.description))
            }
        }
        guard !dryRun, !toSend.isEmpty else { return outcomes }

        let producer = try KafkaProducer(configuration: KafkaRoles.producerProperties(kafkaProperties))
        defer { producer.close() }
        let results = ReplayDeliveries()
        for (index, record) in toSend {
            do {
                try producer.send(record) { result in results.note(index, result) }
            } catch {
                results.note(index, .failure(error as? KafkaError ?? KafkaError(code: -1, name: "_SEND", reason: "\(error)", isRetriable: false, isFatal: false)))
            }
        }
        try? producer.flush(timeoutMilliseconds: 60_000)
        for (index, _) in toSend {
            switch results.values[index] {
            case .success(let report)?:
                if case .sent(_, let count) = outcomes[index] { outcomes[index] = .sent(partition: report.partition, replayCount: count) }
            case .failure(let error)?:
                outcomes[index] = .failed("\(error)")
            case nil:
                outcomes[index] = .failed("no delivery report within 60 s")
            }
        }
        return outcomes
    }
}

/// The reason a dead-letter record is not replayed.
public struct ReplayRejection: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}

private final class ReplayDeliveries {
    private(set) var values: [Int: Result<DeliveryReport, KafkaError>] = [:]

    func note(_ index: Int, _ result: Result<DeliveryReport, KafkaError>) { values[index] = result }
}
