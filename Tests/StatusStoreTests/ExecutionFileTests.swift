import Foundation
import StatusCore
import StatusStore
import XCTest

final class ExecutionFileTests: XCTestCase {
    private let first = """
        {"id": "0190A5B2-0000-7000-8000-000000000001", "organization_id": "0190a5b2-0000-7000-8000-0000000000aa", \
        "flow_id": "0190a5b2-0000-7000-8000-0000000000f1", "task_names": ["extract", "load"], "status": "running", "deleted": false}
        """
    private let second = """
        {"id": "0190a5b2-0000-7000-8000-000000000002", "organization_id": "0190a5b2-0000-7000-8000-0000000000aa", \
        "flow_id": "0190a5b2-0000-7000-8000-0000000000f1", "task_names": [], "status": "queued", "deleted": true}
        """

    func testLoadsEveryLineAndSkipsBlankLines() throws {
        let path = try writeFile(first + "\n\n" + second + "\r\n")
        let executions = try ExecutionFile.load(path: path)

        XCTAssertEqual(executions.count, 2)
        XCTAssertEqual(executions.first?.id, UUIDText.parseCanonical("0190a5b2-0000-7000-8000-000000000001"))
        XCTAssertEqual(executions.first?.taskNames, ["extract", "load"])
        XCTAssertEqual(executions.first?.status, "running")
        XCTAssertEqual(executions.first?.deleted, false)
        XCTAssertEqual(executions.last?.taskNames, [])
        XCTAssertEqual(executions.last?.deleted, true)
    }

    func testInvalidJSONNamesLineNumber() throws {
        let path = try writeFile(first + "\n" + second + "\n{\"id\": \n")
        XCTAssertThrowsError(try ExecutionFile.load(path: path)) { error in
            XCTAssertTrue("\(error)".contains("\(path):3:"), "\(error)")
        }
    }

    func testInvalidUUIDNamesFieldAndValue() throws {
        let line = first.replacingOccurrences(of: "0190a5b2-0000-7000-8000-0000000000f1", with: "not-a-uuid")
        let path = try writeFile(line)
        XCTAssertThrowsError(try ExecutionFile.load(path: path)) { error in
            XCTAssertTrue("\(error)".contains(":1:"), "\(error)")
            XCTAssertTrue("\(error)".contains("flow_id"), "\(error)")
            XCTAssertTrue("\(error)".contains("not-a-uuid"), "\(error)")
        }
    }

    func testNonStringTaskNameIsRejected() throws {
        let line = first.replacingOccurrences(of: "[\"extract\", \"load\"]", with: "[\"extract\", 7]")
        let path = try writeFile(line)
        XCTAssertThrowsError(try ExecutionFile.load(path: path)) { error in
            XCTAssertTrue("\(error)".contains("task_names"), "\(error)")
        }
    }

    func testMissingFileIsFileError() {
        XCTAssertThrowsError(try ExecutionFile.load(path: "/nonexistent/executions.ndjson")) { error in
            guard let fileError = error as? ExecutionFileError else {
                return XCTFail("expected an execution file error, got \(error)")
            }
            XCTAssertTrue(fileError.description.contains("/nonexistent/executions.ndjson"), fileError.description)
        }
    }

    private func writeFile(_ text: String) throws -> String {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("execution-file-\(UUID())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("executions.ndjson").path
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
        return path
    }
}
