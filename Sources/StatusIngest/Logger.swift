import Foundation
import Synchronization

/// A structured logger: one line per event, with stable keys, as text for a terminal or as JSON lines.
///
/// Lines go to standard error so that commands which print results (`store stats`) keep standard output clean.
public final class Logger: Sendable {
    /// Severity, from most to least detailed.
    public enum Level: Int, Sendable, Comparable, CaseIterable {
        case debug, info, warning, error

        public init?(name: String) {
            switch name.lowercased() {
            case "debug": self = .debug
            case "info": self = .info
            case "warning", "warn": self = .warning
            case "error": self = .error
            default: return nil
            }
        }

        public var name: String {
            switch self {
            case .debug: return "debug"
            case .info: return "info"
            case .warning: return "warning"
            case .error: return "error"
            }
        }

        public static func < (lhs: Level, rhs: Level) -> Bool { lhs.rawValue < rhs.rawValue }
    }

    /// How lines are written.
    public enum Format: String, Sendable {
        /// `2026-12-04T21:00:00.000Z info  batch applied topic=… partition=…`
        case text
        /// One JSON object per line: `{"ts":…,"level":…,"msg":…, key: value…}`.
        case json
    }

    public let level: Level
    public let format: Format
    private let sink: @Sendable (String) -> Void
    private let lock = Mutex(())

    public init(level: Level = .info, format: Format = .text, sink: (@Sendable (String) -> Void)? = nil) {
        self.level = level
        self.format = format
        self.sink = sink ?? { line in FileHandle.standardError.write(Data((line + "\n").utf8)) }
    }

    public func isEnabled(_ level: Level) -> Bool { level >= self.level }

    public func debug(_ message: String, _ fields: KeyValuePairs<String, LogValue> = [:]) { log(.debug, message, fields) }
    public func info(_ message: String, _ fields: KeyValuePairs<String, LogValue> = [:]) { log(.info, message, fields) }
    public func warning(_ message: String, _ fields: KeyValuePairs<String, LogValue> = [:]) { log(.warning, message, fields) }
    public func error(_ message: String, _ fields: KeyValuePairs<String, LogValue> = [:]) { log(.error, message, fields) }

    public func log(_ level: Level, _ message: String, _ fields: KeyValuePairs<String, LogValue>) {
        guard isEnabled(level) else { return }
        let line = render(level, message, Array(fields))
        lock.withLock { _ in sink(line) }
    }

    // MARK: - Rendering

    private func render(_ level: Level, _ message: String, _ fields: [(key: String, value: LogValue)]) -> String {
        let timestamp = RFC3339Text.format(Date())
        switch format {
        case .text:
            var line = "\(timestamp) \(level.name.padding(toLength: 7, withPad: " ", startingAt: 0)) \(message)"
            for (key, value) in fields {
                line += " \(key)=\(value.textForm)"
            }
            return line
        case .json:
            var line = "{\"ts\":\"\(timestamp)\",\"level\":\"\(level.name)\",\"msg\":\(Logger.quoted(message))"
            for (key, value) in fields {
                line += ",\(Logger.quoted(key)):\(value.jsonForm)"
            }
            return line + "}"
        }
    }

    static func quoted(_ text: String) -> String {
        var result = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": result += "\\\""
            case "\\": result += "\\\\"
            case "\n": result += "\\n"
            case "\r": result += "\\r"
            case "\t": result += "\\t"
            case _ where scalar.value < 0x20:
                result += String(format: "\\u%04x", scalar.value)
            default: result.unicodeScalars.append(scalar)
            }
        }
        return result + "\""
    }
}

/// A value in a log line.
public enum LogValue: Sendable, ExpressibleByStringLiteral, ExpressibleByIntegerLiteral {
    case string(String)
    case integer(Int64)
    case double(Double)
    case bool(Bool)

    public init(stringLiteral value: String) { self = .string(value) }
    public init(integerLiteral value: Int64) { self = .integer(value) }

    public static func int(_ value: some BinaryInteger) -> LogValue { .integer(Int64(value)) }

    var textForm: String {
        switch self {
        case .string(let text):
            let needsQuotes = text.isEmpty || text.contains(where: { $0 == " " || $0 == "\"" || $0 == "=" || $0.isNewline })
            return needsQuotes ? Logger.quoted(text) : text
        case .integer(let value): return String(value)
        case .double(let value): return String(format: "%.3f", value)
        case .bool(let value): return value ? "true" : "false"
        }
    }

    var jsonForm: String {
        switch self {
        case .string(let text): return Logger.quoted(text)
        case .integer(let value): return String(value)
        case .double(let value): return value.isFinite ? String(format: "%.6g", value) : "null"
        case .bool(let value): return value ? "true" : "false"
        }
    }
}
