import Foundation
import Kafka
import XCTest

final class ConsumerGroupTests: XCTestCase {
    /// Collects rebalance events on the polling thread, for one consumer.
    private final class RebalanceLog {
        var events: [RebalanceEvent] = []
        var owned: Set<TopicPartition> = []
        var assignedPartitions: [TopicPartition] {
            events.flatMap { event -> [TopicPartition] in
                if case .assigned(let partitions) = event { return partitions }
                return []
            }
        }
        var revokedPartitions: [TopicPartition] {
            events.flatMap { event -> [TopicPartition] in
                if case .revoked(let partitions) = event { return partitions }
                return []
            }
        }

        func record(_ event: RebalanceEvent, consumer: () -> KafkaConsumer?) {
            events.append(event)
            switch event {
            case .assigned(let partitions):
                owned.formUnion(partitions)
            case .revoked(let partitions), .lost(let partitions):
                // The handler runs before the partitions are taken away, so they are still assigned.
                if let consumer = consumer(), let assignment = try? consumer.assignment() {
                    XCTAssertTrue(Set(partitions).isSubset(of: Set(assignment)), "revoked \(partitions) but assignment is \(assignment)")
                }
                owned.subtract(partitions)
            }
        }
    }

    /// Lets a rebalance handler reach its own consumer without keeping it alive.
    private final class WeakConsumer {
        weak var consumer: KafkaConsumer?
    }

    func testEagerGroupSharesPartitions() throws {
        try checkTwoConsumersSharePartitions(strategy: "range", isCooperative: false)
    }

    func testCooperativeGroupSharesPartitions() throws {
        try checkTwoConsumersSharePartitions(strategy: "cooperative-sticky", isCooperative: true)
    }

    private func checkTwoConsumersSharePartitions(strategy: String, isCooperative: Bool) throws {
        let cluster = try MockKafkaCluster()
        defer { cluster.close() }
        let topic = KafkaTestSupport.uniqueName("shared")
        try cluster.createTopic(topic, partitions: 4)
        let all = Set((0..<4).map { TopicPartition(topic: topic, partition: Int32($0)) })
        let configuration = KafkaTestSupport.consumerConfiguration(
            cluster, group: KafkaTestSupport.uniqueName("group"), ["partition.assignment.strategy": strategy]
        )

        let firstLog = RebalanceLog()
        let firstReference = WeakConsumer()
        let firstConsumer = try KafkaConsumer(configuration: configuration) { event in
            firstLog.record(event) { firstReference.consumer }
        }
        firstReference.consumer = firstConsumer
        try firstConsumer.subscribe(topics: [topic])
        try KafkaTestSupport.poll([firstConsumer]) { firstLog.owned == all }
        XCTAssertEqual(firstLog.owned, all)
        XCTAssertEqual(Set(try firstConsumer.assignment()), all)

        let secondLog = RebalanceLog()
        let secondReference = WeakConsumer()
        let secondConsumer = try KafkaConsumer(configuration: configuration) { event in
            secondLog.record(event) { secondReference.consumer }
        }
        secondReference.consumer = secondConsumer
        try secondConsumer.subscribe(topics: [topic])
        try KafkaTestSupport.poll([firstConsumer, secondConsumer]) {
            firstLog.owned.count == 2 && secondLog.owned.count == 2
        }

        XCTAssertEqual(firstLog.owned.count, 2)
        XCTAssertEqual(secondLog.owned.count, 2)
        XCTAssertTrue(firstLog.owned.isDisjoint(with: secondLog.owned))
        XCTAssertEqual(firstLog.owned.union(secondLog.owned), all)
        XCTAssertEqual(Set(try firstConsumer.assignment()), firstLog.owned)
        XCTAssertEqual(Set(try secondConsumer.assignment()), secondLog.owned)
        if isCooperative {
            // Cooperative rebalancing takes away only the partitions that move.
            XCTAssertEqual(Set(firstLog.revokedPartitions), all.subtracting(firstLog.owned))
        } else {
            XCTAssertEqual(Set(firstLog.revokedPartitions), all)
        }

        // Closing serves the final revocation through the handler.
        try secondConsumer.close()
        XCTAssertTrue(secondLog.owned.isEmpty)
        try KafkaTestSupport.poll([firstConsumer]) { firstLog.owned == all }
        XCTAssertEqual(firstLog.owned, all)
        try firstConsumer.close()
        XCTAssertTrue(firstLog.owned.isEmpty)
        XCTAssertFalse(firstLog.events.contains { if case .lost = $0 { return true } else { return false } })
    }

    func testStalledConsumerSeesPartitionsLost() throws {
        let cluster = try MockKafkaCluster()
        defer { cluster.close() }
        let topic = KafkaTestSupport.uniqueName("stalled")
        try cluster.createTopic(topic, partitions: 2)
        // librdkafka makes a member leave the group when it does not poll for max.poll.interval.ms.
        let configuration = KafkaTestSupport.consumerConfiguration(
            cluster, group: KafkaTestSupport.uniqueName("group"),
            ["max.poll.interval.ms": "3000"]
        )

        let log = RebalanceLog()
        let consumer = try KafkaConsumer(configuration: configuration) { event in log.record(event) { nil } }
        defer { try? consumer.close() }
        try consumer.subscribe(topics: [topic])
        try KafkaTestSupport.poll([consumer]) { log.owned.count == 2 }
        XCTAssertEqual(log.owned.count, 2)

        Thread.sleep(forTimeInterval: 4)
        let isLost = { log.events.contains { if case .lost = $0 { return true } else { return false } } }
        try KafkaTestSupport.poll([consumer], until: isLost)

        XCTAssertTrue(isLost(), "events: \(log.events)")
        XCTAssertFalse(log.revokedPartitions.contains { $0.topic == topic }, "events: \(log.events)")
    }

    func testReleasedConsumerSkipsHandler() throws {
        let cluster = try MockKafkaCluster()
        defer { cluster.close() }
        let topic = KafkaTestSupport.uniqueName("released")
        try cluster.createTopic(topic, partitions: 1)
        let log = RebalanceLog()

        do {
            let consumer = try KafkaConsumer(
                configuration: KafkaTestSupport.consumerConfiguration(cluster, group: KafkaTestSupport.uniqueName("group"))
            ) { event in log.record(event) { nil } }
            try consumer.subscribe(topics: [topic])
            try KafkaTestSupport.poll([consumer]) { log.owned.count == 1 }
            XCTAssertEqual(log.owned.count, 1)
        }

        XCTAssertEqual(log.events.count, 1, "events: \(log.events)")
    }

    func testCommittedOffsetsResumeInNewConsumer() throws {
        let cluster = try MockKafkaCluster()
        defer { cluster.close() }
        let topic = KafkaTestSupport.uniqueName("resume")
        try cluster.createTopic(topic, partitions: 1)
        let partition = TopicPartition(topic: topic, partition: 0)
        let records = (0..<10).map { ProducerRecord(topic: topic, partition: 0, value: [UInt8]("\($0)")) }
        _ = try KafkaTestSupport.produce(records, to: cluster)
        let configuration = KafkaTestSupport.consumerConfiguration(cluster, group: KafkaTestSupport.uniqueName("group"))

        let first = try KafkaConsumer(configuration: configuration)
        try first.subscribe(topics: [topic])
        let firstMessages = try KafkaTestSupport.consume(first, count: 4)
        XCTAssertEqual(firstMessages.map(\.offset), [0, 1, 2, 3])
        XCTAssertEqual(try first.committed([partition], timeoutMilliseconds: 5000)[partition], KafkaOffset.invalid)
        XCTAssertEqual(try first.position([partition])[partition], 4)

        try first.storeOffsets([partition: 4])
        try first.commit()
        XCTAssertEqual(try first.committed([partition], timeoutMilliseconds: 5000)[partition], 4)
        // Nothing new is stored, so a second commit has nothing to send.
        try first.commit()
        try first.close()

        let second = try KafkaConsumer(configuration: configuration)
        defer { try? second.close() }
        try second.subscribe(topics: [topic])
        let secondMessages = try KafkaTestSupport.consume(second, count: 6)
        XCTAssertEqual(secondMessages.map(\.offset), Array(4..<10))

        try second.commit([partition: 10])
        XCTAssertEqual(try second.committed([partition], timeoutMilliseconds: 5000)[partition], 10)
    }

    func testRevocationHandlerCommitsDuringClose() throws {
        let cluster = try MockKafkaCluster()
        defer { cluster.close() }
        let topic = KafkaTestSupport.uniqueName("revocation")
        try cluster.createTopic(topic, partitions: 1)
        let partition = TopicPartition(topic: topic, partition: 0)
        _ = try KafkaTestSupport.produce((0..<3).map { ProducerRecord(topic: topic, partition: 0, value: [UInt8]("\($0)")) }, to: cluster)
        let configuration = KafkaTestSupport.consumerConfiguration(cluster, group: KafkaTestSupport.uniqueName("group"))

        let reference = WeakConsumer()
        var commitErrors: [Error] = []
        let consumer = try KafkaConsumer(configuration: configuration) { event in
            guard case .revoked = event, let consumer = reference.consumer else {
                return
            }
            do {
                try consumer.commit()
            } catch {
                commitErrors.append(error)
            }
        }
        reference.consumer = consumer
        try consumer.subscribe(topics: [topic])
        XCTAssertEqual(try KafkaTestSupport.consume(consumer, count: 3).count, 3)
        try consumer.storeOffsets([partition: 3])
        try consumer.close()
        XCTAssertTrue(commitErrors.isEmpty, "\(commitErrors)")

        let reader = try KafkaConsumer(configuration: configuration)
        defer { try? reader.close() }
        XCTAssertEqual(try reader.committed([partition], timeoutMilliseconds: 5000)[partition], 3)
    }

    func testStoringUnassignedPartitionFails() throws {
        let cluster = try MockKafkaCluster()
        defer { cluster.close() }
        let consumer = try KafkaConsumer(configuration: KafkaTestSupport.consumerConfiguration(cluster, group: KafkaTestSupport.uniqueName("group")))
        defer { try? consumer.close() }

        XCTAssertThrowsError(try consumer.storeOffsets([TopicPartition(topic: "nowhere", partition: 0): 1])) { error in
            XCTAssertTrue((error as? KafkaError)?.reason.contains("nowhere[0]") ?? false, "\(error)")
        }
    }

    func testPauseStopsDeliveryAndResumeContinues() throws {
        let cluster = try MockKafkaCluster()
        defer { cluster.close() }
        let topic = KafkaTestSupport.uniqueName("pause")
        try cluster.createTopic(topic, partitions: 2)
        let paused = TopicPartition(topic: topic, partition: 0)
        let running = TopicPartition(topic: topic, partition: 1)
        _ = try KafkaTestSupport.produce((0..<20).map { ProducerRecord(topic: topic, partition: 0, value: [UInt8]("\($0)")) }, to: cluster)

        let consumer = try KafkaConsumer(
            configuration: KafkaTestSupport.consumerConfiguration(cluster, group: KafkaTestSupport.uniqueName("group"))
        )
        defer { try? consumer.close() }
        try consumer.subscribe(topics: [topic])
        let beforePause = try KafkaTestSupport.consume(consumer, count: 5)
        XCTAssertEqual(beforePause.map(\.offset), [0, 1, 2, 3, 4])

        try consumer.pause([paused])
        _ = try KafkaTestSupport.produce((0..<5).map { ProducerRecord(topic: topic, partition: 1, value: [UInt8]("\($0)")) }, to: cluster)
        let whilePaused = try KafkaTestSupport.consume(consumer, count: 5)
        XCTAssertEqual(whilePaused.map(\.topicPartition), Array(repeating: running, count: 5))
        XCTAssertEqual(whilePaused.map(\.offset), [0, 1, 2, 3, 4])
        for _ in 0..<5 {
            XCTAssertNil(try consumer.poll(timeoutMilliseconds: 100), "a paused partition delivered a record")
        }
        XCTAssertEqual(Set(try consumer.assignment()), [paused, running])

        try consumer.resume([paused])
        let afterResume = try KafkaTestSupport.consume(consumer, count: 15)
        XCTAssertEqual(afterResume.map(\.topicPartition), Array(repeating: paused, count: 15))
        XCTAssertEqual(afterResume.map(\.offset), Array(5..<20))
    }

    func testWatermarksReportKeptRange() throws {
        let cluster = try MockKafkaCluster()
        defer { cluster.close() }
        let topic = KafkaTestSupport.uniqueName("watermarks")
        try cluster.createTopic(topic, partitions: 2)
        _ = try KafkaTestSupport.produce((0..<7).map { ProducerRecord(topic: topic, partition: 0, value: [UInt8]("\($0)")) }, to: cluster)

        let consumer = try KafkaConsumer(configuration: KafkaTestSupport.consumerConfiguration(cluster, group: KafkaTestSupport.uniqueName("group")))
        defer { try? consumer.close() }
        let filled = try consumer.watermarks(TopicPartition(topic: topic, partition: 0), timeoutMilliseconds: 5000)
        XCTAssertEqual(filled.low, 0)
        XCTAssertEqual(filled.high, 7)
        let empty = try consumer.watermarks(TopicPartition(topic: topic, partition: 1), timeoutMilliseconds: 5000)
        XCTAssertEqual(empty.low, 0)
        XCTAssertEqual(empty.high, 0)
    }

    func testClosedConsumerRejectsCalls() throws {
        let consumer = try KafkaConsumer(configuration: ["group.id": KafkaTestSupport.uniqueName("group")])
        try consumer.close()
        try consumer.close()
        XCTAssertThrowsError(try consumer.poll(timeoutMilliseconds: 0)) { error in
            XCTAssertEqual((error as? KafkaError)?.code, KafkaErrorCode.state)
        }
    }
}
