import Foundation
import Kafka
import StatusCore

/// A record that can never be applied, with the error that explains why.
struct DeadLetter {
    var message: KafkaMessage
    var error: ContractError
    /// The value as parsed, when it was a JSON object: the envelope embeds it so a person can read it.
    var document: JSONValue?
}

/// The worker that failed a record, written into every dead-letter record.
public struct WorkerIdentity: Sendable {
    public var groupID: String
    public var host: String
    public var version: String

    public init(groupID: String, host: String = ProcessInfo.processInfo.hostName, version: String = StatusIngestVersion.current) {
        self.groupID = groupID
        self.host = host
        self.version = version
    }
}

/// Header names of dead-letter records. One prefix, so tools can filter with kcat without parsing values.
public enum DeadLetterHeader {
    public static let prefix = "dlq."
    public static let errorCode = "dlq.error.code"
    public static let statusCode = "dlq.error.status_code"
    public static let requestID = "dlq.request_id"
    public static let sourceTopic = "dlq.source.topic"
    public static let sourcePartition = "dlq.source.partition"
    public static let sourceOffset = "dlq.source.offset"
    public static let failedAt = "dlq.failed_at"
    /// How to read the value: `envelope` (the JSON envelope), `envelope-without-parsed-original`, or
    /// `original` (the original bytes unchanged, because no envelope fit the maximum message size).
    public static let valueFormat = "dlq.value.format"
    /// The error body (`{"error": …, "request_id": …}`), present when the value is the original bytes.
    public static let errorBody = "dlq.error.body"
    /// How many times `status-ingest dlq replay` has sent the record back to the input topic. A replay
    /// keeps it among the original headers, so it survives another failure and stops endless loops.
    public static let replayCount = "dlq.replay.count"
    /// The header a producer may set to carry its own request id into the error body.
    public static let incomingRequestID = "request_id"
}

/// Builds the dead-letter record for a failed input record: the envelope of the contract, made to fit.
///
/// The value is a JSON object. It contains the error body, the HTTP status, where the record came
/// from, the original value byte for byte (base64), the parsed object when the value was a JSON
/// object, the original headers, when it failed and which worker failed it. When that does not fit in
/// `maximumBytes`, the parsed copy is left out first; when it still does not fit, the value is the
/// original bytes unchanged and the error body travels in a header. The original is never cut.
/// Original headers are copied onto the dead-letter record as they were, so a replay can send them back.
enum DeadLetterEnvelope {
    /// Bytes kept free under the producer's limit for librdkafka's own framing of the record.
    static let framingAllowance = 512

    enum Layout: String {
        case full = "envelope"
        case withoutParsedOriginal = "envelope-without-parsed-original"
        case original = "original"
    }

    static func make(
        _ deadLetter: DeadLetter,
        requestID: String,
        worker: WorkerIdentity,
        failedAt: Date,
        maximumBytes: Int
    ) -> (record: ProducerRecord, layout: Layout) {
        let message = deadLetter.message
        let errorBody = ErrorBody(error: deadLetter.error, requestID: requestID).json
        let failedAtText = RFC3339Text.format(failedAt)

        var headers = message.headers
        headers.append(KafkaHeader(key: DeadLetterHeader.errorCode, text: deadLetter.error.code.rawValue))
        headers.append(KafkaHeader(key: DeadLetterHeader.statusCode, text: String(deadLetter.error.httpStatus)))
        headers.append(KafkaHeader(key: DeadLetterHeader.requestID, text: requestID))
        headers.append(KafkaHeader(key: DeadLetterHeader.sourceTopic, text: message.topic))
        headers.append(KafkaHeader(key: DeadLetterHeader.sourcePartition, text: String(message.partition)))
        headers.append(KafkaHeader(key: DeadLetterHeader.sourceOffset, text: String(message.offset)))
        headers.append(KafkaHeader(key: DeadLetterHeader.failedAt, text: failedAtText))

        let budget = maximumBytes - framingAllowance - (message.key?.count ?? 0) - headerBytes(headers) - 64
        let layouts: [Layout] = deadLetter.document == nil ? [.withoutParsedOriginal] : [.full, .withoutParsedOriginal]
        for layout in layouts {
            let value = envelope(deadLetter, errorBody: errorBody, failedAt: failedAtText, worker: worker, includeParsed: layout == .full)
            if value.count <= budget {
                headers.append(KafkaHeader(key: DeadLetterHeader.valueFormat, text: layout == .full ? Layout.full.rawValue : layout.rawValue))
                return (ProducerRecord(topic: "", key: message.key, value: value, headers: headers), layout)
            }
        }

        headers.append(KafkaHeader(key: DeadLetterHeader.valueFormat, text: Layout.original.rawValue))
        headers.append(KafkaHeader(key: DeadLetterHeader.errorBody, value: errorBody.serialized()))
        return (ProducerRecord(topic: "", key: message.key, value: message.value, headers: headers), .original)
    }

    private static func headerBytes(_ headers: [KafkaHeader]) -> Int {
        headers.reduce(0) { $0 + $1.key.utf8.count + ($1.value?.count ?? 0) + 16 }
    }

    private static func envelope(
        _ deadLetter: DeadLetter,
        errorBody: JSONValue,
        failedAt: String,
        worker: WorkerIdentity,
        includeParsed: Bool
    ) -> [UInt8] {
        let message = deadLetter.message
        var members: [JSONMember] = []
        if case .object(let bodyMembers) = errorBody {
            members.append(contentsOf: bodyMembers)
        }
        members.append(JSONMember("status_code", .number(String(deadLetter.error.httpStatus))))

        var source: [JSONMember] = [
            JSONMember("topic", .string(message.topic)),
            JSONMember("partition", .number(String(message.partition))),
            JSONMember("offset", .number(String(message.offset))),
            JSONMember("timestamp", message.timestamp.map { .string(RFC3339Text.format($0)) } ?? .null),
        ]
        source.append(JSONMember("key", message.key.flatMap { String(validating: $0, as: UTF8.self) }.map(JSONValue.string) ?? .null))
        source.append(JSONMember("key_base64", message.key.map { .string(Data($0).base64EncodedString()) } ?? .null))
        members.append(JSONMember("source", .object(source)))

        var original: [JSONMember] = [
            JSONMember("value_base64", message.value.map { .string(Data($0).base64EncodedString()) } ?? .null),
            JSONMember("value_bytes", message.value.map { .number(String($0.count)) } ?? .null),
        ]
        if includeParsed, let document = deadLetter.document {
            original.append(JSONMember("value", document))
        } else if deadLetter.document != nil {
            original.append(JSONMember("value_omitted", .string("the parsed copy did not fit the maximum message size")))
        }
        let headers: [JSONValue] = message.headers.map { header in
            .object([
                JSONMember("key", .string(header.key)),
                JSONMember("value_base64", header.value.map { .string(Data($0).base64EncodedString()) } ?? .null),
            ])
        }
        original.append(JSONMember("headers", .array(headers)))
        members.append(JSONMember("original", .object(original)))

        members.append(JSONMember("failed_at", .string(failedAt)))
        members.append(JSONMember("worker", .object([
            JSONMember("group_id", .string(worker.groupID)),
            JSONMember("host", .string(worker.host)),
            JSONMember("version", .string(worker.version)),
        ])))
        return JSONValue.object(members).serialized()
    }
}

extension KafkaHeader {
    init(key: String, text: String) {
        self.init(key: key, value: Array(text.utf8))
    }
}

/// The running build's version, written into dead-letter records and printed by `version`.
public enum StatusIngestVersion {
    public static let current = "0.1.0"
}

/// RFC 3339 text for timestamps in envelopes, commands and logs, in UTC with milliseconds.
enum RFC3339Text {
    static func format(_ date: Date) -> String {
        RFC3339.format(date, fractionalDigits: 3)
    }
}
