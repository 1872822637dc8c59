import Foundation
import StatusCore
import XCTest

/// Runs the core over a recorded trace and compares the dead-letter counts it decides with the
/// trace's expected figures.
///
/// The trace is a directory with `events.ndjson` (`{"key": …, "value": {…}}` or `"value_base64"`,
/// `"value": null` for a tombstone), `executions.ndjson` and `expected.json`. Set
/// `STATUS_INGEST_SAMPLE_DIR` to its path to run this test; it is skipped otherwise.
final class SampleTraceTests: XCTestCase {
    func testTraceDeadLetterCountsMatchExpected() throws {
        guard let directory = ProcessInfo.processInfo.environment["STATUS_INGEST_SAMPLE_DIR"] else {
            throw XCTSkip("set STATUS_INGEST_SAMPLE_DIR to a trace directory to run this test")
        }
        let base = URL(fileURLWithPath: directory)

        var executions: [UUID: FlowExecution] = [:]
        for line in try lines(of: base.appendingPathComponent("executions.ndjson")) {
            let execution = try parseExecution(try JSONParser.parse(line))
            executions[execution.id] = execution
        }

        var counts: [String: Int] = [:]
        var records = 0
        for line in try lines(of: base.appendingPathComponent("events.ndjson")) {
            records += 1
            let event = try JSONParser.parse(line)
            let key = event["key"]?.stringValue.map { Array($0.utf8) }
            let value: [UInt8]?
            if let encoded = event["value_base64"]?.stringValue {
                value = Array(try XCTUnwrap(Data(base64Encoded: encoded)))
            } else if let document = event["value"], !document.isNull {
                value = document.serialized()
            } else {
                value = nil
            }

            switch RecordDecoder.decode(key: key, value: value) {
            case .failure(let error):
                counts[error.code.rawValue, default: 0] += 1
            case .success(let record):
                if let error = ExecutionRules.check(record, against: executions[record.flowExecutionID]) {
                    counts[error.code.rawValue, default: 0] += 1
                }
            }
        }

        let expected = try JSONParser.parse(Data(contentsOf: base.appendingPathComponent("expected.json")))
        XCTAssertEqual(records, expected["records"]?.intValue)
        for member in expected["dead_letters_by_code"]?.objectMembers ?? [] {
            XCTAssertEqual(counts[member.key, default: 0], member.value.intValue, member.key)
        }
        XCTAssertEqual(counts.values.reduce(0, +), expected["dead_letters"]?.intValue)
    }

    private func lines(of url: URL) throws -> [ArraySlice<UInt8>] {
        let bytes = Array(try Data(contentsOf: url))
        return bytes.split(separator: UInt8(ascii: "\n"))
    }

    private func parseExecution(_ document: JSONValue) throws -> FlowExecution {
        FlowExecution(
            id: try XCTUnwrap(document["id"]?.stringValue.flatMap(UUIDText.parseCanonical)),
            organizationID: try XCTUnwrap(document["organization_id"]?.stringValue.flatMap(UUIDText.parseCanonical)),
            flowID: try XCTUnwrap(document["flow_id"]?.stringValue.flatMap(UUIDText.parseCanonical)),
            taskNames: (document["task_names"]?.arrayValue ?? []).compactMap(\.stringValue),
            status: document["status"]?.stringValue ?? "",
            deleted: document["deleted"]?.boolValue ?? false
        )
    }
}
