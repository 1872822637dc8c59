import CRdKafka
import Foundation

/// Copies consumed `rd_kafka_message_t` values into `KafkaMessage`.
enum RDKafkaMessage {
    /// Copies a consumed record, its key, value, headers and timestamp, out of librdkafka's memory.
    ///
    /// The caller still owns `message` and destroys it afterwards.
    static func copy(_ message: UnsafeMutablePointer<rd_kafka_message_t>) -> KafkaMessage {
        let record = message.pointee
        return KafkaMessage(
            topic: topicName(of: message),
            partition: record.partition,
            offset: record.offset,
            key: bytes(record.key, count: record.key_len),
            value: bytes(record.payload, count: record.len),
            headers: headers(of: message),
            timestamp: timestamp(of: message)
        )
    }

    /// Returns the message's topic name, or an empty string when librdkafka attached no topic
    /// (possible on error events that concern no partition).
    static func topicName(of message: UnsafeMutablePointer<rd_kafka_message_t>) -> String {
        guard let topic = message.pointee.rkt, let name = rd_kafka_topic_name(topic) else {
            return ""
        }
        return String(cString: name)
    }

    /// Returns the text of a consumer error event: librdkafka puts it in the payload when it has one.
    static func errorText(of message: UnsafeMutablePointer<rd_kafka_message_t>) -> String {
        if let payload = bytes(message.pointee.payload, count: message.pointee.len), !payload.isEmpty {
            return String(decoding: payload, as: UTF8.self)
        }
        return String(cString: rd_kafka_err2str(message.pointee.err))
    }

    // MARK: - Parts

    private static func bytes(_ pointer: UnsafeMutableRawPointer?, count: Int) -> [UInt8]? {
        guard let pointer else {
            return nil
        }
        return Array(UnsafeRawBufferPointer(start: pointer, count: count))
    }

    private static func headers(of message: UnsafeMutablePointer<rd_kafka_message_t>) -> [KafkaHeader] {
        // The header list belongs to the message and is freed with it.
        var list: OpaquePointer?
        guard rd_kafka_message_headers(message, &list) == RD_KAFKA_RESP_ERR_NO_ERROR, let list else {
            return []
        }

        var headers: [KafkaHeader] = []
        var index = 0
        var name: UnsafePointer<CChar>?
        var value: UnsafeRawPointer?
        var size = 0
        while rd_kafka_header_get_all(list, index, &name, &value, &size) == RD_KAFKA_RESP_ERR_NO_ERROR {
            let key = name.map { String(cString: $0) } ?? ""
            let bytes = value.map { Array(UnsafeRawBufferPointer(start: $0, count: size)) }
            headers.append(KafkaHeader(key: key, value: bytes))
            index += 1
        }
        return headers
    }

    private static func timestamp(of message: UnsafeMutablePointer<rd_kafka_message_t>) -> Date? {
        var type = RD_KAFKA_TIMESTAMP_NOT_AVAILABLE
        let milliseconds = rd_kafka_message_timestamp(message, &type)
        guard type != RD_KAFKA_TIMESTAMP_NOT_AVAILABLE, milliseconds >= 0 else {
            return nil
        }
        return Date(timeIntervalSince1970: Double(milliseconds) / 1000)
    }
}
