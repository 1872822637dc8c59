import Foundation

/// Decides the liveness and readiness probes from the worker's metrics.
///
/// Liveness (`/healthz`) tells whether restarting the process could help: it fails only when the worker
/// has not polled Kafka for `stuckAfter`. Readiness (`/readyz`) tells whether the worker is doing its
/// job now: it owns input partitions and its last store call succeeded. A store outage makes the
/// worker unready but keeps it alive, because a restart cannot bring the database back.
public struct HealthCheck: Sendable {
    /// A probe's result, with the reason an operator reads in the response body.
    public enum Verdict: Sendable, Equatable {
        case passing(String)
        case failing(String)

        public var isPassing: Bool {
            if case .passing = self { return true }
            return false
        }

        /// The reason for the result, one line.
        public var reason: String {
            switch self {
            case .passing(let reason), .failing(let reason): return reason
            }
        }
    }

    /// How long the worker may go without polling Kafka before liveness fails.
    public let stuckAfter: Duration
    /// The time the process started. A worker that has not polled yet (opening the store, migrating
    /// it, joining the group) counts as alive until `stuckAfter` has passed since then.
    public let startedAt: Date

    public init(stuckAfter: Duration, startedAt: Date = Date()) {
        precondition(stuckAfter > .zero, "stuckAfter must be positive")
        self.stuckAfter = stuckAfter
        self.startedAt = startedAt
    }

    // MARK: - Probes

    /// Passes while the worker polls Kafka at least every `stuckAfter`.
    ///
    /// The worker also polls while it waits out a store or dead-letter retry, so a long database
    /// outage keeps the probe passing; only a worker that stops polling altogether fails it.
    public func liveness(_ snapshot: WorkerMetrics.Snapshot, now: Date = Date()) -> Verdict {
        let limit = Self.seconds(stuckAfter)
        guard let lastPoll = snapshot.lastPollAt else {
            let sinceStart = now.timeIntervalSince(startedAt)
            if sinceStart <= limit {
                return .passing("starting: no poll yet, \(Self.format(sinceStart)) s after start")
            }
            return .failing("stuck: no poll in the \(Self.format(sinceStart)) s since start (limit \(Self.format(limit)) s)")
        }
        let sincePoll = now.timeIntervalSince(lastPoll)
        if sincePoll <= limit {
            return .passing("alive: last poll \(Self.format(max(sincePoll, 0))) s ago")
        }
        return .failing("stuck: last poll \(Self.format(sincePoll)) s ago (limit \(Self.format(limit)) s)")
    }

    /// Passes when the worker owns at least one input partition and its last store call did not fail.
    ///
    /// Before the first store call the store counts as reachable: the worker migrated it at start.
    /// A worker with no partition (more workers than partitions, or between a revocation and the
    /// next assignment) is not ready, because it processes nothing.
    public func readiness(_ snapshot: WorkerMetrics.Snapshot) -> Verdict {
        var problems: [String] = []
        if !snapshot.hasBeenAssigned {
            problems.append("no partitions assigned yet")
        } else if snapshot.assignedPartitions == 0 {
            problems.append("no partitions assigned now")
        }
        if snapshot.storeReachable == false {
            problems.append("the store is unreachable (the last store call failed; retrying)")
        }
        guard problems.isEmpty else {
            return .failing("not ready: " + problems.joined(separator: "; "))
        }
        return .passing("ready: \(snapshot.assignedPartitions) partitions assigned, store reachable")
    }

    // MARK: - Helpers

    static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }

    private static func format(_ seconds: Double) -> String {
        String(format: "%.1f", seconds)
    }
}
