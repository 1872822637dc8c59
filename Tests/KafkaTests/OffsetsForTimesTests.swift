import Foundation
import Kafka
import XCTest

final class OffsetsForTimesTests: XCTestCase {
    /// Produces records one at a time so their timestamps differ, and reads them back.
    private func produceSpacedRecords(_ cluster: MockKafkaCluster, topic: String, count: Int) throws -> [KafkaMessage] {
        for index in 0..<count {
            let results = try KafkaTestSupport.produce(
                [ProducerRecord(topic: topic, partition: 0, key: nil, value: Array("record-\(index)".utf8))], to: cluster)
            guard case .success = results[0] else { throw XCTSkip("the mock cluster did not take record \(index)") }
            // Timestamps have millisecond resolution: a short pause keeps neighbours apart.
            Thread.sleep(forTimeInterval: 0.01)
        }
        let consumer = try KafkaConsumer(configuration: KafkaTestSupport.consumerConfiguration(cluster, group: KafkaTestSupport.uniqueName("reader")))
        defer { try? consumer.close() }
        try consumer.assign([TopicPartition(topic: topic, partition: 0): KafkaOffset.beginning])
        return try KafkaTestSupport.consume(consumer, count: count)
    }

    func testTimestampFindsFirstRecordAtOrAfterIt() throws {
        let cluster = try MockKafkaCluster()
        defer { cluster.close() }
        let topic = KafkaTestSupport.uniqueName("timed")
        try cluster.createTopic(topic, partitions: 1)
        let messages = try produceSpacedRecords(cluster, topic: topic, count: 5)
        XCTAssertEqual(messages.count, 5)
        let third = try XCTUnwrap(messages[2].timestamp)
        let earlier = messages[..<2].compactMap(\.timestamp)
        XCTAssertTrue(earlier.allSatisfy { $0 < third }, "the records before the third should be older than it")

        let consumer = try KafkaConsumer(configuration: KafkaTestSupport.consumerConfiguration(cluster, group: KafkaTestSupport.uniqueName("lookup")))
        defer { try? consumer.close() }
        let partition = TopicPartition(topic: topic, partition: 0)
        let offsets = try consumer.offsets(forTimestamp: third, partitions: [partition], timeoutMilliseconds: 10_000)

        if offsets[partition] == KafkaOffset.end {
            // librdkafka 2.0.2's mock ListOffsets handler returns -1 for every timestamp (a FIXME in
            // rdkafka_mock_handlers.c); a real broker finds the offset.
            throw XCTSkip("the mock cluster does not look offsets up by timestamp")
        }
        XCTAssertEqual(offsets[partition], 2)
    }

    func testTimestampLookupOfMissingPartitionThrows() throws {
        let cluster = try MockKafkaCluster()
        defer { cluster.close() }
        let topic = KafkaTestSupport.uniqueName("timed")
        try cluster.createTopic(topic, partitions: 1)
        let consumer = try KafkaConsumer(configuration: KafkaTestSupport.consumerConfiguration(cluster, group: KafkaTestSupport.uniqueName("lookup")))
        defer { try? consumer.close() }

        XCTAssertThrowsError(try consumer.offsets(
            forTimestamp: Date(), partitions: [TopicPartition(topic: topic, partition: 7)], timeoutMilliseconds: 5_000))
    }

    func testTimestampAfterEveryRecordGivesEnd() throws {
        let cluster = try MockKafkaCluster()
        defer { cluster.close() }
        let topic = KafkaTestSupport.uniqueName("timed")
        try cluster.createTopic(topic, partitions: 1)
        let messages = try produceSpacedRecords(cluster, topic: topic, count: 2)
        let last = try XCTUnwrap(messages.last?.timestamp)

        let consumer = try KafkaConsumer(configuration: KafkaTestSupport.consumerConfiguration(cluster, group: KafkaTestSupport.uniqueName("lookup")))
        defer { try? consumer.close() }
        let partition = TopicPartition(topic: topic, partition: 0)
        let offsets = try consumer.offsets(forTimestamp: last.addingTimeInterval(3600), partitions: [partition], timeoutMilliseconds: 10_000)

        XCTAssertEqual(offsets[partition], KafkaOffset.end)
    }
}
