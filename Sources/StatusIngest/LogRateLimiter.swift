import Foundation

/// Lets at most `linesPerSecond` lines of one kind through and counts the rest, so a flood of bad
/// records cannot drown the log.
struct LogRateLimiter {
    let linesPerSecond: Int
    private var windowStart = ContinuousClock.now
    private var admitted = 0
    private var suppressed = 0

    init(linesPerSecond: Int) {
        self.linesPerSecond = linesPerSecond
    }

    /// Returns how many lines were suppressed since the last admitted one, or nil to suppress this one.
    mutating func admit(now: ContinuousClock.Instant = .now) -> Int? {
        if now - windowStart >= .seconds(1) {
            windowStart = now
            admitted = 0
        }
        guard admitted < linesPerSecond else {
            suppressed += 1
            return nil
        }
        admitted += 1
        defer { suppressed = 0 }
        return suppressed
    }

    /// Returns how many lines were suppressed since the last admitted one and starts counting again,
    /// so a summary line can report them.
    mutating func takeSuppressed() -> Int {
        defer { suppressed = 0 }
        return suppressed
    }
}
