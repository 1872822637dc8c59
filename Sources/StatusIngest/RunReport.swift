import Foundation

/// What a run of the worker did, for its closing log line and the quick start's summary.
public struct RunReport: Sendable {
    public var recordsRead = 0
    public var recordsApplied = 0
    public var duplicates = 0
    /// Records skipped because a previous owner had already dead-lettered them before it stopped.
    public var alreadyDeadLettered = 0
    public var historyRows = 0
    public var deadLettersByCode: [String: Int] = [:]
    public var storeRetries = 0
    public var deadLetterRetries = 0
    public var commitFailures = 0
    /// From each record's Kafka timestamp (its producer's send time, with the default CreateTime) to
    /// the commit of its offset.
    public var produceToCommit = LatencyHistogram()
    /// The process's peak resident memory (VmHWM on Linux) when the run stopped, in bytes.
    public var peakResidentBytes: Int?
    /// From the first record consumed to the last offset stored.
    public private(set) var firstRecordAt: ContinuousClock.Instant?
    public private(set) var lastCommitAt: ContinuousClock.Instant?
    public private(set) var stoppedAt: ContinuousClock.Instant?

    public init() {}

    public var deadLetters: Int { deadLettersByCode.values.reduce(0, +) }

    /// Seconds from the first record consumed to the last chunk done, or nil before any record.
    public var activeSeconds: Double? {
        guard let firstRecordAt, let lastCommitAt else { return nil }
        let elapsed = lastCommitAt - firstRecordAt
        return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    }

    mutating func noteFirstRecord() {
        if firstRecordAt == nil { firstRecordAt = .now }
    }

    mutating func noteLastCommit() { lastCommitAt = .now }

    mutating func noteStop() {
        stoppedAt = .now
        peakResidentBytes = ProcessMemory.peakResidentBytes()
    }
}

/// Offsets `start` (inclusive) to `end` (exclusive) of one partition.
public struct OffsetRange: Sendable, Hashable {
    public var start: Int64
    public var end: Int64

    public init(start: Int64, end: Int64) {
        self.start = start
        self.end = end
    }
}

/// The process's memory as Linux reports it in `/proc/self/status`.
enum ProcessMemory {
    /// VmHWM, the peak resident set size, in bytes; nil where `/proc` does not report it.
    static func peakResidentBytes() -> Int? {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return nil }
        for line in status.split(separator: "\n") where line.hasPrefix("VmHWM:") {
            let digits = line.split(separator: " ").dropFirst().first.flatMap { Int($0) }
            return digits.map { $0 * 1024 }
        }
        return nil
    }
}
