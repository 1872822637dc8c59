import Foundation
import StatusCore

/// Counts of dead-letter records by error code, by flow execution and by the hour they failed in.
public struct DeadLetterStatistics: Sendable, Equatable {
    public var total = 0
    public var byCode: [String: Int] = [:]
    /// By flow execution id; records with no execution id count under `(none)`.
    public var byExecution: [String: Int] = [:]
    /// By the UTC hour the record failed in, as `2026-12-04T21:00Z`; `(unknown)` when no time is given.
    public var byHour: [String: Int] = [:]

    public init(_ records: [DeadLetterRecord]) {
        for record in records {
            add(record)
        }
    }

    /// Adds one record to the counts.
    public mutating func add(_ record: DeadLetterRecord) {
        total += 1
        byCode[record.code, default: 0] += 1
        byExecution[record.executionID ?? "(none)", default: 0] += 1
        byHour[record.failedAt.map(Self.hour) ?? "(unknown)", default: 0] += 1
    }

    static func hour(_ date: Date) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let parts = calendar.dateComponents([.year, .month, .day, .hour], from: date)
        return String(format: "%04d-%02d-%02dT%02d:00Z", parts.year ?? 0, parts.month ?? 0, parts.day ?? 0, parts.hour ?? 0)
    }

    /// `{"dead_letters": n, "dead_letters_by_code": {…}, "dead_letters_by_execution": {…}, "dead_letters_by_hour": {…}}`,
    /// keys sorted, in the words of a sample's `expected.json`.
    public var json: JSONValue {
        func object(_ counts: [String: Int]) -> JSONValue {
            .object(counts.keys.sorted().map { JSONMember($0, .integer(counts[$0] ?? 0)) })
        }
        return .object([
            JSONMember("dead_letters", .integer(total)),
            JSONMember("dead_letters_by_code", object(byCode)),
            JSONMember("dead_letters_by_execution", object(byExecution)),
            JSONMember("dead_letters_by_hour", object(byHour)),
        ])
    }

    /// Aligned tables for a person; executions are listed most failures first, up to `executions` of them.
    public func text(executions: Int = 20) -> String {
        var sections = ["Dead letters: \(total)"]
        let codes = byCode.keys.sorted().map { [$0, String(byCode[$0] ?? 0)] }
        sections.append(TablePrinter.render(headers: ["CODE", "COUNT"], rows: codes))
        let topExecutions = byExecution.sorted { ($0.value, $1.key) > ($1.value, $0.key) }.prefix(executions)
        var executionTable = TablePrinter.render(headers: ["EXECUTION", "COUNT"], rows: topExecutions.map { [$0.key, String($0.value)] })
        if byExecution.count > executions {
            executionTable += "\n… and \(byExecution.count - executions) more executions (--json lists all)"
        }
        sections.append(executionTable)
        let hours = byHour.keys.sorted().map { [$0, String(byHour[$0] ?? 0)] }
        sections.append(TablePrinter.render(headers: ["HOUR (UTC)", "COUNT"], rows: hours))
        return sections.joined(separator: "\n\n")
    }
}
