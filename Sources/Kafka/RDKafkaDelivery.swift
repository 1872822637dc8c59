import CRdKafka

/// The callback a producer runs when one record was delivered or failed for good.
///
/// Each record carries its own context as librdkafka's per-message opaque: `send` retains it
/// once, and the delivery callback releases it once, so a context lives exactly as long as its
/// record is in librdkafka's hands.
final class RDKafkaDeliveryContext {
    let onDelivery: (Result<DeliveryReport, KafkaError>) -> Void

    init(onDelivery: @escaping (Result<DeliveryReport, KafkaError>) -> Void) {
        self.onDelivery = onDelivery
    }
}

/// Installs and serves the producer's delivery report callback (`dr_msg_cb`).
enum RDKafkaDelivery {
    static func install(on configuration: OpaquePointer) {
        rd_kafka_conf_set_dr_msg_cb(configuration) { _, message, _ in
            guard let message, let opaque = message.pointee._private else {
                return
            }
            let context = Unmanaged<RDKafkaDeliveryContext>.fromOpaque(opaque).takeRetainedValue()
            context.onDelivery(RDKafkaDelivery.result(of: message))
        }
    }

    private static func result(of message: UnsafePointer<rd_kafka_message_t>) -> Result<DeliveryReport, KafkaError> {
        let record = message.pointee
        let topic = record.rkt.flatMap { rd_kafka_topic_name($0) }.map { String(cString: $0) } ?? ""

        guard record.err == RD_KAFKA_RESP_ERR_NO_ERROR else {
            // rd_kafka_message_errstr is not used: on a delivery report it may return the record's payload.
            let reason = "Failed to deliver a record to \(TopicPartition(topic: topic, partition: record.partition)): "
                + String(cString: rd_kafka_err2str(record.err))
            return .failure(KafkaError(responseError: record.err, reason: reason))
        }
        return .success(DeliveryReport(topic: topic, partition: record.partition, offset: record.offset))
    }
}
