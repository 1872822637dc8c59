/// Sends records to Kafka and reports each one's delivery through a callback.
///
/// `send` enqueues; librdkafka batches and sends in the background, and the delivery callbacks
/// run on the thread that calls `poll` or `flush`. librdkafka's producer is thread-safe, so the
/// type is `Sendable`, but each callback runs on whichever thread polls.
public final class KafkaProducer: @unchecked Sendable {
    /// The producer's lifecycle; a closed producer has released its handle.
    private enum State {
        case open(RDKafkaClient)
        case closed
    }

    private let state: LockedValue<State>

    /// The largest record this producer accepts, in bytes, from the configuration's
    /// `message.max.bytes` (librdkafka's default is 1,000,000).
    ///
    /// librdkafka compares it with the record's size on the wire: key, value, headers and about
    /// 40 bytes of framing. The broker's own limit may be lower.
    public let maximumMessageBytes: Int

    /// Creates a producer.
    ///
    /// - Parameter configuration: librdkafka properties, passed as they are (`bootstrap.servers`,
    ///   `enable.idempotence`, `message.max.bytes`, …).
    /// - Throws: `KafkaError` naming the invalid property, or librdkafka's reason when the
    ///   properties do not fit together.
    public init(configuration: [String: String]) throws {
        let client = try RDKafkaClient(kind: .producer, properties: configuration)
        maximumMessageBytes = client.maximumMessageBytes
        state = LockedValue(.open(client))
    }

    deinit {
        close()
    }

    // MARK: - Sending

    /// Enqueues a record; `onDelivery` runs once, on the thread that calls `poll` or `flush`,
    /// when the broker acknowledged the record or it failed for good.
    ///
    /// - Throws: `KafkaError` at once when the record cannot be enqueued, and then `onDelivery`
    ///   never runs: `KafkaErrorCode.messageSizeTooLarge` when it exceeds `maximumMessageBytes`,
    ///   `KafkaErrorCode.queueFull` when the queue is full (poll, then send again), or a fatal error.
    public func send(_ record: ProducerRecord, onDelivery: @escaping (Result<DeliveryReport, KafkaError>) -> Void) throws {
        let client = try openClient()
        try client.throwFatalError()
        try client.produce(record, context: RDKafkaDeliveryContext(onDelivery: onDelivery))
    }

    /// Serves delivery callbacks and librdkafka's events for up to `timeoutMilliseconds`.
    ///
    /// Call it regularly: delivery callbacks run only here and in `flush`.
    public func poll(timeoutMilliseconds: Int) {
        guard case .open(let client) = state.withLock({ $0 }) else {
            return
        }
        client.poll(timeoutMilliseconds: timeoutMilliseconds)
    }

    /// Returns the partition count of `topic` from the cluster's metadata, or nil when the topic does not exist.
    ///
    /// Asking through the producer also connects it and fills its metadata cache, so the first send
    /// does not wait for either.
    /// - Throws: `KafkaError` when the metadata request fails or times out.
    public func partitionCount(topic: String, timeoutMilliseconds: Int) throws -> Int? {
        try openClient().partitionCount(topic: topic, timeoutMilliseconds: timeoutMilliseconds)
    }

    /// Waits until every record sent so far was delivered or failed, running their callbacks.
    /// - Throws: `KafkaError` with `KafkaErrorCode.timedOut` when records remain after the timeout.
    public func flush(timeoutMilliseconds: Int) throws {
        try openClient().flush(timeoutMilliseconds: timeoutMilliseconds)
    }

    // MARK: - Lifecycle

    /// Fails the records that are still waiting and releases the producer. Closing twice does nothing.
    ///
    /// Their callbacks run here with `KafkaErrorCode.purgeQueue` or `purgeInflight`. Call
    /// `flush` first to wait for delivery instead.
    public func close() {
        let client: RDKafkaClient? = state.withLock { state in
            defer { state = .closed }
            if case .open(let client) = state {
                return client
            }
            return nil
        }
        client?.purgeAndServe(timeoutMilliseconds: 5_000)
    }

    private func openClient() throws -> RDKafkaClient {
        try state.withLock { state in
            guard case .open(let client) = state else {
                throw KafkaError.closed("producer")
            }
            return client
        }
    }
}
