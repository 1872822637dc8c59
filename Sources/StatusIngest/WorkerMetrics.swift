import Foundation
import Kafka

/// The worker's counters and gauges, updated as it works and read by the metrics and health endpoints.
///
/// Thread-safe: the worker writes from its polling thread, the HTTP server reads from its own.
public final class WorkerMetrics: @unchecked Sendable {
    /// Cumulative counts of observations at or below each bound, Prometheus style.
    public struct Histogram: Sendable {
        public let bounds: [Double]
        public private(set) var counts: [Int]
        public private(set) var sum: Double = 0
        public private(set) var count = 0

        public init(bounds: [Double]) {
            self.bounds = bounds
            self.counts = Array(repeating: 0, count: bounds.count)
        }

        public mutating func observe(_ value: Double) {
            for (index, bound) in bounds.enumerated() where value <= bound {
                counts[index] += 1
            }
            sum += value
            count += 1
        }
    }

    /// A consistent copy of every value at one moment.
    public struct Snapshot: Sendable {
        public var recordsConsumed = 0
        public var recordsApplied = 0
        public var historyRows = 0
        public var duplicates = 0
        public var alreadyDeadLettered = 0
        public var deadLettersByCode: [String: Int] = [:]
        /// Retries by what was retried: `store`, `dead_letter_publish`, `dead_letter_scan`.
        public var retriesByKind: [String: Int] = [:]
        public var storeErrors = 0
        public var commitFailures = 0
        public var batches = 0
        /// Updates per execution batch.
        public var batchSizes = Histogram(bounds: [1, 2, 5, 10, 20, 50, 100])
        /// Seconds one store call took (all the batches of a chunk in one transaction).
        public var applySeconds = Histogram(bounds: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10])
        public var inFlightRecords = 0
        /// High watermark minus the next offset to process, per owned partition.
        public var lagByPartition: [TopicPartition: Int64] = [:]
        public var assignedPartitions = 0
        /// When the worker last returned from polling Kafka: a stuck worker stops updating it.
        public var lastPollAt: Date?
        /// Whether the last store call succeeded; nil before the first one.
        public var storeReachable: Bool?
        public var hasBeenAssigned = false

        public init() {}
    }

    private let lock = NSLock()
    private var current = Snapshot()

    public init() {}

    public func snapshot() -> Snapshot {
        lock.withLock { current }
    }

    func update(_ change: (inout Snapshot) -> Void) {
        lock.withLock { change(&current) }
    }
}
