import CRdKafka

/// An owned librdkafka handle (`rd_kafka_t`) and the callbacks that serve it.
///
/// The public clients hold one each and call librdkafka only through it; the extensions in
/// `RDKafkaClient+….swift` hold the consumer, producer and admin calls.
final class RDKafkaClient {
    /// The role librdkafka gives the handle.
    enum Kind {
        case producer
        case consumer

        var name: String {
            switch self {
            case .producer: "producer"
            case .consumer: "consumer"
            }
        }
    }

    let handle: OpaquePointer
    let kind: Kind

    /// The configuration's `message.max.bytes`, read back before librdkafka took the configuration.
    let maximumMessageBytes: Int

    /// The state the C callbacks reach through librdkafka's opaque pointer.
    ///
    /// The pointer is unretained, which is safe because `deinit` destroys the handle, and with
    /// it every callback, before this property is released.
    private let callbackContext: RDKafkaCallbackContext

    /// Creates a handle, or throws naming the invalid property or the reason librdkafka gave.
    init(
        kind: Kind,
        properties: [String: String],
        rebalanceHandler: ((RebalanceEvent) -> Void)? = nil
    ) throws {
        let configuration = try RDKafkaConfiguration.make(properties)
        let strategy = RDKafkaConfiguration.value(of: "partition.assignment.strategy", in: configuration) ?? ""
        let context = RDKafkaCallbackContext(
            rebalanceHandler: rebalanceHandler, isCooperativeByConfiguration: strategy.contains("cooperative-sticky"))
        rd_kafka_conf_set_opaque(configuration, Unmanaged.passUnretained(context).toOpaque())

        switch kind {
        case .producer:
            RDKafkaDelivery.install(on: configuration)
        case .consumer:
            RDKafkaRebalance.install(on: configuration)
        }

        let maximumMessageBytes = RDKafkaConfiguration.value(of: "message.max.bytes", in: configuration)
            .flatMap { Int($0) } ?? 1_000_000

        var errorText = [CChar](repeating: 0, count: 512)
        let type = kind == .producer ? RD_KAFKA_PRODUCER : RD_KAFKA_CONSUMER
        guard let handle = rd_kafka_new(type, configuration, &errorText, errorText.count) else {
            // rd_kafka_new takes the configuration only when it succeeds.
            rd_kafka_conf_destroy(configuration)
            throw KafkaError(
                responseError: RD_KAFKA_RESP_ERR__INVALID_ARG,
                reason: "Failed to create the Kafka \(kind.name): \(String(cStringBuffer: errorText)). Check the Kafka properties."
            )
        }

        if kind == .consumer {
            // Routes errors and logs of the main queue to rd_kafka_consumer_poll, so the
            // consumer needs only one poll call.
            rd_kafka_poll_set_consumer(handle)
        }

        self.handle = handle
        self.kind = kind
        self.maximumMessageBytes = maximumMessageBytes
        self.callbackContext = context
    }

    deinit {
        rd_kafka_destroy(handle)
    }

    /// Stops calling the rebalance handler; librdkafka's assignment still follows each rebalance.
    func detachRebalanceHandler() {
        callbackContext.detachRebalanceHandler()
    }

    /// Throws the client's fatal error, if it raised one.
    func throwFatalError() throws {
        if let error = RDKafkaError.fatalError(of: handle) {
            throw error
        }
    }
}

/// The Swift state that the C callbacks of one handle use.
final class RDKafkaCallbackContext {
    private let handler: LockedValue<((RebalanceEvent) -> Void)?>
    /// Whether `partition.assignment.strategy` names the cooperative protocol, for a rebalance
    /// callback that cannot ask librdkafka.
    let isCooperativeByConfiguration: Bool

    init(rebalanceHandler: ((RebalanceEvent) -> Void)?, isCooperativeByConfiguration: Bool) {
        handler = LockedValue(rebalanceHandler)
        self.isCooperativeByConfiguration = isCooperativeByConfiguration
    }

    /// The consumer's rebalance handler, or nil once it was detached.
    var rebalanceHandler: ((RebalanceEvent) -> Void)? {
        handler.withLock { $0 }
    }

    /// Stops calling the rebalance handler, whose captured state may already be gone.
    func detachRebalanceHandler() {
        handler.withLock { $0 = nil }
    }
}
