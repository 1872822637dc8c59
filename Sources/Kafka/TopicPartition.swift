/// One partition of one topic: the unit that Kafka orders, assigns and commits.
public struct TopicPartition: Hashable, Sendable, CustomStringConvertible {
    /// The topic's name.
    public var topic: String
    /// The partition's number within the topic, starting at 0.
    public var partition: Int32

    /// Creates a topic partition.
    public init(topic: String, partition: Int32) {
        self.topic = topic
        self.partition = partition
    }

    /// The usual Kafka notation, `topic[partition]`, for logs and error messages.
    public var description: String {
        "\(topic)[\(partition)]"
    }
}
