import Foundation
import Kafka
import StatusCore
import StatusStore
import XCTest

/// Records that fail for good next to each other, and a record that first fails for a passing
/// reason and then for good: each is dead-lettered once, and the records around it still apply.
final class FailingRecordTests: XCTestCase {
    /// A status the test's CHECK constraint makes PostgreSQL reject (SQLSTATE 23514), although it is
    /// a valid status by the contract: the database rejecting the record's own data.
    private let rejectedStatus = "rejected-by-check"

    func testRejectedRecordsBackToBackAfterTransientFailure() throws {
        let scenario = try FaultScenario(store: .postgres)
        let server = try XCTUnwrap(scenario.postgres)
        try server.execute(
            "ALTER TABLE task_status_history ADD CONSTRAINT status_is_accepted CHECK (status <> '\(rejectedStatus)')",
            url: scenario.storeURL)
        // The held lock makes the first attempts fail with lock_not_available (55P03), a transient failure.
        scenario.settings["store.url"] = server.url(scenario.storeURL, addingSetting: "lock_timeout=500")

        let executions = try ExecutionFile.load(path: FaultEnvironment.sampleDirectory + "/executions.ndjson")
        let execution = try XCTUnwrap(executions.first { !$0.deleted && !$0.taskNames.isEmpty })
        let task = execution.taskNames[0]
        let key = Array(execution.id.uuidString.lowercased().utf8)
        func rejectedRecord(partition: Int32, batch: Bool) -> ProducerRecord {
            let id = execution.id.uuidString.lowercased()
            let value = batch
                ? "{\"flow_execution_id\":\"\(id)\",\"statuses\":[{\"task_name\":\"\(task)\",\"status\":\"\(rejectedStatus)\"}]}"
                : "{\"flow_execution_id\":\"\(id)\",\"task_name\":\"\(task)\",\"status\":\"\(rejectedStatus)\"}"
            return ProducerRecord(topic: scenario.topic, partition: partition, key: key, value: Array(value.utf8))
        }

        // Offsets 0 and 1 of partition 0: the first chunk meets them while the table is locked.
        try scenario.produce([rejectedRecord(partition: 0, batch: false), rejectedRecord(partition: 0, batch: true)])
        try scenario.loadSample()
        // The last two records of partition 5, met without any transient failure.
        let tailOffset = try XCTUnwrap(scenario.highWatermarks()[5])
        try scenario.produce([rejectedRecord(partition: 5, batch: true), rejectedRecord(partition: 5, batch: false)])
        scenario.expected.records += 4
        scenario.expected.deadLetters += 4
        scenario.expected.deadLettersByCode["repository_error", default: 0] += 4

        let lock = try server.lockTable("task_status_history", url: scenario.storeURL)
        let worker = try scenario.startWorker(untilDrained: true)
        try worker.waitForLog(WorkerLogEvent.storeRetry, count: 2, timeout: .seconds(60))
        XCTAssertEqual(worker.occurrences(of: WorkerLogEvent.batchApplied), 0, "a chunk was applied through the lock\n\(worker.logTail())")
        lock.release()

        XCTAssertEqual(try worker.waitForExit(timeout: .seconds(180)), .exited(0), worker.logTail())
        try scenario.assertExpectedOutcome()

        let codes = Dictionary(
            try scenario.deadLetters().compactMap { letter -> (String, String)? in
                guard let partition = letter.sourcePartition, let offset = letter.sourceOffset else { return nil }
                return ("\(partition):\(offset)", letter.code ?? "")
            },
            uniquingKeysWith: { first, _ in first })
        for coordinates in ["0:0", "0:1", "5:\(tailOffset)", "5:\(tailOffset + 1)"] {
            XCTAssertEqual(codes[coordinates], "repository_error", "dead letter of \(coordinates)")
        }
    }
}
