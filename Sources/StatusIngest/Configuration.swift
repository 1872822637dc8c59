import Foundation

/// Every setting of the worker, read from a properties file and overridden by environment variables.
///
/// Keys under `kafka.` go to librdkafka without the prefix (`kafka.bootstrap.servers` becomes
/// `bootstrap.servers`). An environment variable `STATUS_INGEST_<KEY>` overrides a key, with the key
/// upper-cased and dots turned into underscores: `STATUS_INGEST_STORE_URL` sets `store.url`, and
/// `STATUS_INGEST_KAFKA_GROUP_ID` sets `kafka.group.id`.
public struct Configuration: Sendable {
    /// The built-in defaults. `config/status-ingest.properties` repeats each with a comment.
    public static let defaults: [(key: String, value: String)] = [
        ("store.url", "sqlite:var/status-ingest.sqlite"),
        ("store.connections", "0"),
        ("ingest.topic", "task-status-updates"),
        ("ingest.dlq.topic", ""),
        ("ingest.topic.partitions", "12"),
        ("ingest.poll.max.records", "10000"),
        ("ingest.poll.max.wait.ms", "10"),
        ("ingest.retry.initial.backoff.ms", "200"),
        ("ingest.retry.max.backoff.ms", "30000"),
        ("ingest.retry.budget.ms", "0"),
        ("ingest.shutdown.timeout.ms", "30000"),
        ("log.level", "info"),
        ("log.format", "auto"),
        ("metrics.host", "127.0.0.1"),
        ("metrics.port", "9464"),
        ("health.stuck.after.ms", "0"),
        ("kafka.bootstrap.servers", "embedded"),
        ("kafka.group.id", "status-ingest"),
        ("kafka.auto.offset.reset", "earliest"),
        ("kafka.queued.max.messages.kbytes", "16384"),
        ("kafka.enable.idempotence", "true"),
        ("kafka.acks", "all"),
    ]

    /// Settings the worker needs for its guarantees; a file or variable that sets another value is rejected.
    static let fixedKafkaProperties: [String: String] = [
        "enable.auto.offset.store": "false",
        "enable.auto.commit": "false",
    ]

    public private(set) var values: [String: String]
    /// The source of each value (default, file, variable or `--set`), for `config show` and error messages.
    public private(set) var origins: [String: String]

    public init(values: [String: String] = [:]) {
        self.values = [:]
        self.origins = [:]
        for (key, value) in Configuration.defaults {
            self.values[key] = value
            self.origins[key] = "default"
        }
        for (key, value) in values {
            self.values[key] = value
            self.origins[key] = "argument"
        }
    }

    // MARK: - Loading

    /// Reads `path` (when given, else `config/status-ingest.properties` if present) over the defaults,
    /// then applies `STATUS_INGEST_*` variables from `environment`.
    public static func load(path: String?, environment: [String: String]) throws -> Configuration {
        var configuration = Configuration()
        let filePath = path ?? environment["STATUS_INGEST_CONFIG"] ?? defaultFilePathIfPresent()
        if let filePath {
            // FileHandle rather than FileManager.contents, which returns nil for /dev/null.
            guard let handle = FileHandle(forReadingAtPath: filePath), let data = try? handle.readToEnd() ?? Data() else {
                throw ConfigurationError("cannot read configuration file \(filePath): it does not exist or is not readable")
            }
            guard let text = String(data: data, encoding: .utf8) else {
                throw ConfigurationError("configuration file \(filePath) is not UTF-8 text")
            }
            for (key, value) in try PropertiesFile.parse(text, path: filePath) {
                configuration.values[key] = value
                configuration.origins[key] = filePath
            }
        }
        configuration.applyEnvironment(environment)
        try configuration.validate()
        return configuration
    }

    private static func defaultFilePathIfPresent() -> String? {
        let candidate = "config/status-ingest.properties"
        return FileManager.default.fileExists(atPath: candidate) ? candidate : nil
    }

    mutating func applyEnvironment(_ environment: [String: String]) {
        let prefix = "STATUS_INGEST_"
        var knownByVariable: [String: String] = [:]
        for key in values.keys {
            knownByVariable[Configuration.variableName(for: key)] = key
        }
        for (variable, value) in environment where variable.hasPrefix(prefix) && variable != "STATUS_INGEST_CONFIG" {
            if let key = knownByVariable[variable] {
                set(key, value, origin: "environment \(variable)")
            } else if variable.hasPrefix(prefix + "KAFKA_") {
                // librdkafka's property names use dots only, so underscores map back to dots.
                let property = variable.dropFirst(prefix.count + "KAFKA_".count).lowercased().replacingOccurrences(of: "_", with: ".")
                set("kafka." + property, value, origin: "environment \(variable)")
            }
        }
    }

    public static func variableName(for key: String) -> String {
        "STATUS_INGEST_" + key.uppercased().replacingOccurrences(of: ".", with: "_").replacingOccurrences(of: "-", with: "_")
    }

    public mutating func set(_ key: String, _ value: String, origin: String = "argument") {
        values[key] = value
        origins[key] = origin
    }

    func validate() throws {
        let known = Set(Configuration.defaults.map(\.key))
        for key in values.keys.sorted() where !known.contains(key) && !key.hasPrefix("kafka.") {
            throw ConfigurationError(
                "unknown setting \(key) (from \(origins[key] ?? "unknown")): config/status-ingest.properties lists every setting, and kafka.* keys go to librdkafka")
        }
        for (property, required) in Configuration.fixedKafkaProperties {
            if let given = values["kafka." + property], given != required {
                throw ConfigurationError(
                    "kafka.\(property)=\(given) is not supported: the worker commits offsets itself, only after records are applied or dead-lettered; remove the setting")
            }
        }
        _ = try storeURL
        _ = try integer("store.connections", range: 0...64)
        _ = try integer("ingest.topic.partitions", range: 1...10_000)
        _ = try integer("ingest.poll.max.records", range: 1...1_000_000)
        _ = try integer("ingest.poll.max.wait.ms", range: 0...60_000)
        _ = try integer("ingest.retry.initial.backoff.ms", range: 1...3_600_000)
        _ = try integer("ingest.retry.max.backoff.ms", range: 1...3_600_000)
        _ = try integer("ingest.retry.budget.ms", range: 0...Int.max)
        _ = try integer("ingest.shutdown.timeout.ms", range: 0...3_600_000)
        _ = try logLevel
        _ = try logFormat
        _ = try integer("metrics.port", range: 0...65535)
        guard !string("metrics.host").trimmingCharacters(in: .whitespaces).isEmpty else {
            throw ConfigurationError("metrics.host is empty: set an address to listen on, such as 127.0.0.1 or 0.0.0.0")
        }
        _ = try healthStuckAfter
    }

    // MARK: - Typed access

    public func string(_ key: String) -> String { values[key] ?? "" }

    public func integer(_ key: String, range: ClosedRange<Int>) throws -> Int {
        let text = string(key).trimmingCharacters(in: .whitespaces)
        guard let value = Int(text), range.contains(value) else {
            throw ConfigurationError("\(key)=\(text) (from \(origins[key] ?? "default")) is invalid: expected a whole number from \(range.lowerBound) to \(range.upperBound)")
        }
        return value
    }

    public var storeURL: String {
        get throws {
            let url = string("store.url")
            guard url.hasPrefix("sqlite:") || url.hasPrefix("postgresql://") || url.hasPrefix("postgres://") else {
                throw ConfigurationError("store.url=\(url) is invalid: expected sqlite:PATH or a postgresql:// URL")
            }
            return url
        }
    }

    public var ingestTopic: String { string("ingest.topic") }

    /// The dead-letter topic: `ingest.dlq.topic`, or the input topic plus `.dlq` when that is empty.
    public var deadLetterTopic: String {
        let topic = string("ingest.dlq.topic")
        return topic.isEmpty ? ingestTopic + ".dlq" : topic
    }

    public var logLevel: Logger.Level {
        get throws {
            guard let level = Logger.Level(name: string("log.level")) else {
                throw ConfigurationError("log.level=\(string("log.level")) is invalid: expected debug, info, warning or error")
            }
            return level
        }
    }

    /// The log format. `auto` is text when standard error is a terminal and JSON lines otherwise,
    /// because a log collector parses JSON and a person reads text.
    public var logFormat: Logger.Format {
        get throws {
            let name = string("log.format")
            if name == "auto" {
                return isatty(STDERR_FILENO) == 1 ? .text : .json
            }
            guard let format = Logger.Format(rawValue: name) else {
                throw ConfigurationError("log.format=\(name) is invalid: expected auto, text or json")
            }
            return format
        }
    }

    /// How long the worker may go without polling Kafka before `/healthz` fails: `health.stuck.after.ms`,
    /// or when that is 0, three times `kafka.max.poll.interval.ms` (librdkafka's default is 300000).
    public var healthStuckAfter: Duration {
        get throws {
            let configured = try integer("health.stuck.after.ms", range: 0...86_400_000)
            if configured > 0 {
                return .milliseconds(configured)
            }
            let pollInterval = values["kafka.max.poll.interval.ms"] == nil
                ? 300_000 : try integer("kafka.max.poll.interval.ms", range: 1...86_400_000)
            return .milliseconds(3 * pollInterval)
        }
    }

    /// The librdkafka properties: every `kafka.*` key without its prefix, plus the worker's fixed settings.
    public var kafkaProperties: [String: String] {
        var properties: [String: String] = [:]
        for (key, value) in values where key.hasPrefix("kafka.") {
            properties[String(key.dropFirst("kafka.".count))] = value
        }
        for (property, value) in Configuration.fixedKafkaProperties {
            properties[property] = value
        }
        return properties
    }

    /// Whether `kafka.bootstrap.servers=embedded` requests an in-process mock cluster.
    public var usesEmbeddedBroker: Bool { string("kafka.bootstrap.servers") == "embedded" }

    /// Returns every setting with its value and origin, secrets masked, for `config show`.
    public func describe() -> [(key: String, value: String, origin: String)] {
        values.keys.sorted().map { key in
            (key, Configuration.redacted(key: key, value: values[key] ?? ""), origins[key] ?? "default")
        }
    }

    /// Returns the value as it may be printed or logged: secrets masked, a URL's password removed.
    public static func redacted(key: String, value: String) -> String {
        let lowered = key.lowercased()
        let secretWords = ["password", "secret", "token", "sasl.oauthbearer.config", "key.pem", "keystore", "key.password"]
        if secretWords.contains(where: { lowered.contains($0) }) {
            return value.isEmpty ? "" : "********"
        }
        return redactingURLPassword(value)
    }

    /// Replaces the password of `scheme://user:password@host…`, and of a `password=` query parameter
    /// (which libpq accepts too), with `********`.
    static func redactingURLPassword(_ value: String) -> String {
        redactingUserInfoPassword(redactingQueryPassword(value))
    }

    private static func redactingQueryPassword(_ value: String) -> String {
        guard value.contains("://"), let question = value.firstIndex(of: "?") else { return value }
        let parameters = value[value.index(after: question)...].split(separator: "&", omittingEmptySubsequences: false).map { parameter in
            let name = parameter.split(separator: "=", maxSplits: 1).first.map { $0.lowercased() } ?? ""
            return name == "password" ? "password=********" : String(parameter)
        }
        return String(value[...question]) + parameters.joined(separator: "&")
    }

    private static func redactingUserInfoPassword(_ value: String) -> String {
        guard let schemeEnd = value.range(of: "://"),
              let at = value[schemeEnd.upperBound...].firstIndex(of: "@"),
              let colon = value[schemeEnd.upperBound..<at].firstIndex(of: ":") else {
            return value
        }
        return String(value[..<value.index(after: colon)]) + "********" + String(value[at...])
    }
}

/// A setting that is missing, malformed or out of range.
public struct ConfigurationError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}
