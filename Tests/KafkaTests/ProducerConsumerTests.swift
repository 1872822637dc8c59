import Foundation
import Kafka
import XCTest

final class ProducerConsumerTests: XCTestCase {
    func testRecordsRoundTripByteForByte() throws {
        let cluster = try MockKafkaCluster()
        defer { cluster.close() }
        let topic = KafkaTestSupport.uniqueName("round-trip")
        try cluster.createTopic(topic, partitions: 2)

        let binary: [UInt8] = [0, 1, 2, 0xFF, 0xFE, 0]
        var records: [ProducerRecord] = []
        for index in 0..<20 {
            records.append(ProducerRecord(
                topic: topic,
                partition: Int32(index % 2),
                key: index % 5 == 0 ? nil : [UInt8]("key-\(index)"),
                value: [UInt8]("value-\(index)") + binary,
                headers: [
                    KafkaHeader(key: "index", value: [UInt8]("\(index)")),
                    KafkaHeader(key: "null", value: nil),
                    KafkaHeader(key: "empty", value: []),
                    KafkaHeader(key: "index", value: binary),
                ]
            ))
        }
        records.append(ProducerRecord(topic: topic, partition: 0, key: [UInt8]("tombstone"), value: nil))
        records.append(ProducerRecord(topic: topic, partition: 0, key: [], value: []))

        let reports = try KafkaTestSupport.produce(records, to: cluster)
        XCTAssertEqual(reports.filter { (try? $0.get()) == nil }.count, 0, "\(reports)")

        let consumer = try KafkaConsumer(configuration: KafkaTestSupport.consumerConfiguration(cluster, group: KafkaTestSupport.uniqueName("group")))
        defer { try? consumer.close() }
        try consumer.subscribe(topics: [topic])
        let messages = try KafkaTestSupport.consume(consumer, count: records.count)
        XCTAssertEqual(messages.count, records.count)

        for partition: Int32 in [0, 1] {
            let sent = records.filter { $0.partition == partition }
            let received = messages.filter { $0.partition == partition }
            XCTAssertEqual(received.map(\.offset), Array(0..<Int64(sent.count)), "partition \(partition) offsets")
            for (record, message) in zip(sent, received) {
                XCTAssertEqual(message.topic, topic)
                XCTAssertEqual(message.key, record.key, "key at offset \(message.offset)")
                XCTAssertEqual(message.value, record.value, "value at offset \(message.offset)")
                XCTAssertEqual(message.headers, record.headers, "headers at offset \(message.offset)")
                XCTAssertNotNil(message.timestamp)
            }
        }

        let tombstone = try XCTUnwrap(messages.first { $0.key == [UInt8]("tombstone") })
        XCTAssertNil(tombstone.value)
        let empty = try XCTUnwrap(messages.last { $0.partition == 0 })
        XCTAssertEqual(empty.key, [])
        XCTAssertEqual(empty.value, [])
    }

    func testDeliveryReportsCarryOffsets() throws {
        let cluster = try MockKafkaCluster()
        defer { cluster.close() }
        let topic = KafkaTestSupport.uniqueName("reports")
        try cluster.createTopic(topic, partitions: 3)

        let records = (0..<9).map { ProducerRecord(topic: topic, partition: Int32($0 % 3), value: [UInt8]("\($0)")) }
        let reports = try KafkaTestSupport.produce(records, to: cluster).map { try $0.get() }

        for (index, report) in reports.enumerated() {
            XCTAssertEqual(report.topic, topic)
            XCTAssertEqual(report.partition, Int32(index % 3))
            XCTAssertEqual(report.offset, Int64(index / 3))
        }
    }

    func testPartitionerSpreadsKeysConsistently() throws {
        let cluster = try MockKafkaCluster()
        defer { cluster.close() }
        let topic = KafkaTestSupport.uniqueName("keyed")
        try cluster.createTopic(topic, partitions: 4)

        let records = (0..<12).map { ProducerRecord(topic: topic, key: [UInt8]("execution-\($0 % 3)"), value: [UInt8]("\($0)")) }
        let reports = try KafkaTestSupport.produce(records, to: cluster).map { try $0.get() }

        for key in 0..<3 {
            let partitions = Set(reports.enumerated().filter { $0.offset % 3 == key }.map(\.element.partition))
            XCTAssertEqual(partitions.count, 1, "key execution-\(key) landed in \(partitions)")
        }
    }

    func testAssignReadsFromGivenOffsets() throws {
        let cluster = try MockKafkaCluster()
        defer { cluster.close() }
        let topic = KafkaTestSupport.uniqueName("assigned")
        try cluster.createTopic(topic, partitions: 2)
        let first = TopicPartition(topic: topic, partition: 0)
        let second = TopicPartition(topic: topic, partition: 1)
        let records = (0..<10).map { ProducerRecord(topic: topic, partition: Int32($0 % 2), value: [UInt8]("\($0)")) }
        _ = try KafkaTestSupport.produce(records, to: cluster)

        let consumer = try KafkaConsumer(configuration: [
            "bootstrap.servers": cluster.bootstrapServers,
            "group.id": KafkaTestSupport.uniqueName("reader"),
            "enable.auto.commit": "false",
        ])
        defer { try? consumer.close() }
        try consumer.assign([first: KafkaOffset.beginning, second: 3])
        let messages = try KafkaTestSupport.consume(consumer, count: 7)

        XCTAssertEqual(messages.filter { $0.partition == 0 }.map(\.offset), [0, 1, 2, 3, 4])
        XCTAssertEqual(messages.filter { $0.partition == 1 }.map(\.offset), [3, 4])
        XCTAssertEqual(Set(try consumer.assignment()), [first, second])
    }

    func testOversizedRecordIsRejectedAtSend() throws {
        let cluster = try MockKafkaCluster()
        defer { cluster.close() }
        let producer = try KafkaProducer(configuration: KafkaTestSupport.producerConfiguration(cluster, ["message.max.bytes": "2000"]))
        defer { producer.close() }
        XCTAssertEqual(producer.maximumMessageBytes, 2000)

        var deliveries = 0
        let record = ProducerRecord(topic: "oversized", value: [UInt8](repeating: 7, count: 5000))
        XCTAssertThrowsError(try producer.send(record) { _ in deliveries += 1 }) { error in
            let kafkaError = error as? KafkaError
            XCTAssertEqual(kafkaError?.code, KafkaErrorCode.messageSizeTooLarge)
            XCTAssertEqual(kafkaError?.name, "MSG_SIZE_TOO_LARGE")
            XCTAssertTrue(kafkaError?.reason.contains("oversized") ?? false, "\(error)")
        }

        try producer.send(ProducerRecord(topic: "oversized", value: [UInt8](repeating: 7, count: 1000))) { _ in deliveries += 1 }
        try producer.flush(timeoutMilliseconds: Int(KafkaTestSupport.patience * 1000))
        XCTAssertEqual(deliveries, 1)
    }

    func testDefaultMaximumMessageBytes() throws {
        let producer = try KafkaProducer(configuration: [:])
        defer { producer.close() }
        XCTAssertEqual(producer.maximumMessageBytes, 1_000_000)
    }

    func testCloseFailsWaitingRecords() throws {
        let cluster = try MockKafkaCluster()
        defer { cluster.close() }
        cluster.setBrokerDown(1)
        let producer = try KafkaProducer(configuration: KafkaTestSupport.producerConfiguration(cluster))

        var results: [Result<DeliveryReport, KafkaError>] = []
        for index in 0..<3 {
            try producer.send(ProducerRecord(topic: "unreachable", value: [UInt8]("\(index)"))) { results.append($0) }
        }
        producer.close()

        XCTAssertEqual(results.count, 3)
        for result in results {
            guard case .failure(let error) = result else {
                XCTFail("a record was delivered to a broker that is down: \(result)")
                continue
            }
            XCTAssertTrue([KafkaErrorCode.purgeQueue, KafkaErrorCode.purgeInflight].contains(error.code), "\(error)")
        }
        XCTAssertThrowsError(try producer.send(ProducerRecord(topic: "unreachable", value: [])) { _ in }) { error in
            XCTAssertEqual((error as? KafkaError)?.code, KafkaErrorCode.state)
        }
    }

    func testIdempotentProducerDeliversOnceDespiteErrors() throws {
        let cluster = try MockKafkaCluster()
        defer { cluster.close() }
        let topic = KafkaTestSupport.uniqueName("idempotent")
        try cluster.createTopic(topic, partitions: 1)
        // Retriable errors on the first produce requests; the producer must retry them in order.
        cluster.pushRequestErrors(.produce, errors: [6, 7, 19, -195])

        let records = (0..<10).map { ProducerRecord(topic: topic, partition: 0, value: [UInt8]("record-\($0)")) }
        let reports = try KafkaTestSupport.produce(records, to: cluster, configuration: ["enable.idempotence": "true"])
        XCTAssertEqual(try reports.map { try $0.get().offset }, Array(0..<10))

        let consumer = try KafkaConsumer(configuration: KafkaTestSupport.consumerConfiguration(cluster, group: KafkaTestSupport.uniqueName("group")))
        defer { try? consumer.close() }
        try consumer.subscribe(topics: [topic])
        let messages = try KafkaTestSupport.consume(consumer, count: records.count)
        XCTAssertEqual(messages.map(\.value), records.map(\.value))
        XCTAssertEqual(try consumer.watermarks(TopicPartition(topic: topic, partition: 0), timeoutMilliseconds: 5000).high, 10)
    }

    func testInvalidPropertyIsNamed() {
        XCTAssertThrowsError(try KafkaProducer(configuration: ["kafka.foo": "1"])) { error in
            let kafkaError = error as? KafkaError
            XCTAssertEqual(kafkaError?.code, KafkaErrorCode.invalidArgument)
            XCTAssertTrue(kafkaError?.reason.hasPrefix("Invalid Kafka property 'kafka.foo': ") ?? false, "\(error)")
            XCTAssertTrue(kafkaError?.reason.contains("No such configuration property") ?? false, "\(error)")
        }
        XCTAssertThrowsError(try KafkaConsumer(configuration: ["group.id": "g", "session.timeout.ms": "soon"])) { error in
            let kafkaError = error as? KafkaError
            XCTAssertTrue(kafkaError?.reason.hasPrefix("Invalid Kafka property 'session.timeout.ms': ") ?? false, "\(error)")
        }
    }

    func testSubscribeWithoutGroupIsRejected() throws {
        let consumer = try KafkaConsumer(configuration: [:])
        defer { try? consumer.close() }
        XCTAssertThrowsError(try consumer.subscribe(topics: ["any"])) { error in
            XCTAssertEqual((error as? KafkaError)?.name, "_UNKNOWN_GROUP", "\(error)")
        }
    }
}
