/// Splits the shared `kafka.*` properties between the consumer and the producer, so that neither
/// librdkafka handle warns about a property meant for the other.
enum KafkaRoles {
    static let consumerOnly: Set<String> = [
        "group.id", "group.instance.id", "partition.assignment.strategy", "session.timeout.ms",
        "heartbeat.interval.ms", "group.protocol.type", "coordinator.query.interval.ms", "max.poll.interval.ms",
        "enable.auto.commit", "auto.commit.interval.ms", "enable.auto.offset.store", "queued.min.messages",
        "queued.max.messages.kbytes", "fetch.wait.max.ms", "fetch.message.max.bytes", "fetch.max.bytes",
        "fetch.min.bytes", "fetch.error.backoff.ms", "fetch.queue.backoff.ms", "isolation.level",
        "enable.partition.eof", "check.crcs", "auto.offset.reset", "consume.callback.max.messages",
        "offset.store.method", "auto.commit.enable", "rebalance_cb", "offset_commit_cb",
    ]

    static let producerOnly: Set<String> = [
        "enable.idempotence", "enable.gapless.guarantee", "acks", "request.required.acks",
        "queue.buffering.max.messages", "queue.buffering.max.kbytes", "queue.buffering.max.ms", "linger.ms",
        "message.send.max.retries", "retries", "retry.backoff.ms", "queue.buffering.backpressure.threshold",
        "compression.codec", "compression.type", "compression.level", "batch.num.messages", "batch.size",
        "delivery.report.only.error", "delivery.timeout.ms", "message.timeout.ms", "request.timeout.ms",
        "partitioner", "sticky.partitioning.linger.ms", "transactional.id", "transaction.timeout.ms",
    ]

    static func consumerProperties(_ properties: [String: String]) -> [String: String] {
        properties.filter { !producerOnly.contains($0.key) }
    }

    static func producerProperties(_ properties: [String: String]) -> [String: String] {
        properties.filter { !consumerOnly.contains($0.key) }
    }
}
