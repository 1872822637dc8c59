/// Latencies in milliseconds with bounded memory: 1 ms buckets up to one second, 10 ms buckets up to
/// a minute, then one bucket for everything longer. Percentiles are exact to the bucket width.
public struct LatencyHistogram: Sendable {
    private static let fineLimit = 1000
    private static let coarseLimit = 60_000
    private static let coarseWidth = 10

    private var counts = [Int](repeating: 0, count: fineLimit + (coarseLimit - fineLimit) / coarseWidth + 1)
    public private(set) var count = 0
    public private(set) var maximum = 0.0

    public init() {}

    public mutating func record(milliseconds: Double) {
        let value = max(0, milliseconds)
        counts[Self.bucket(for: value)] += 1
        count += 1
        maximum = max(maximum, value)
    }

    /// The latency at or below which `fraction` (0...1) of the observations fall: the upper edge of
    /// that bucket, or the exact maximum for the last one. Nil before any observation.
    public func percentile(_ fraction: Double) -> Double? {
        guard count > 0 else { return nil }
        let rank = max(1, Int((fraction * Double(count)).rounded(.up)))
        var seen = 0
        for (index, bucketCount) in counts.enumerated() {
            seen += bucketCount
            if seen >= rank {
                return min(Self.upperEdge(of: index), maximum)
            }
        }
        return maximum
    }

    private static func bucket(for milliseconds: Double) -> Int {
        if milliseconds < Double(fineLimit) { return Int(milliseconds) }
        if milliseconds < Double(coarseLimit) { return fineLimit + (Int(milliseconds) - fineLimit) / coarseWidth }
        return fineLimit + (coarseLimit - fineLimit) / coarseWidth
    }

    private static func upperEdge(of index: Int) -> Double {
        if index < fineLimit { return Double(index + 1) }
        let coarseIndex = index - fineLimit
        if coarseIndex < (coarseLimit - fineLimit) / coarseWidth { return Double(fineLimit + (coarseIndex + 1) * coarseWidth) }
        return .infinity
    }
}
