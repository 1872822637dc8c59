import Foundation
import Kafka
import XCTest

/// Broker faults from librdkafka's mock cluster: failed fetch, produce and offset-commit requests,
/// and a broker that goes away for a few seconds. The worker must ride them out and end with the
/// sample's exact figures.
final class BrokerFaultTests: XCTestCase {
    /// Waves of injected errors, each pushed after the worker has applied this many more chunks.
    private let chunksBetweenWaves = 3

    func testFetchErrorsLoseAndRepeatNothing() throws {
        // Small fetches and a small prefetch queue keep the consumer fetching through the whole run,
        // so the later waves of errors hit the worker and not the test's dead-letter reader.
        try assertSurvivesInjectedErrors(.fetch, errors: [
            BrokerError.notLeaderForPartition, BrokerError.requestTimedOut, BrokerError.transport,
            BrokerError.notLeaderForPartition, BrokerError.unknownTopicOrPartition,
        ], overrides: ["kafka.max.partition.fetch.bytes": "65536", "kafka.queued.max.messages.kbytes": "512"])
    }

    func testProduceErrorsOnDeadLettersLoseAndRepeatNothing() throws {
        try assertSurvivesInjectedErrors(.produce, errors: [
            BrokerError.notEnoughReplicas, BrokerError.notLeaderForPartition, BrokerError.requestTimedOut,
            BrokerError.notEnoughReplicas, BrokerError.transport,
        ])
    }

    func testOffsetCommitErrorsLoseAndRepeatNothing() throws {
        try assertSurvivesInjectedErrors(.offsetCommit, errors: [
            BrokerError.coordinatorNotAvailable, BrokerError.notCoordinator, BrokerError.requestTimedOut,
            BrokerError.coordinatorLoadInProgress, BrokerError.coordinatorNotAvailable,
        ])
    }

    func testBrokerDownForSecondsLosesAndRepeatsNothing() throws {
        let scenario = try FaultScenario(store: .sqlite)
        try scenario.loadSample()
        let worker = try scenario.startWorker(untilDrained: true)

        try worker.waitForLog(WorkerLogEvent.batchApplied, count: chunksBetweenWaves, timeout: .seconds(120))
        // Shorter than the session timeout (6 s), so the group keeps its member while the broker is away.
        scenario.cluster.setBrokerDown(1)
        Thread.sleep(forTimeInterval: 4)
        scenario.cluster.setBrokerUp(1)

        let termination = try worker.waitForExit(timeout: .seconds(180))
        XCTAssertEqual(termination, .exited(0), worker.logTail())
        try scenario.assertExpectedOutcome()
    }

    /// Pushes `errors` for requests of `apiKey` three times while one worker runs the sample, and
    /// checks the outcome: the worker exits 0 and every figure matches.
    private func assertSurvivesInjectedErrors(
        _ apiKey: KafkaAPIKey, errors: [Int32], overrides: [String: String] = [:],
        file: StaticString = #filePath, line: UInt = #line
    ) throws {
        let scenario = try FaultScenario(store: .sqlite)
        try scenario.loadSample()
        let worker = try scenario.startWorker(untilDrained: true, overrides: overrides)

        for wave in 1...3 {
            try worker.waitForLog(WorkerLogEvent.batchApplied, count: wave * chunksBetweenWaves, timeout: .seconds(120))
            scenario.cluster.pushRequestErrors(apiKey, errors: errors)
        }

        let termination = try worker.waitForExit(timeout: .seconds(180))
        XCTAssertEqual(termination, .exited(0), worker.logTail(), file: file, line: line)
        try scenario.assertExpectedOutcome(file: file, line: line)
    }
}

/// Kafka protocol error codes (`rd_kafka_resp_err_t` in librdkafka 2.0.2's rdkafka.h) that the
/// mock cluster returns on request. All but one are retriable: a client must retry, not give up.
enum BrokerError {
    static let unknownTopicOrPartition: Int32 = 3
    static let notLeaderForPartition: Int32 = 6
    static let requestTimedOut: Int32 = 7
    static let coordinatorLoadInProgress: Int32 = 14
    static let coordinatorNotAvailable: Int32 = 15
    static let notCoordinator: Int32 = 16
    static let notEnoughReplicas: Int32 = 19
    /// Not retriable: librdkafka fails the delivery at once instead of retrying.
    static let topicAuthorizationFailed: Int32 = 29
    /// `_TRANSPORT`: the mock closes the connection instead of sending a response.
    static let transport: Int32 = -195
}
