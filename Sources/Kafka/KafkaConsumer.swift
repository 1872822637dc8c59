import Foundation

/// A member of a Kafka consumer group that reads records one at a time.
///
/// Call it from one thread at a time, the polling thread: the rebalance handler runs on that
/// thread, inside `poll` and `close`. It is `Sendable` so it can be handed to that thread.
/// librdkafka's handle is thread-safe, and the only state this type adds is guarded by a lock.
///
/// Closing leaves the group at once. A consumer released without `close` leaves the group too,
/// but without calling the rebalance handler, so call `close` to commit during the final revocation.
public final class KafkaConsumer: @unchecked Sendable {
    /// The consumer's lifecycle. Calls are valid while it is open or closing, so a rebalance
    /// handler may still commit during the final revocation. A closed consumer has released its handle.
    private enum State {
        case open(RDKafkaClient)
        case closing(RDKafkaClient)
        case closed
    }

    private let state: LockedValue<State>

    /// Creates a consumer.
    ///
    /// - Parameters:
    ///   - configuration: librdkafka properties, passed as they are (`bootstrap.servers`,
    ///     `group.id`, `enable.auto.offset.store`, …). librdkafka's CONFIGURATION.md lists them.
    ///   - rebalanceHandler: Called synchronously from inside `poll` or `close`, on the polling
    ///     thread. It receives `.revoked` and `.lost` before the partitions are taken away, so the caller
    ///     can finish their work and commit, and `.assigned` after they are assigned. Both the eager
    ///     protocols (`range`, `roundrobin`) and `cooperative-sticky` are served. A list may be empty.
    /// - Throws: `KafkaError` naming the invalid property, or librdkafka's reason when the
    ///   properties do not fit together (for example, a missing `group.id`).
    public init(
        configuration: [String: String],
        rebalanceHandler: @escaping (RebalanceEvent) -> Void = { _ in }
    ) throws {
        let client = try RDKafkaClient(kind: .consumer, properties: configuration, rebalanceHandler: rebalanceHandler)
        state = LockedValue(.open(client))
    }

    deinit {
        if case .open(let client) = state.withLock({ $0 }) {
            // The handler often captures its owner without retaining it, and that owner may be
            // what is releasing this consumer, so the final revocation is not reported.
            client.detachRebalanceHandler()
            try? client.closeConsumer()
        }
    }

    // MARK: - Reading

    /// Subscribes to the topics, replacing any earlier subscription; partitions arrive through
    /// the rebalance handler once the group has assigned them.
    /// - Throws: `KafkaError` when librdkafka rejects the subscription or the consumer is closed.
    public func subscribe(topics: [String]) throws {
        try openClient().subscribe(topics: topics)
    }

    /// Reads exactly these partitions, each from its offset, in place of a group subscription
    /// (`rd_kafka_assign`), and replaces any earlier assignment.
    ///
    /// The offset may be exact or `KafkaOffset.beginning` or `KafkaOffset.end`. No rebalance
    /// happens and the handler is not called, so do not combine this with `subscribe`.
    /// librdkafka 2.0.2 still requires a `group.id`, which is used only for commits.
    /// - Throws: `KafkaError` when librdkafka rejects the assignment or the consumer is closed.
    public func assign(_ offsets: [TopicPartition: Int64]) throws {
        try openClient().assign(offsets)
    }

    /// Returns the next record, or `nil` when none arrived within the timeout.
    ///
    /// While it waits, it serves rebalances (calling the handler) and librdkafka's events.
    /// Events that are only informational, such as reaching a partition's end or a broker that is
    /// down for a while, go to `KafkaLog` and end the call with `nil`, because librdkafka recovers
    /// from them by itself. Records come one per call through `rd_kafka_consumer_poll`, because librdkafka
    /// 2.0.2's batch calls can drop or repeat records around pause, resume, seek and rebalance.
    /// - Throws: `KafkaError` with `isFatal` set when the consumer can no longer work and must
    ///   be created again, or when it is closed.
    public func poll(timeoutMilliseconds: Int) throws -> KafkaMessage? {
        return try openClient().consumerPoll(timeoutMilliseconds: timeoutMilliseconds)
    }

    // MARK: - Offsets

    /// Marks offsets as ready for the next commit (`rd_kafka_offsets_store`).
    ///
    /// Each offset is the next one to read, that is the last finished record's offset plus one.
    /// It needs `enable.auto.offset.store=false`, and each partition must be assigned.
    /// - Throws: `KafkaError` naming the partition that could not be stored.
    public func storeOffsets(_ offsets: [TopicPartition: Int64]) throws {
        try openClient().storeOffsets(offsets)
    }

    /// Commits the given offsets, or with `nil` the stored ones, and waits for the broker's response.
    ///
    /// With `nil` and nothing stored since the last commit, it returns without contacting the broker.
    /// - Throws: `KafkaError` when the broker rejects the commit, for example because the
    ///   partitions were reassigned (`ILLEGAL_GENERATION`, `UNKNOWN_MEMBER_ID`).
    public func commit(_ offsets: [TopicPartition: Int64]? = nil) throws {
        try openClient().commit(offsets)
    }

    /// Commits offsets with a metadata string each, and waits for the broker's response.
    ///
    /// The metadata travels with the offset and comes back from `committedWithMetadata`, so the next
    /// owner of a partition can learn what the last one recorded beside its position.
    /// - Throws: `KafkaError` when the commit fails as a whole or for one partition.
    public func commit(withMetadata offsets: [TopicPartition: CommittedOffset]) throws {
        try openClient().commit(withMetadata: offsets)
    }

    /// Returns the group's committed offsets of `partitions` with their metadata, read from the coordinator.
    /// - Throws: `KafkaError` when the coordinator does not respond within the timeout.
    public func committedWithMetadata(_ partitions: [TopicPartition], timeoutMilliseconds: Int) throws -> [TopicPartition: CommittedOffset] {
        try openClient().committedWithMetadata(partitions, timeoutMilliseconds: timeoutMilliseconds)
    }

    /// Returns the group's committed offset of each partition, `KafkaOffset.invalid` where none was committed.
    /// - Throws: `KafkaError` when the coordinator does not respond within the timeout.
    public func committed(_ partitions: [TopicPartition], timeoutMilliseconds: Int) throws -> [TopicPartition: Int64] {
        return try openClient().committed(partitions, timeoutMilliseconds: timeoutMilliseconds)
    }

    /// Returns the offset of the next record `poll` would return for each partition,
    /// `KafkaOffset.invalid` where nothing has been read yet.
    /// - Throws: `KafkaError` when librdkafka cannot look the partitions up.
    public func position(_ partitions: [TopicPartition]) throws -> [TopicPartition: Int64] {
        return try openClient().position(partitions)
    }

    /// Returns the low watermark (first kept offset) and high watermark (offset after the last
    /// record) of a partition, as its leader broker reports them.
    /// - Throws: `KafkaError` when the broker does not respond within the timeout or does not host the partition.
    public func watermarks(_ partition: TopicPartition, timeoutMilliseconds: Int) throws -> (low: Int64, high: Int64) {
        return try openClient().watermarks(partition, timeoutMilliseconds: timeoutMilliseconds)
    }

    /// Returns, for each partition, the first offset whose record timestamp is at or after `date`,
    /// or `KafkaOffset.end` where every record is older. Use it to start reading from a point in time.
    ///
    /// Record timestamps are the producer's create time or the broker's log-append time, as the
    /// topic's `message.timestamp.type` sets, and are kept in milliseconds.
    /// - Throws: `KafkaError` when a leader does not respond within the timeout or does not host a partition.
    public func offsets(forTimestamp date: Date, partitions: [TopicPartition], timeoutMilliseconds: Int) throws -> [TopicPartition: Int64] {
        let milliseconds = Int64((date.timeIntervalSince1970 * 1000).rounded(.down))
        return try openClient().offsets(forTimestamp: milliseconds, partitions: partitions, timeoutMilliseconds: timeoutMilliseconds)
    }

    /// Low and high watermarks as the last fetch response reported them, without asking the broker.
    ///
    /// Cheap enough to call often: a broker query waits behind the consumer's long-polling fetch on the
    /// same connection (up to `fetch.wait.max.ms`). Returns nil when no fetch response has reported them yet.
    public func cachedWatermarks(_ partition: TopicPartition) throws -> (low: Int64, high: Int64)? {
        return try openClient().cachedWatermarks(partition)
    }

    // MARK: - Flow control

    /// Stops fetching the partitions; records already fetched for them are dropped, not returned.
    ///
    /// They stay assigned, and `resume` continues from the next record `poll` has not returned,
    /// so nothing is skipped or read twice.
    /// - Throws: `KafkaError` naming a partition that is not assigned.
    public func pause(_ partitions: [TopicPartition]) throws {
        try openClient().pause(partitions)
    }

    /// Continues fetching paused partitions from where `poll` left them.
    /// - Throws: `KafkaError` naming a partition that is not assigned.
    public func resume(_ partitions: [TopicPartition]) throws {
        try openClient().resume(partitions)
    }

    /// Returns the partitions this consumer currently owns.
    /// - Throws: `KafkaError` when the consumer is closed.
    public func assignment() throws -> [TopicPartition] {
        return try openClient().assignment()
    }

    /// Returns whether librdkafka has given up this member's assignment, for example because the
    /// application did not poll for `max.poll.interval.ms` or the group session expired.
    ///
    /// librdkafka sets it from its own thread as soon as it leaves the group, before `poll` delivers
    /// the lost partitions to the rebalance handler. A caller back from a long call checks it before
    /// it acts for partitions that other members may already own.
    /// - Throws: `KafkaError` when the consumer is closed.
    public func isAssignmentLost() throws -> Bool {
        return try openClient().isAssignmentLost
    }

    // MARK: - Lifecycle

    /// Leaves the group cleanly (`rd_kafka_consumer_close`), serving the final revocation through
    /// the rebalance handler so the caller can commit. Closing twice does nothing.
    ///
    /// Stored offsets are committed here only with `enable.auto.commit=true`.
    /// - Throws: `KafkaError` when leaving the group failed; the consumer is closed anyway.
    public func close() throws {
        let client: RDKafkaClient? = state.withLock { state in
            guard case .open(let client) = state else {
                return nil
            }
            state = .closing(client)
            return client
        }
        guard let client else {
            return
        }
        defer { state.withLock { $0 = .closed } }
        try client.closeConsumer()
    }

    private func openClient() throws -> RDKafkaClient {
        try state.withLock { state in
            switch state {
            case .open(let client), .closing(let client):
                return client
            case .closed:
                throw KafkaError.closed("consumer")
            }
        }
    }
}
