import Foundation
import StatusCore
import XCTest

/// Sample ids and helpers shared by the core's tests.
enum Fixture {
    static let executionID = UUIDText.parseCanonical("e388b05e-b879-5fb8-90b9-87f977071375")!
    static let executionText = "e388b05e-b879-5fb8-90b9-87f977071375"
    static let organizationID = UUIDText.parseCanonical("0d9d249e-6dd0-57f3-af61-fc81309be3d4")!
    static let otherOrganizationID = UUIDText.parseCanonical("6147e0d7-7826-5487-82fd-264db7b6a23c")!
    static let flowID = UUIDText.parseCanonical("abf4fdb9-388d-538e-bdf1-1d71a4092bc3")!

    static func execution(
        taskNames: [String] = ["extract", "transform", "load"],
        status: String = "running",
        deleted: Bool = false
    ) -> FlowExecution {
        FlowExecution(
            id: executionID,
            organizationID: organizationID,
            flowID: flowID,
            taskNames: taskNames,
            status: status,
            deleted: deleted
        )
    }

    /// Makes a single-form record value for the sample execution.
    static func singleValue(taskName: String = "extract", status: String = "running") -> String {
        #"{"flow_execution_id":"\#(executionText)","task_name":"\#(taskName)","status":"\#(status)"}"#
    }

    static func record(_ updates: [TaskStatusUpdate], executionID: UUID = executionID, organizationID: UUID? = nil) -> StatusUpdateRecord {
        StatusUpdateRecord(
            flowExecutionID: executionID,
            organizationID: organizationID,
            form: updates.count == 1 ? .single : .batch,
            updates: updates
        )
    }
}

/// Decodes a record whose value is the UTF-8 of `value`.
func decode(_ value: String, key: String? = nil) -> Result<StatusUpdateRecord, ContractError> {
    RecordDecoder.decode(key: key.map { Array($0.utf8) }, value: Array(value.utf8))
}

/// Decodes a valid record, or records a test failure naming the error.
func decodedRecord(
    _ value: String,
    key: String? = nil,
    file: StaticString = #filePath,
    line: UInt = #line
) -> StatusUpdateRecord? {
    switch decode(value, key: key) {
    case .success(let record):
        return record
    case .failure(let error):
        XCTFail("expected a valid record, got \(error.code.rawValue): \(error.message)", file: file, line: line)
        return nil
    }
}

/// Decodes an invalid record and returns its error, or records a test failure when it was valid.
func decodingError(
    _ value: String,
    key: String? = nil,
    file: StaticString = #filePath,
    line: UInt = #line
) -> ContractError? {
    decodingError(key: key.map { Array($0.utf8) }, value: Array(value.utf8), file: file, line: line)
}

func decodingError(
    key: [UInt8]?,
    value: [UInt8]?,
    file: StaticString = #filePath,
    line: UInt = #line
) -> ContractError? {
    switch RecordDecoder.decode(key: key, value: value) {
    case .success(let record):
        XCTFail("expected an error, got a valid record with \(record.updates.count) updates", file: file, line: line)
        return nil
    case .failure(let error):
        return error
    }
}

/// Summarizes a validation error's details as "dotted.location type" lines, for compact assertions.
func issueSummary(_ error: ContractError?) -> [String] {
    guard let issues = error?.details.arrayValue else { return [] }
    return issues.map { issue in
        let location = (issue["loc"]?.arrayValue ?? []).map { $0.stringValue ?? $0.numberText ?? "?" }
        return location.joined(separator: ".") + " " + (issue["type"]?.stringValue ?? "?")
    }
}

/// Makes the text of `count` batch items, each a valid update of task `extract`.
func batchItems(_ count: Int) -> String {
    Array(repeating: #"{"task_name":"extract","status":"running"}"#, count: count).joined(separator: ",")
}
