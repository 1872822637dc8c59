import Foundation
import StatusCore

/// Loads flow executions from NDJSON, one object a line, for development, tests and benchmarks:
///
///     {"id": "…", "organization_id": "…", "flow_id": "…", "task_names": ["extract", "load"], "status": "running", "deleted": false}
///
/// Blank lines are skipped and `deleted` defaults to false; every other field is required.
public enum ExecutionFile {
    /// Reads and parses the whole file.
    ///
    /// - Throws: `ExecutionFileError` when the file cannot be read, or naming the first invalid line
    ///   as `PATH:LINE: problem`.
    public static func load(path: String) throws -> [FlowExecution] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ExecutionFileError("cannot read the execution file \"\(path)\": it is missing or unreadable")
        }
        return try parse(Array(data), source: path)
    }

    /// Parses NDJSON text already in memory; `source` names it in error messages.
    ///
    /// - Throws: `ExecutionFileError` naming the first invalid line as `SOURCE:LINE: problem`.
    public static func parse(_ bytes: [UInt8], source: String) throws -> [FlowExecution] {
        var executions: [FlowExecution] = []
        var lineNumber = 0
        var lineStart = 0
        while lineStart <= bytes.count {
            lineNumber += 1
            var lineEnd = bytes[lineStart...].firstIndex(of: UInt8(ascii: "\n")) ?? bytes.count
            let next = lineEnd + 1
            if lineEnd > lineStart, bytes[lineEnd - 1] == UInt8(ascii: "\r") {
                lineEnd -= 1
            }

            let line = bytes[lineStart..<lineEnd]
            if line.contains(where: { !isWhitespace($0) }) {
                do {
                    executions.append(try parseLine(line))
                } catch let problem as LineProblem {
                    throw ExecutionFileError("\(source):\(lineNumber): \(problem.message)")
                }
            }
            lineStart = next
        }
        return executions
    }

    // MARK: - One line

    private struct LineProblem: Error {
        let message: String
    }

    private static func parseLine(_ line: ArraySlice<UInt8>) throws -> FlowExecution {
        let value: JSONValue
        do {
            value = try JSONParser.parse(line)
        } catch {
            throw LineProblem(message: "invalid JSON: \(error.message)")
        }
        guard case .object = value else {
            throw LineProblem(message: "expected a JSON object for one flow execution")
        }

        let id = try uuidField("id", in: value)
        let organizationID = try uuidField("organization_id", in: value)
        let flowID = try uuidField("flow_id", in: value)
        let taskNames = try taskNamesField(in: value)
        guard let status = value["status"]?.stringValue else {
            throw LineProblem(message: "\"status\" is missing or not a string")
        }

        var deleted = false
        if let deletedValue = value["deleted"], deletedValue != .null {
            guard let flag = deletedValue.boolValue else {
                throw LineProblem(message: "\"deleted\" must be true or false")
            }
            deleted = flag
        }
        return FlowExecution(
            id: id, organizationID: organizationID, flowID: flowID, taskNames: taskNames, status: status,
            deleted: deleted)
    }

    private static func uuidField(_ key: String, in value: JSONValue) throws -> UUID {
        guard let text = value[key]?.stringValue else {
            throw LineProblem(message: "\"\(key)\" is missing or not a string")
        }
        guard let uuid = UUIDText.parseCanonical(text) else {
            throw LineProblem(message: "\"\(key)\" is not a UUID in 8-4-4-4-12 form: \"\(text)\"")
        }
        return uuid
    }

    private static func taskNamesField(in value: JSONValue) throws -> [String] {
        guard let items = value["task_names"]?.arrayValue else {
            throw LineProblem(message: "\"task_names\" is missing or not an array")
        }
        var names: [String] = []
        names.reserveCapacity(items.count)
        for (index, item) in items.enumerated() {
            guard let name = item.stringValue else {
                throw LineProblem(message: "\"task_names\"[\(index)] is not a string")
            }
            names.append(name)
        }
        return names
    }

    private static func isWhitespace(_ byte: UInt8) -> Bool {
        byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") || byte == UInt8(ascii: "\r")
    }
}

/// An execution file that cannot be read or parsed; the message names the file, and the line when
/// one is at fault.
public struct ExecutionFileError: Error, Sendable, CustomStringConvertible {
    public let description: String

    public init(_ description: String) {
        self.description = description
    }
}
