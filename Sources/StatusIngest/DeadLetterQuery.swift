import Foundation
import Kafka

/// A selection of dead-letter records: the filters `dlq list`, `dlq stats` and `dlq replay` share.
///
/// Every filter given must match; within one filter, any of its values may. Records come in the order
/// they failed (then by dead-letter partition and offset), and `limit` keeps the first ones.
public struct DeadLetterQuery: Sendable {
    /// Error codes (`not_found`, `validation_error`, …).
    public var codes: Set<String> = []
    /// Flow execution ids, compared without regard to case.
    public var executionIDs: Set<String> = []
    /// Organization ids as the producer gave them in `organization_id`, compared without regard to case.
    public var organizationIDs: Set<String> = []
    /// Records that failed at or after this time.
    public var since: Date?
    /// Records that failed before this time.
    public var until: Date?
    /// Dead-letter coordinates (`partition:offset`); empty for any.
    public var coordinates: Set<String> = []
    public var limit: Int?

    public init() {}

    /// Whether no filter is set, so the query selects the whole topic.
    public var selectsEverything: Bool {
        codes.isEmpty && executionIDs.isEmpty && organizationIDs.isEmpty && since == nil && until == nil && coordinates.isEmpty
    }

    public func matches(_ record: DeadLetterRecord) -> Bool {
        if !codes.isEmpty, !codes.contains(record.code) { return false }
        if !executionIDs.isEmpty, !executionIDs.contains(record.executionID?.lowercased() ?? "") { return false }
        if !organizationIDs.isEmpty, !organizationIDs.contains(record.organizationID?.lowercased() ?? "") { return false }
        if !coordinates.isEmpty, !coordinates.contains(record.coordinates) { return false }
        if since != nil || until != nil {
            guard let failedAt = record.failedAt else { return false }
            if let since, failedAt < since { return false }
            if let until, failedAt >= until { return false }
        }
        return true
    }

    /// Returns the matching records in failure order, at most `limit` of them.
    public func select(_ records: [DeadLetterRecord]) -> [DeadLetterRecord] {
        let sorted = records.filter(matches).sorted(by: Self.failedEarlier)
        guard let limit else { return sorted }
        return Array(sorted.prefix(limit))
    }

    /// Reads the dead-letter topic by assignment (no group is joined and nothing is committed) and
    /// returns the records `select` would return.
    ///
    /// Only matching records stay in memory while reading, and with a `limit` at most twice that many, so
    /// memory follows the selection, not the size of the topic.
    ///
    /// - Throws: `KafkaError` when the topic cannot be read to its end.
    public func read(topic: String, kafkaProperties: [String: String]) throws -> [DeadLetterRecord] {
        var selected: [DeadLetterRecord] = []
        // Trimming at twice the limit keeps the sorting cost per record constant.
        let trimAt = limit.map { max($0, 1_000).multipliedReportingOverflow(by: 2) }.map { $0.overflow ? Int.max : $0.partialValue }
        try DeadLetterReader.read(topic: topic, kafkaProperties: kafkaProperties) { message in
            let record = DeadLetterRecord(message: message)
            guard matches(record) else { return }
            selected.append(record)
            if let limit, let trimAt, selected.count >= trimAt {
                selected.sort(by: Self.failedEarlier)
                selected.removeLast(selected.count - limit)
            }
        }
        return select(selected)
    }

    /// Reads the dead-letter topic by assignment and counts the matching records, keeping none of them
    /// when there is no `limit`.
    ///
    /// - Throws: `KafkaError` when the topic cannot be read to its end.
    public func statistics(topic: String, kafkaProperties: [String: String]) throws -> DeadLetterStatistics {
        guard limit == nil else {
            return DeadLetterStatistics(try read(topic: topic, kafkaProperties: kafkaProperties))
        }
        var statistics = DeadLetterStatistics([])
        try DeadLetterReader.read(topic: topic, kafkaProperties: kafkaProperties) { message in
            let record = DeadLetterRecord(message: message)
            if matches(record) { statistics.add(record) }
        }
        return statistics
    }

    /// Orders records by the time they failed, then by dead-letter partition and offset.
    static func failedEarlier(_ left: DeadLetterRecord, _ right: DeadLetterRecord) -> Bool {
        let leftTime = left.failedAt ?? .distantPast
        let rightTime = right.failedAt ?? .distantPast
        if leftTime != rightTime { return leftTime < rightTime }
        return (left.partition, left.offset) < (right.partition, right.offset)
    }
}
