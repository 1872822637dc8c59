import Foundation
import Kafka
import StatusCore
@testable import StatusIngest
import XCTest

/// The file backfill's dead-letter publisher after a failed delivery.
final class DeadLetterPublisherTests: XCTestCase {
    func testRecordFoundOnTopicIsNotSentAgain() throws {
        let harness = try WorkerHarness(partitions: 1)
        let publisher = try DeadLetterPublisher(
            topic: harness.deadLetterTopic, kafkaProperties: harness.kafka, logger: TestEnvironment.logger)
        defer { publisher.close() }
        // One record, so that one produce request carries it and fails.
        let deadLetter = DeadLetter(
            message: KafkaMessage(topic: "file:/events.ndjson", partition: 0, offset: 2, value: Array("{}".utf8)),
            error: .badRequest("unknown task"), document: nil)
        // The delivery fails, and the check afterwards finds the line already on the topic, as when a
        // request was written but its response lost.
        harness.cluster.pushRequestErrors(.produce, errors: [BrokerErrorCode.topicAuthorizationFailed])
        var checks = 0

        let finished = try publisher.publish(
            [deadLetter], stopSignal: StopSignal(),
            retry: RetryPolicy(initialBackoff: .milliseconds(10), maximumBackoff: .milliseconds(50), budget: .zero),
            publishedOffsets: {
                checks += 1
                return [2]
            })

        XCTAssertTrue(finished)
        XCTAssertEqual(checks, 1, "the topic is read once, after the failed delivery")
        XCTAssertEqual(try harness.deadLetters().count, 0, "the line found on the topic is not sent again")
    }
}

/// Kafka protocol error codes that librdkafka's mock cluster returns on request.
private enum BrokerErrorCode {
    /// Not retriable: librdkafka reports the delivery as failed instead of trying again.
    static let topicAuthorizationFailed: Int32 = 29
}
