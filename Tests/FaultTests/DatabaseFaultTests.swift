import Foundation
import XCTest

/// PostgreSQL going away under a running worker: the worker retries without moving past the
/// records it could not apply, stays in its group, stops cleanly when asked, and ends exactly.
final class DatabaseFaultTests: XCTestCase {
    func testServerStoppedMidRunFinishesExactly() throws {
        let scenario = try FaultScenario(store: .postgres)
        let server = try XCTUnwrap(scenario.postgres)
        try scenario.loadSample()
        let worker = try scenario.startWorker(untilDrained: true)

        try worker.waitForLog(WorkerLogEvent.batchApplied, count: 5, timeout: .seconds(120))
        try server.whileStopped {
            try worker.waitForLog(WorkerLogEvent.storeRetry, count: 2, timeout: .seconds(60))
            Thread.sleep(forTimeInterval: 3)
        }

        let termination = try worker.waitForExit(timeout: .seconds(240))
        XCTAssertEqual(termination, .exited(0), worker.logTail())
        try scenario.assertExpectedOutcome()
    }

    func testStopDuringRetryExitsCleanlyAndRestartFinishes() throws {
        let shutdownSeconds = 8
        let scenario = try FaultScenario(store: .postgres)
        scenario.settings["ingest.shutdown.timeout.ms"] = String(shutdownSeconds * 1000)
        let server = try XCTUnwrap(scenario.postgres)
        try scenario.loadSample()
        let worker = try scenario.startWorker(untilDrained: false)

        try worker.waitForLog(WorkerLogEvent.batchApplied, count: 3, timeout: .seconds(120))
        let (termination, elapsed) = try server.whileStopped {
            try worker.waitForLog(WorkerLogEvent.storeRetry, count: 2, timeout: .seconds(60))
            let signalled = ContinuousClock.now
            worker.send(SIGTERM)
            let termination = try worker.waitForExit(timeout: .seconds(120))
            return (termination, ContinuousClock.now - signalled)
        }

        XCTAssertEqual(termination, .exited(0), worker.logTail())
        // The allowance over the configured timeout covers process exit on a loaded 2-core machine.
        // A worker that waited for the database instead would take until it came back, far longer.
        XCTAssertLessThan(elapsed, .seconds(shutdownSeconds + 4), "time from SIGTERM to exit\n\(worker.logTail())")
        try scenario.assertCommittedOffsetsPassOnlyFinishedRecords()

        try scenario.runUntilDrained()
        try scenario.assertExpectedOutcome()
    }

    func testOutageLongerThanPollIntervalKeepsMembership() throws {
        let scenario = try FaultScenario(store: .postgres)
        scenario.settings["kafka.max.poll.interval.ms"] = "10000"
        scenario.settings["kafka.session.timeout.ms"] = "6000"
        let server = try XCTUnwrap(scenario.postgres)
        try scenario.loadSample()
        let worker = try scenario.startWorker(untilDrained: true)

        try worker.waitForLog(WorkerLogEvent.batchApplied, count: 3, timeout: .seconds(120))
        try server.whileStopped {
            try worker.waitForLog(WorkerLogEvent.storeRetry, count: 1, timeout: .seconds(60))
            // Half again the poll interval: a worker that stopped polling while it retries would be
            // dropped from the group by now.
            Thread.sleep(forTimeInterval: 15)
        }

        let termination = try worker.waitForExit(timeout: .seconds(240))
        XCTAssertEqual(termination, .exited(0), worker.logTail())
        XCTAssertEqual(worker.occurrences(of: WorkerLogEvent.maximumPollIntervalExceeded), 0, worker.logTail())
        XCTAssertEqual(worker.occurrences(of: WorkerLogEvent.partitionsLost), 0, worker.logTail())
        XCTAssertEqual(worker.occurrences(of: WorkerLogEvent.partitionsAssigned), 1, worker.logTail())
        try scenario.assertExpectedOutcome()
    }
}
