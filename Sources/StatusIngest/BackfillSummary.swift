import Foundation

/// The closing summary of a backfill, printed when it ends for the operator to check.
public struct BackfillSummary: Sendable {
    /// The source read: `task-status-updates`, or `file:/path/events.ndjson`.
    public var source: String
    /// Records the backfill set out to process: offsets in the ranges, or records in the file.
    public var total = 0
    /// Records read and handed to the core.
    public var records = 0
    public var applied = 0
    /// Records the store already had (an earlier run or the live worker applied them).
    public var duplicates = 0
    public var historyRows = 0
    /// Records dead-lettered by this run, by error code.
    public var deadLettersByCode: [String: Int] = [:]
    /// Records skipped because they were already on the dead-letter topic.
    public var alreadyDeadLettered = 0
    /// Records that reached no place: the run was stopped first, or (from a file without a broker)
    /// they were rejected and there was no dead-letter topic to put them on.
    public var unprocessed = 0
    public var seconds: Double = 0
    /// Records rejected by the core or the store that could not be dead-lettered because no
    /// dead-letter topic was available, by error code. They count as unprocessed too.
    public var notDeadLetteredByCode: [String: Int] = [:]
    /// One line per record left unprocessed for a reason worth naming, printed after the figures.
    public var problems: [String] = []
    /// Records that `problems` left out to keep the summary short.
    public var problemsOmitted = 0

    public init(source: String) {
        self.source = source
    }

    public var deadLetters: Int { deadLettersByCode.values.reduce(0, +) }

    /// 0 when every record reached a place (applied, already there, or dead-lettered), else 1.
    public var exitStatus: Int32 { unprocessed > 0 ? 1 : 0 }

    /// The summary as aligned lines for a person.
    public var text: String {
        func row(_ label: String, _ value: String) -> String {
            "  " + (label + ":").padding(toLength: 26, withPad: " ", startingAt: 0) + value
        }
        let rate = seconds > 0 ? Int((Double(records) / seconds).rounded()) : 0
        var lines = [
            "Backfill of \(source)",
            row("records", "\(records) of \(total)"),
            row("applied", "\(applied) (\(historyRows) history rows)"),
            row("duplicates skipped", "\(duplicates)"),
            row("dead-lettered", "\(deadLetters)"),
        ]
        for code in deadLettersByCode.keys.sorted() {
            lines.append(row("  " + code, "\(deadLettersByCode[code] ?? 0)"))
        }
        lines.append(row("already dead-lettered", "\(alreadyDeadLettered)"))
        lines.append(row("left unprocessed", "\(unprocessed)"))
        if !notDeadLetteredByCode.isEmpty {
            lines.append(row("  rejected, no DLQ topic", "\(notDeadLetteredByCode.values.reduce(0, +))"))
            for code in notDeadLetteredByCode.keys.sorted() {
                lines.append(row("    " + code, "\(notDeadLetteredByCode[code] ?? 0)"))
            }
        }
        lines.append(row("time", String(format: "%.2f s", seconds)))
        lines.append(row("rate", "\(rate) records/s"))
        lines.append(contentsOf: problems.map { "  " + $0 })
        if problemsOmitted > 0 {
            lines.append("  … and \(problemsOmitted) more")
        }
        return lines.joined(separator: "\n")
    }
}
