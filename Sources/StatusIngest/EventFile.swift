import Foundation
import Kafka
import StatusCore

/// Records in NDJSON, one a line, in the format of the samples' `events.ndjson`:
/// `{"key": "…", "value": {…}}`, `{"key": "…", "value_base64": "…"}`, or `"value": null` for a record
/// with no value (a tombstone). An optional `headers` object maps header names to strings.
public enum EventFile {
    /// One record of the file, ready to send.
    public struct Record: Sendable {
        public var key: [UInt8]?
        public var value: [UInt8]?
        public var headers: [KafkaHeader]
    }

    /// Reads every record of the file at `path`, in file order.
    ///
    /// - Throws: `EventFileError` naming the line of the first record that is not in the format.
    public static func load(path: String) throws -> [Record] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw EventFileError("cannot read \(path): the file does not exist or is not readable")
        }
        // Splitting a byte array by index is many times faster than splitting Data.
        let bytes = [UInt8](data)
        var records: [Record] = []
        var lineNumber = 0
        var lineStart = 0
        while lineStart < bytes.count {
            let lineEnd = bytes[lineStart...].firstIndex(of: UInt8(ascii: "\n")) ?? bytes.count
            lineNumber += 1
            let line = bytes[lineStart..<lineEnd]
            lineStart = lineEnd + 1
            if line.allSatisfy({ $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\r") || $0 == UInt8(ascii: "\t") }) {
                continue
            }
            records.append(try parse(Array(line), path: path, lineNumber: lineNumber))
        }
        return records
    }

    static func parse(_ line: [UInt8], path: String, lineNumber: Int) throws -> Record {
        let document: JSONValue
        do {
            document = try JSONParser.parse(line)
        } catch {
            throw EventFileError("\(path):\(lineNumber): not valid JSON: \(error)")
        }
        guard case .object = document else {
            throw EventFileError("\(path):\(lineNumber): expected a JSON object with \"key\" and \"value\" or \"value_base64\"")
        }

        var record = Record(key: nil, value: nil, headers: [])
        switch document["key"] {
        case nil, .null?: record.key = nil
        case .string(let key)?: record.key = Array(key.utf8)
        default: throw EventFileError("\(path):\(lineNumber): \"key\" must be a string or null")
        }

        if case .string(let encoded)? = document["value_base64"] {
            guard let bytes = Data(base64Encoded: encoded) else {
                throw EventFileError("\(path):\(lineNumber): \"value_base64\" is not valid base64")
            }
            record.value = Array(bytes)
        } else if let value = document["value"] {
            if case .null = value {
                record.value = nil
            } else {
                record.value = value.serialized()
            }
        } else {
            throw EventFileError("\(path):\(lineNumber): expected \"value\" (JSON, or null for a tombstone) or \"value_base64\"")
        }

        if case .object(let members)? = document["headers"] {
            for member in members {
                switch member.value {
                case .string(let text): record.headers.append(KafkaHeader(key: member.key, value: Array(text.utf8)))
                case .null: record.headers.append(KafkaHeader(key: member.key, value: nil))
                default: throw EventFileError("\(path):\(lineNumber): header \"\(member.key)\" must be a string or null")
                }
            }
        }
        return record
    }
}

/// An events file that cannot be read or is not in the expected format.
public struct EventFileError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}
