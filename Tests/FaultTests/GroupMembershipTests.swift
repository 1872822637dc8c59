import Foundation
import XCTest

/// Workers joining and leaving one consumer group while records flow, and a rebalance while every
/// worker has its partitions paused for a retry. PostgreSQL is the store they share.
final class GroupMembershipTests: XCTestCase {
    func testMemberJoiningAndLeavingMidRun() throws {
        try assertJoinAndLeaveFinishExactly(assignmentStrategy: nil)
    }

    func testJoinAndLeaveWithCooperativeSticky() throws {
        try assertJoinAndLeaveFinishExactly(assignmentStrategy: "cooperative-sticky")
    }

    /// Three workers in one group, one joining and one leaving mid-run, with the given
    /// `partition.assignment.strategy` (nil keeps librdkafka's eager default).
    private func assertJoinAndLeaveFinishExactly(assignmentStrategy: String?) throws {
        let scenario = try FaultScenario(store: .postgres)
        // Small chunks stretch the run, so the membership changes land while records still flow.
        scenario.settings["ingest.poll.max.records"] = "300"
        if let assignmentStrategy {
            scenario.settings["kafka.partition.assignment.strategy"] = assignmentStrategy
        }
        try scenario.loadSample()

        let leaving = try scenario.startWorker(untilDrained: false)
        let staying = try scenario.startWorker(untilDrained: false)
        try leaving.waitForLog(WorkerLogEvent.batchApplied, count: 2, timeout: .seconds(120))
        try staying.waitForLog(WorkerLogEvent.partitionsAssigned, timeout: .seconds(60))

        let joining = try scenario.startWorker(untilDrained: false)
        try joining.waitForLog(WorkerLogEvent.partitionsAssigned, timeout: .seconds(60))
        leaving.send(SIGTERM)
        XCTAssertEqual(try leaving.waitForExit(timeout: .seconds(60)), .exited(0), leaving.logTail())

        try scenario.waitUntilGroupCaughtUp(timeout: .seconds(120))
        for worker in [staying, joining] {
            worker.send(SIGTERM)
        }
        for worker in [staying, joining] {
            XCTAssertEqual(try worker.waitForExit(timeout: .seconds(60)), .exited(0), worker.logTail())
        }
        XCTAssertGreaterThan(joining.occurrences(of: WorkerLogEvent.batchApplied), 0, "the joining worker applied nothing\n\(joining.logTail())")
        try scenario.assertExpectedOutcome()
    }

    func testLongStoreCallRepeatsNoDeadLetter() throws {
        let scenario = try FaultScenario(store: .postgres)
        // As short as librdkafka allows: it must not be below kafka.session.timeout.ms (6 s here).
        scenario.settings["kafka.max.poll.interval.ms"] = "6000"
        let server = try XCTUnwrap(scenario.postgres)
        try scenario.loadSample()

        let first = try scenario.startWorker(untilDrained: false)
        try first.waitForLog(WorkerLogEvent.batchApplied, count: 2, timeout: .seconds(120))
        // Without a lock_timeout the first worker's next store call waits for the lock, and librdkafka
        // takes its partitions away once it has not polled for max.poll.interval.ms.
        let lock = try server.lockTable("task_status_history", url: scenario.storeURL)
        try first.waitForLog(WorkerLogEvent.maximumPollIntervalExceeded, timeout: .seconds(60))

        // The second worker takes every partition and reads the first worker's chunk again; its own
        // store call waits for the same lock.
        let second = try scenario.startWorker(untilDrained: false)
        try second.waitForLog(WorkerLogEvent.partitionsAssigned, timeout: .seconds(60))
        Thread.sleep(forTimeInterval: 2)
        lock.release()

        try first.waitForLog(WorkerLogEvent.assignmentLostDuringApply, timeout: .seconds(60))
        try scenario.waitUntilGroupCaughtUp(timeout: .seconds(180))
        for worker in [first, second] {
            worker.send(SIGTERM)
        }
        for worker in [first, second] {
            XCTAssertEqual(try worker.waitForExit(timeout: .seconds(60)), .exited(0), worker.logTail())
        }
        try scenario.assertExpectedOutcome()
    }

    func testRebalanceWhilePausedForRetry() throws {
        let scenario = try FaultScenario(store: .postgres)
        let server = try XCTUnwrap(scenario.postgres)
        // A held table lock with a short lock_timeout makes every apply fail as a transient error
        // while the server stays up, so that a second worker can still start and join.
        scenario.settings["store.url"] = server.url(scenario.storeURL, addingSetting: "lock_timeout=500")
        try scenario.loadSample()

        let first = try scenario.startWorker(untilDrained: false)
        try first.waitForLog(WorkerLogEvent.batchApplied, count: 2, timeout: .seconds(120))
        let lock = try server.lockTable("task_status_history", url: scenario.storeURL)
        try first.waitForLog(WorkerLogEvent.storeRetry, count: 2, timeout: .seconds(60))

        let second = try scenario.startWorker(untilDrained: false)
        try second.waitForLog(WorkerLogEvent.partitionsAssigned, timeout: .seconds(60))
        try first.waitForLog(WorkerLogEvent.partitionsRevoked, timeout: .seconds(60))
        try second.waitForLog(WorkerLogEvent.storeRetry, count: 1, timeout: .seconds(60))
        try scenario.assertCommittedOffsetsPassOnlyFinishedRecords()
        lock.release()

        try scenario.waitUntilGroupCaughtUp(timeout: .seconds(120))
        for worker in [first, second] {
            worker.send(SIGTERM)
        }
        for worker in [first, second] {
            XCTAssertEqual(try worker.waitForExit(timeout: .seconds(60)), .exited(0), worker.logTail())
        }
        try scenario.assertExpectedOutcome()
    }
}
