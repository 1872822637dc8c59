import Foundation

/// One record read from a topic partition.
public struct KafkaMessage: Sendable {
    /// The topic the record was read from.
    public var topic: String
    /// The partition the record was read from.
    public var partition: Int32
    /// The record's offset within its partition.
    public var offset: Int64
    /// The record's key; `nil` when the producer sent none, `[]` when it sent an empty one.
    public var key: [UInt8]?
    /// The record's value; `nil` for a tombstone, `[]` for an empty value.
    public var value: [UInt8]?
    /// The record's headers, in the order the producer added them.
    public var headers: [KafkaHeader]
    /// The record's create or log-append time, or `nil` when the broker gave none.
    public var timestamp: Date?

    /// Creates a message, for tests and for code that builds records by hand.
    public init(
        topic: String,
        partition: Int32,
        offset: Int64,
        key: [UInt8]? = nil,
        value: [UInt8]? = nil,
        headers: [KafkaHeader] = [],
        timestamp: Date? = nil
    ) {
        self.topic = topic
        self.partition = partition
        self.offset = offset
        self.key = key
        self.value = value
        self.headers = headers
        self.timestamp = timestamp
    }

    /// The topic partition the record was read from.
    public var topicPartition: TopicPartition {
        TopicPartition(topic: topic, partition: partition)
    }
}
