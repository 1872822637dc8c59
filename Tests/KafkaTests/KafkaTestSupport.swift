import Foundation
import Kafka
import XCTest

/// Shared setup for tests against librdkafka's mock cluster.
enum KafkaTestSupport {
    /// The maximum time a test waits for records or a rebalance before it fails. It guards
    /// against hanging and is not a timing assertion.
    static let patience: TimeInterval = 30

    static func producerConfiguration(_ cluster: MockKafkaCluster, _ extra: [String: String] = [:]) -> [String: String] {
        [
            "bootstrap.servers": cluster.bootstrapServers,
            "linger.ms": "5",
            "topic.metadata.refresh.interval.ms": "500",
        ].merging(extra) { _, new in new }
    }

    /// Builds a consumer configuration with the worker's manual offset handling and short group timers.
    static func consumerConfiguration(
        _ cluster: MockKafkaCluster,
        group: String,
        _ extra: [String: String] = [:]
    ) -> [String: String] {
        [
            "bootstrap.servers": cluster.bootstrapServers,
            "group.id": group,
            "auto.offset.reset": "earliest",
            "enable.auto.commit": "false",
            "enable.auto.offset.store": "false",
            "session.timeout.ms": "3000",
            "heartbeat.interval.ms": "100",
            "topic.metadata.refresh.interval.ms": "500",
        ].merging(extra) { _, new in new }
    }

    /// Sends the records, waits for all delivery reports and returns them in send order.
    static func produce(_ records: [ProducerRecord], to cluster: MockKafkaCluster, configuration extra: [String: String] = [:]) throws -> [Result<DeliveryReport, KafkaError>] {
        let producer = try KafkaProducer(configuration: producerConfiguration(cluster, extra))
        defer { producer.close() }

        var results = [Result<DeliveryReport, KafkaError>?](repeating: nil, count: records.count)
        for (index, record) in records.enumerated() {
            try producer.send(record) { result in
                results[index] = result
            }
        }
        try producer.flush(timeoutMilliseconds: Int(patience * 1000))
        return results.map { $0 ?? .failure(KafkaError(code: -1, name: "MISSING", reason: "No delivery report", isRetriable: false, isFatal: false)) }
    }

    /// Polls until `count` records arrived or patience ran out, and returns what arrived.
    static func consume(_ consumer: KafkaConsumer, count: Int) throws -> [KafkaMessage] {
        var messages: [KafkaMessage] = []
        let deadline = Date().addingTimeInterval(patience)
        while messages.count < count, Date() < deadline {
            if let message = try consumer.poll(timeoutMilliseconds: 100) {
                messages.append(message)
            }
        }
        return messages
    }

    /// Polls every consumer in turn until `condition` is true or patience ran out.
    static func poll(_ consumers: [KafkaConsumer], until condition: () -> Bool) throws {
        let deadline = Date().addingTimeInterval(patience)
        while !condition(), Date() < deadline {
            for consumer in consumers {
                _ = try consumer.poll(timeoutMilliseconds: 50)
            }
        }
    }

    /// Returns a name no other test uses, so tests sharing a cluster never see each other's data.
    static func uniqueName(_ prefix: String) -> String {
        "\(prefix)-\(UUID().uuidString.prefix(8))"
    }
}

extension Array where Element == UInt8 {
    init(_ text: String) {
        self = Array(text.utf8)
    }
}
