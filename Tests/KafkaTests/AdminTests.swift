import Foundation
import Kafka
import XCTest

final class AdminTests: XCTestCase {
    func testCreateTopicsIsIdempotent() throws {
        let cluster = try MockKafkaCluster()
        defer { cluster.close() }
        let admin = try KafkaAdmin(configuration: ["bootstrap.servers": cluster.bootstrapServers])
        let topic = KafkaTestSupport.uniqueName("existing")
        try cluster.createTopic(topic, partitions: 3)

        try admin.createTopics([NewTopic(name: topic, partitions: 3, replicationFactor: 1)], timeoutMilliseconds: 5000)
        try admin.createTopics([NewTopic(name: topic, partitions: 5, replicationFactor: 1)], timeoutMilliseconds: 5000)
        try admin.createTopics([], timeoutMilliseconds: 5000)

        XCTAssertEqual(try admin.partitionCount(topic: topic, timeoutMilliseconds: 5000), 3)
    }

    func testPartitionCountOfMissingTopicIsNil() throws {
        let cluster = try MockKafkaCluster(brokerCount: 3)
        defer { cluster.close() }
        let topic = KafkaTestSupport.uniqueName("replicated")
        try cluster.createTopic(topic, partitions: 6, replicationFactor: 3)
        let admin = try KafkaAdmin(configuration: ["bootstrap.servers": cluster.bootstrapServers])

        XCTAssertEqual(try admin.partitionCount(topic: topic, timeoutMilliseconds: 5000), 6)
        XCTAssertNil(try admin.partitionCount(topic: "missing", timeoutMilliseconds: 5000))
        // Asking must not create the topic.
        XCTAssertNil(try admin.partitionCount(topic: "missing", timeoutMilliseconds: 5000))
    }

    func testCreatingOnMockTimesOutNamingTopic() throws {
        // The mock cluster has no CreateTopics handler, so this pins the timeout error's wording.
        let cluster = try MockKafkaCluster()
        defer { cluster.close() }
        let admin = try KafkaAdmin(configuration: ["bootstrap.servers": cluster.bootstrapServers])
        let topic = KafkaTestSupport.uniqueName("new")

        XCTAssertThrowsError(
            try admin.createTopics([NewTopic(name: topic, partitions: 1, replicationFactor: 1)], timeoutMilliseconds: 500)
        ) { error in
            let kafkaError = error as? KafkaError
            XCTAssertEqual(kafkaError?.code, KafkaErrorCode.timedOut, "\(error)")
            XCTAssertTrue(kafkaError?.reason.contains(topic) ?? false, "\(error)")
        }
    }

    func testInvalidNewTopicIsRejected() throws {
        let cluster = try MockKafkaCluster()
        defer { cluster.close() }
        let admin = try KafkaAdmin(configuration: ["bootstrap.servers": cluster.bootstrapServers])

        XCTAssertThrowsError(
            try admin.createTopics([NewTopic(name: "bad", partitions: -5, replicationFactor: 1)], timeoutMilliseconds: 5000)
        ) { error in
            let kafkaError = error as? KafkaError
            XCTAssertEqual(kafkaError?.code, KafkaErrorCode.invalidArgument, "\(error)")
            XCTAssertTrue(kafkaError?.reason.contains("'bad'") ?? false, "\(error)")
        }
    }

    func testDownBrokerFailsMetadataRequest() throws {
        let cluster = try MockKafkaCluster()
        defer { cluster.close() }
        let admin = try KafkaAdmin(configuration: ["bootstrap.servers": cluster.bootstrapServers])
        cluster.setBrokerDown(1)

        XCTAssertThrowsError(try admin.partitionCount(topic: "any", timeoutMilliseconds: 500)) { error in
            let kafkaError = error as? KafkaError
            XCTAssertEqual(kafkaError?.isRetriable, true, "\(error)")
            XCTAssertTrue(kafkaError?.reason.contains("metadata") ?? false, "\(error)")
        }
    }
}
