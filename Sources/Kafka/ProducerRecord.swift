/// A record to send to a topic.
public struct ProducerRecord: Sendable {
    /// The topic to send the record to.
    public var topic: String
    /// The partition to send the record to, or `nil` to let the configured partitioner choose
    /// from the key (records with the same key land in the same partition).
    public var partition: Int32?
    /// The record's key; `nil` sends no key.
    public var key: [UInt8]?
    /// The record's value; `nil` sends a tombstone, `[]` an empty value.
    public var value: [UInt8]?
    /// The record's headers, sent in this order.
    public var headers: [KafkaHeader]

    /// Creates a record.
    public init(
        topic: String,
        partition: Int32? = nil,
        key: [UInt8]? = nil,
        value: [UInt8]?,
        headers: [KafkaHeader] = []
    ) {
        self.topic = topic
        self.partition = partition
        self.key = key
        self.value = value
        self.headers = headers
    }
}
