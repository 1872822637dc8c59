/// Creates topics and reads cluster metadata.
///
/// It runs on its own producer handle, which sends no records, and is `Sendable` because
/// librdkafka's admin and metadata calls are thread-safe.
public final class KafkaAdmin: @unchecked Sendable {
    private let client: RDKafkaClient

    /// Creates an admin client.
    /// - Parameter configuration: librdkafka properties, passed as they are (`bootstrap.servers`, security settings, …).
    /// - Throws: `KafkaError` naming the invalid property.
    public init(configuration: [String: String]) throws {
        client = try RDKafkaClient(kind: .producer, properties: configuration)
    }

    /// Creates topics; a topic that already exists is not an error, even when its partition
    /// count or settings differ from the request.
    /// - Throws: `KafkaError` naming the first topic the broker refused to create, or
    ///   `KafkaErrorCode.timedOut` when the brokers did not respond within the timeout.
    public func createTopics(_ topics: [NewTopic], timeoutMilliseconds: Int) throws {
        guard !topics.isEmpty else {
            return
        }
        try client.createTopics(topics, timeoutMilliseconds: timeoutMilliseconds)
    }

    /// Returns the topic's partition count from the cluster's metadata, or `nil` when the topic does not exist.
    ///
    /// It requests the metadata of all topics, so the request never creates the topic on brokers
    /// that have `auto.create.topics.enable` set.
    /// - Throws: `KafkaError` when the brokers did not respond within the timeout, or report
    ///   another error for the topic (such as `TOPIC_AUTHORIZATION_FAILED`).
    public func partitionCount(topic: String, timeoutMilliseconds: Int) throws -> Int? {
        try client.partitionCount(topic: topic, timeoutMilliseconds: timeoutMilliseconds)
    }
}
