import Foundation
import Kafka
import StatusCore

/// One record of the dead-letter topic as an operator reads it, whichever of its three layouts it has:
/// the full envelope, the envelope without the parsed original, or the original bytes with the error
/// body in the `dlq.error.body` header.
public struct DeadLetterRecord: Sendable {
    /// The code of a record that names no error code in its value or headers.
    public static let unknownCode = "unknown"

    /// The record's place on the dead-letter topic.
    public var partition: Int32
    public var offset: Int64
    /// The record's key, which is the original record's key.
    public var key: [UInt8]?
    /// `envelope`, `envelope-without-parsed-original` or `original`, from `dlq.value.format`.
    public var valueFormat: String
    /// The platform's error body: `{"error": {"message", "code", "details"}, "request_id"}`.
    public var errorBody: JSONValue?
    public var code: String
    public var message: String
    public var statusCode: Int?
    public var requestID: String?
    public var failedAt: Date?
    public var sourceTopic: String?
    public var sourcePartition: Int32?
    public var sourceOffset: Int64?
    /// The original record's timestamp as the envelope gives it (RFC 3339), absent in the `original` layout.
    public var sourceTimestamp: String?
    /// The original value byte for byte; nil for a tombstone or when it cannot be recovered.
    public var originalValue: [UInt8]?
    /// Whether `originalValue` was recovered: false when the envelope could not be parsed.
    public var hasOriginalValue: Bool
    /// The original record's headers, in order, including a replay counter from an earlier replay.
    public var originalHeaders: [KafkaHeader]
    /// Every header of the dead-letter record itself.
    public var headers: [KafkaHeader]
    /// The worker that failed the record (`group_id`, `host`, `version`), when the envelope names it.
    public var worker: JSONValue?
    /// The original value parsed, when it is a JSON object.
    public var originalDocument: JSONValue?
    /// The flow execution: the original value's `flow_execution_id`, else the key.
    public var executionID: String?
    /// The tenant the producer named in the original value's `organization_id`, when it did.
    public var organizationID: String?
    /// The distinct task names of the original value in first-seen order: one for the single form,
    /// the items' names for a batch.
    public var taskNames: [String]
    /// How many times the record was replayed before it failed this time.
    public var replayCount: Int

    /// Reads a dead-letter record. It never fails: what cannot be parsed is left nil and the `dlq.*`
    /// headers fill in where they can.
    public init(message record: KafkaMessage) {
        partition = record.partition
        offset = record.offset
        key = record.key
        headers = record.headers
        valueFormat = record.header(DeadLetterHeader.valueFormat) ?? DeadLetterEnvelope.Layout.full.rawValue
        originalHeaders = []
        originalValue = nil
        hasOriginalValue = false
        taskNames = []
        replayCount = 0
        code = ""
        message = ""

        if valueFormat == DeadLetterEnvelope.Layout.original.rawValue {
            readOriginalLayout(record)
        } else {
            readEnvelope(record)
        }
        fillFromHeaders(record)
        readOriginalDocument()
    }

    // MARK: - Layouts

    private mutating func readOriginalLayout(_ record: KafkaMessage) {
        originalValue = record.value
        hasOriginalValue = true
        errorBody = record.header(DeadLetterHeader.errorBody).flatMap { try? JSONParser.parse(Array($0.utf8)) }
        originalHeaders = record.headers.filter { header in
            !header.key.hasPrefix(DeadLetterHeader.prefix) || header.key == DeadLetterHeader.replayCount
        }
    }

    private mutating func readEnvelope(_ record: KafkaMessage) {
        guard let value = record.value, let envelope = try? JSONParser.parse(value), case .object = envelope else {
            // Not an envelope the worker wrote, so the original is unknown and only the headers are read.
            originalHeaders = record.headers.filter { !$0.key.hasPrefix(DeadLetterHeader.prefix) || $0.key == DeadLetterHeader.replayCount }
            return
        }
        var body: [JSONMember] = []
        if let error = envelope["error"] { body.append(JSONMember("error", error)) }
        if let requestID = envelope["request_id"] { body.append(JSONMember("request_id", requestID)) }
        errorBody = .object(body)
        statusCode = envelope["status_code"]?.intValue
        failedAt = envelope["failed_at"]?.stringValue.flatMap(RFC3339.parse)
        worker = envelope["worker"]

        if let source = envelope["source"] {
            sourceTopic = source["topic"]?.stringValue
            sourcePartition = source["partition"]?.intValue.map { Int32(clamping: $0) }
            sourceOffset = source["offset"]?.intValue.map { Int64($0) }
            sourceTimestamp = source["timestamp"]?.stringValue
            if case .string(let encoded)? = source["key_base64"], let bytes = Data(base64Encoded: encoded) {
                key = Array(bytes)
            }
        }

        if let original = envelope["original"] {
            switch original["value_base64"] {
            case .string(let encoded)?:
                if let bytes = Data(base64Encoded: encoded) {
                    originalValue = Array(bytes)
                    hasOriginalValue = true
                }
            case .null?:
                hasOriginalValue = true
            default:
                break
            }
            for header in original["headers"]?.arrayValue ?? [] {
                guard let name = header["key"]?.stringValue else { continue }
                let bytes = header["value_base64"]?.stringValue.flatMap { Data(base64Encoded: $0) }.map { Array($0) }
                originalHeaders.append(KafkaHeader(key: name, value: bytes))
            }
        }
    }

    /// Fills what the value did not give from the `dlq.*` headers, which every layout carries.
    private mutating func fillFromHeaders(_ record: KafkaMessage) {
        let error = errorBody?["error"]
        code = error?["code"]?.stringValue ?? record.header(DeadLetterHeader.errorCode) ?? Self.unknownCode
        message = error?["message"]?.stringValue ?? ""
        requestID = errorBody?["request_id"]?.stringValue ?? record.header(DeadLetterHeader.requestID)
        statusCode = statusCode ?? record.header(DeadLetterHeader.statusCode).flatMap { Int($0) }
        failedAt = failedAt ?? record.header(DeadLetterHeader.failedAt).flatMap(RFC3339.parse)
        sourceTopic = sourceTopic ?? record.header(DeadLetterHeader.sourceTopic)
        sourcePartition = sourcePartition ?? record.header(DeadLetterHeader.sourcePartition).flatMap { Int32($0) }
        sourceOffset = sourceOffset ?? record.header(DeadLetterHeader.sourceOffset).flatMap { Int64($0) }
        replayCount = originalHeaders.last { $0.key == DeadLetterHeader.replayCount }?.value
            .flatMap { String(validating: $0, as: UTF8.self) }.flatMap { Int($0) } ?? 0
    }

    private mutating func readOriginalDocument() {
        if let value = originalValue, let document = try? JSONParser.parse(value), case .object = document {
            originalDocument = document
            executionID = document["flow_execution_id"]?.stringValue
            organizationID = document["organization_id"]?.stringValue
            if let task = document["task_name"]?.stringValue {
                taskNames = [task]
            } else if let items = document["statuses"]?.arrayValue {
                var seen = Set<String>()
                taskNames = items.compactMap { $0["task_name"]?.stringValue }.filter { seen.insert($0).inserted }
            }
        }
        if executionID == nil, let key, let text = String(validating: key, as: UTF8.self), !text.isEmpty {
            executionID = text
        }
    }

    // MARK: - Derived

    /// `topic/partition:offset` of the original record, or `?` for parts the record does not give.
    public var sourceDescription: String {
        "\(sourceTopic ?? "?")/\(sourcePartition.map(String.init) ?? "?"):\(sourceOffset.map(String.init) ?? "?")"
    }

    /// `partition:offset` on the dead-letter topic, the form `dlq show` and `dlq replay` take.
    public var coordinates: String { "\(partition):\(offset)" }
}
