import Foundation
import XCTest

/// The worker killed with SIGKILL at random moments, as a crash or an out-of-memory kill would,
/// and restarted each time. After every kill, the committed offsets pass only finished records;
/// at the end the sample's figures are exact and no record is dead-lettered twice.
final class WorkerKillTests: XCTestCase {
    func testRepeatedKillsLoseAndRepeatNothing() throws {
        let scenario = try FaultScenario(store: .postgres)
        // A killed member stays in the group until its session times out, and the next worker is
        // assigned partitions only after that. A short session keeps the rounds short.
        scenario.settings["kafka.session.timeout.ms"] = "3000"
        scenario.settings["ingest.poll.max.records"] = "500"
        try scenario.loadSample()

        var moments: [String] = []
        for round in 1...6 {
            let worker = try scenario.startWorker(untilDrained: false)
            try worker.waitForLog(WorkerLogEvent.partitionsAssigned, timeout: .seconds(60))
            // A random number of chunks, then a random pause: kills land inside a transaction, while
            // dead letters are in flight, or between a commit and the next poll.
            let chunks = Int.random(in: 0...4)
            try worker.waitForLog(WorkerLogEvent.batchApplied, count: chunks, timeout: .seconds(60))
            let delay = Double.random(in: 0...0.4)
            Thread.sleep(forTimeInterval: delay)
            let applied = worker.occurrences(of: WorkerLogEvent.batchApplied)
            try worker.kill()
            moments.append("round \(round): killed \(String(format: "%.2f", delay)) s after chunk \(chunks), with \(applied) chunks applied")

            try scenario.assertCommittedOffsetsPassOnlyFinishedRecords()
        }
        // The moments go to the test log, so a failure can be tied to where the kills landed.
        print(moments.joined(separator: "\n"))

        try scenario.runUntilDrained()
        try scenario.assertExpectedOutcome()
    }
}
