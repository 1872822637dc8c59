import Foundation
import Synchronization

/// Shows how far a long run has come: a bar redrawn in place when the output is a terminal, plain
/// lines at most once per interval otherwise (for logs and CI).
///
/// Both forms give records done and total, the rate so far and an estimate of the time left. The
/// reporter is called from the worker's thread and writes nothing else, so it owns one output line.
public final class ProgressReporter: Sendable {
    /// Characters of the bar between its brackets.
    static let barWidth = 30

    private struct State {
        var lastWritten: ContinuousClock.Instant?
        var lastDone = -1
        var lineIsOpen = false
    }

    private let total: Int
    private let isTerminal: Bool
    private let interval: Duration
    private let output: @Sendable (String) -> Void
    private let started: ContinuousClock.Instant
    private let state = Mutex(State())

    /// Creates a reporter for `total` records.
    ///
    /// - Parameters:
    ///   - isTerminal: whether `output` reaches a terminal, which gets a bar redrawn with a carriage
    ///     return; otherwise each report is one line ending in a newline.
    ///   - interval: the least time between two reports; `.zero` writes every update.
    ///   - output: where the text goes, usually standard error.
    ///   - startedAt: when the work began, for the rate and the estimate.
    public init(
        total: Int,
        isTerminal: Bool,
        interval: Duration = .seconds(1),
        startedAt: ContinuousClock.Instant = .now,
        output: @escaping @Sendable (String) -> Void
    ) {
        self.total = max(total, 0)
        self.isTerminal = isTerminal
        self.interval = interval
        self.output = output
        self.started = startedAt
    }

    /// Whether standard error is a terminal, to choose the bar or plain lines.
    public static var standardErrorIsTerminal: Bool { isatty(STDERR_FILENO) != 0 }

    /// Reports `done` records, unless the last report was less than the interval ago.
    public func update(done: Int) {
        let now = ContinuousClock.now
        let text: String? = state.withLock { state in
            if let last = state.lastWritten, now - last < interval { return nil }
            if done == state.lastDone { return nil }
            state.lastWritten = now
            state.lastDone = done
            state.lineIsOpen = isTerminal
            return render(done: done, now: now)
        }
        if let text { output(text) }
    }

    /// Writes the last report for `done` records and ends the bar's line. In plain lines, a report of
    /// the same count already written is not repeated.
    public func finish(done: Int) {
        let now = ContinuousClock.now
        let text: String? = state.withLock { state in
            if !isTerminal, state.lastDone == done { return nil }
            state.lastWritten = now
            state.lastDone = done
            state.lineIsOpen = false
            return isTerminal ? render(done: done, now: now) + "\n" : render(done: done, now: now)
        }
        if let text { output(text) }
    }

    // MARK: - Rendering

    private func render(done: Int, now: ContinuousClock.Instant) -> String {
        let seconds = IngestWorker.seconds(now - started)
        let rate = seconds > 0 ? Double(done) / seconds : 0
        let fraction = total > 0 ? min(Double(done) / Double(total), 1) : 1
        let percent = String(format: "%5.1f%%", fraction * 100)
        let remaining = max(total - done, 0)
        let estimate = rate > 0 ? Self.clock(Double(remaining) / rate) : "--:--"
        let counts = "\(done)/\(total) records"
        let rateText = "\(Int(rate.rounded())) records/s"

        guard isTerminal else {
            return "progress: \(counts) (\(percent.trimmingCharacters(in: .whitespaces))), \(rateText), ETA \(estimate)\n"
        }
        let filled = Int((fraction * Double(Self.barWidth)).rounded(.down))
        let bar = String(repeating: "#", count: filled) + String(repeating: "-", count: Self.barWidth - filled)
        // A carriage return redraws the line; the trailing spaces wipe a longer previous line.
        return "\r[\(bar)] \(percent) \(counts)  \(rateText)  ETA \(estimate)   "
    }

    /// Formats seconds as `m:ss`, or `h:mm:ss` from one hour up.
    static func clock(_ seconds: Double) -> String {
        let whole = Int(seconds.rounded(.up))
        let hours = whole / 3600
        let minutes = (whole % 3600) / 60
        let rest = whole % 60
        if hours > 0 {
            return String(format: "%d:%02d:%02d", hours, minutes, rest)
        }
        return String(format: "%d:%02d", minutes, rest)
    }
}
