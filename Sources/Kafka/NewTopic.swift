/// A topic for `KafkaAdmin.createTopics` to create.
public struct NewTopic: Sendable, Hashable {
    /// The topic's name.
    public var name: String
    /// The number of partitions, at least 1.
    public var partitions: Int
    /// The number of copies of each partition, at most the number of brokers.
    public var replicationFactor: Int
    /// Topic-level settings such as `cleanup.policy` or `retention.ms`.
    public var configuration: [String: String]

    /// Creates a topic description.
    public init(name: String, partitions: Int, replicationFactor: Int, configuration: [String: String] = [:]) {
        self.name = name
        self.partitions = partitions
        self.replicationFactor = replicationFactor
        self.configuration = configuration
    }
}
