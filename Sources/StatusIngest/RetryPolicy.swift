import Foundation

/// The retry policy for transient failures: exponential backoff with jitter, and an optional budget
/// after which the failing records are dead-lettered with `repository_error`.
public struct RetryPolicy: Sendable {
    public var initialBackoff: Duration
    public var maximumBackoff: Duration
    /// Zero means no budget: retry until it works, never skip a record.
    public var budget: Duration

    public init(initialBackoff: Duration, maximumBackoff: Duration, budget: Duration) {
        self.initialBackoff = initialBackoff
        self.maximumBackoff = maximumBackoff
        self.budget = budget
    }

    /// Returns the wait before retry number `attempt` (1 for the first retry): a random time between half and
    /// all of `initialBackoff × 2^(attempt-1)`, capped at `maximumBackoff`.
    public func backoff(attempt: Int) -> Duration {
        let exponent = min(max(attempt - 1, 0), 30)
        let ceiling = min(initialBackoff * (1 << exponent), maximumBackoff)
        let milliseconds = Double(ceiling.components.seconds) * 1000 + Double(ceiling.components.attoseconds) / 1e15
        return .milliseconds(Int64(milliseconds * Double.random(in: 0.5...1.0)))
    }

    /// Returns whether failures that began at `firstFailure` have used up the budget by `now`.
    public func isExhausted(since firstFailure: ContinuousClock.Instant, now: ContinuousClock.Instant = .now) -> Bool {
        budget > .zero && now - firstFailure >= budget
    }
}
