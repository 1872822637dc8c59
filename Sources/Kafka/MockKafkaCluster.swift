/// librdkafka's in-process mock Kafka cluster (rdkafka_mock.h): brokers that listen on
/// loopback ports, for tests and local runs without a real cluster.
///
/// The mock serves produce, fetch, metadata, consumer groups, offset commits and idempotent
/// producers, and lets a test inject errors and take brokers down. It is not a real broker:
/// - It keeps at most 5 MiB or 100,000 record batches per partition and silently drops the
///   oldest batches beyond that (librdkafka 2.x, rdkafka_mock.c), so long runs lose early records.
/// - It has no CreateTopics handler, so `KafkaAdmin.createTopics` times out for a topic that
///   does not exist yet. Create topics with `createTopic(_:partitions:replicationFactor:)`;
///   a topic that a producer names is also created on the fly, with default settings.
public final class MockKafkaCluster: @unchecked Sendable {
    private let cluster: RDKafkaMockCluster

    /// Starts a cluster of `brokerCount` brokers, numbered from 1, on free loopback ports.
    /// - Throws: `KafkaError` when librdkafka cannot start the brokers.
    public init(brokerCount: Int = 1) throws {
        cluster = try RDKafkaMockCluster(brokerCount: brokerCount)
    }

    /// The brokers' addresses for `bootstrap.servers`, such as `127.0.0.1:40231,127.0.0.1:40233`.
    public var bootstrapServers: String {
        cluster.bootstrapServers
    }

    /// Creates a topic.
    /// - Throws: `KafkaError` when the mock rejects it, for example a replication factor above the broker count.
    public func createTopic(_ name: String, partitions: Int, replicationFactor: Int = 1) throws {
        try cluster.createTopic(name, partitions: partitions, replicationFactor: replicationFactor)
    }

    /// Makes the next requests of one type fail, one error code per request, in order.
    ///
    /// `errors` are `rd_kafka_resp_err_t` codes (see `KafkaErrorCode`); `_TRANSPORT` (-195)
    /// makes the broker drop the connection instead of sending a response.
    public func pushRequestErrors(apiKey: Int16, errors: [Int32]) {
        cluster.pushRequestErrors(apiKey: apiKey, errors: errors)
    }

    /// Makes the next requests of one type fail, one error code per request, in order.
    public func pushRequestErrors(_ apiKey: KafkaAPIKey, errors: [Int32]) {
        cluster.pushRequestErrors(apiKey: apiKey.rawValue, errors: errors)
    }

    /// Takes a broker down: it closes its connections and refuses new ones until `setBrokerUp`.
    public func setBrokerDown(_ brokerID: Int32) {
        cluster.setBroker(brokerID, up: false)
    }

    /// Brings a broker taken down with `setBrokerDown` back.
    public func setBrokerUp(_ brokerID: Int32) {
        cluster.setBroker(brokerID, up: true)
    }

    /// Stops the brokers; closing twice does nothing. Close the clients that use the cluster first,
    /// or they will log connection failures until they are closed.
    public func close() {
        cluster.close()
    }
}
