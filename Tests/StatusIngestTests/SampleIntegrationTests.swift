import Foundation
import StatusIngest
import XCTest

/// The whole `trace-3000` sample (52,248 records of a real trace, about 1.7% broken on purpose)
/// through librdkafka's mock cluster into each store, checked against every figure of its expected.json.
final class SampleIntegrationTests: XCTestCase {
    private var sample: String { TestEnvironment.sharedDirectory + "/samples/trace-3000" }

    private func assertReachesExpectedOutcome(storeURL: String) throws {
        guard FileManager.default.fileExists(atPath: sample + "/expected.json") else {
            return XCTFail("sample not found at \(sample): the shared material must sit beside the repository (or set STATUS_INGEST_SHARED_DIR)")
        }
        let outcome = try SampleRun(sampleDirectory: sample, storeURL: storeURL, partitions: 12, logger: TestEnvironment.logger).run()

        XCTAssertEqual(outcome.report.recordsRead, outcome.expected.records)
        XCTAssertEqual(outcome.stats.historyRows, outcome.expected.historyRows)
        XCTAssertEqual(outcome.stats.taskStates, outcome.expected.taskStates)
        XCTAssertEqual(outcome.stats.taskStatesSHA256, outcome.expected.taskStatesSHA256)
        XCTAssertEqual(outcome.stats.executionsAwaitingInput, outcome.expected.executionsAwaitingInput)
        XCTAssertEqual(outcome.deadLettersByCode.values.reduce(0, +), outcome.expected.deadLetters)
        XCTAssertEqual(outcome.deadLettersByCode, outcome.expected.deadLettersByCode)
        XCTAssertEqual(outcome.report.deadLettersByCode, outcome.expected.deadLettersByCode)
        XCTAssertEqual(outcome.differences, [])
    }

    func testTraceSampleThroughSQLite() throws {
        let directory = try TestEnvironment.temporaryDirectory()
        try assertReachesExpectedOutcome(storeURL: "sqlite:\(directory)/store.sqlite")
    }

    func testTraceSampleThroughPostgreSQL() throws {
        try assertReachesExpectedOutcome(storeURL: try TestEnvironment.postgresURLWithFreshSchema())
    }

    func testQuickstartSampleMatches() throws {
        let directory = try TestEnvironment.temporaryDirectory()
        let outcome = try SampleRun(
            sampleDirectory: TestEnvironment.repositoryRoot + "/samples/quickstart",
            storeURL: "sqlite:\(directory)/store.sqlite", partitions: 4, logger: TestEnvironment.logger
        ).run()
        XCTAssertEqual(outcome.differences, [])
    }
}
