import Foundation

/// The destinations of an operator command: results to standard output and progress to standard
/// error, so that `--json` output stays clean for scripts.
public struct CommandOutput: Sendable {
    /// Writes result text; the command adds the newlines.
    public var write: @Sendable (String) -> Void
    /// Writes progress text (a bar redrawn with carriage returns, or whole lines).
    public var progress: @Sendable (String) -> Void
    /// Whether `progress` reaches a terminal, which gets a bar instead of periodic lines.
    public var progressIsTerminal: Bool

    public init(write: @escaping @Sendable (String) -> Void, progress: @escaping @Sendable (String) -> Void, progressIsTerminal: Bool) {
        self.write = write
        self.progress = progress
        self.progressIsTerminal = progressIsTerminal
    }

    /// Standard output for results, standard error for progress.
    public static var standard: CommandOutput {
        CommandOutput(
            write: { FileHandle.standardOutput.write(Data($0.utf8)) },
            progress: { FileHandle.standardError.write(Data($0.utf8)) },
            progressIsTerminal: ProgressReporter.standardErrorIsTerminal)
    }

    /// Writes `text` and a newline.
    public func line(_ text: String) {
        write(text + "\n")
    }
}
