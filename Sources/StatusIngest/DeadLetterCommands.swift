import Foundation
import Kafka
import StatusCore

/// `status-ingest dlq list | show | stats | replay`: reads the dead-letter topic by assignment, never
/// joining or committing a group, and sends selected records back to the input topic.
public enum DeadLetterCommands {
    static let usage = """
        usage: status-ingest dlq list   [FILTERS] [--limit N] [--json]
               status-ingest dlq show   PARTITION:OFFSET | --source [TOPIC/]PARTITION:OFFSET  [--json]
               status-ingest dlq stats  [FILTERS] [--json]
               status-ingest dlq replay (PARTITION:OFFSET... | FILTERS | --all) [--limit N] [--dry-run]
                                        [--max-replays N] [--topic TOPIC]
        filters: --code CODE, --execution ID, --organization ID (each may be a comma-separated list),
                 --since TIME, --until TIME (RFC 3339; since inclusive, until exclusive)
        """

    static let filterOptions: Set<String> = ["code", "execution", "organization", "since", "until", "limit"]

    /// Runs one `dlq` subcommand and returns the exit status.
    ///
    /// - Throws: `UsageError` for arguments that do not fit, `KafkaError` when the topic cannot be read.
    public static func run(
        _ arguments: [String],
        configuration: Configuration,
        logger: Logger,
        output: CommandOutput = .standard
    ) throws -> Int32 {
        guard let subcommand = arguments.first else {
            throw UsageError("dlq needs a subcommand: list, show, stats or replay\n\(usage)")
        }
        let rest = Array(arguments.dropFirst())
        switch subcommand {
        case "list": return try list(rest, configuration: configuration, output: output)
        case "show": return try show(rest, configuration: configuration, output: output)
        case "stats": return try stats(rest, configuration: configuration, output: output)
        case "replay": return try replay(rest, configuration: configuration, logger: logger, output: output)
        default: throw UsageError("unknown dlq subcommand '\(subcommand)': expected list, show, stats or replay")
        }
    }

    /// Fails when the configuration names no broker: checked after the arguments, so that a mistake
    /// in them is reported first.
    private static func requireBroker(_ configuration: Configuration) throws {
        guard !configuration.usesEmbeddedBroker else {
            throw UsageError("""
                dlq reads the dead-letter topic of a running broker, but kafka.bootstrap.servers=embedded starts \
                an empty one; set STATUS_INGEST_KAFKA_BOOTSTRAP_SERVERS to the broker's address
                """)
        }
    }

    // MARK: - list

    private static func list(_ arguments: [String], configuration: Configuration, output: CommandOutput) throws -> Int32 {
        let parsed = try CommandLineArguments(arguments, flags: ["json"], options: filterOptions)
        guard parsed.positionals.isEmpty else { throw UsageError("dlq list takes no positional arguments, found '\(parsed.positionals[0])'") }
        let query = try parseQuery(parsed)
        try requireBroker(configuration)
        let records = try query.read(topic: configuration.deadLetterTopic, kafkaProperties: configuration.kafkaProperties)

        if parsed.flags.contains("json") {
            for record in records {
                output.line(summaryJSON(record).jsonText)
            }
            return 0
        }
        let rows = records.map { record in
            [
                record.failedAt.map(RFC3339Text.format) ?? "-",
                record.executionID ?? "-",
                TablePrinter.truncate(record.taskNames.isEmpty ? "-" : record.taskNames.joined(separator: ","), to: 30),
                record.code,
                TablePrinter.truncate(record.message, to: 60),
                record.sourceDescription,
                record.coordinates,
            ]
        }
        output.line(TablePrinter.render(headers: ["FAILED AT", "EXECUTION", "TASK", "CODE", "MESSAGE", "SOURCE", "DLQ"], rows: rows))
        output.line("\(records.count) dead letters")
        return 0
    }

    /// Builds one line of `dlq list --json`.
    static func summaryJSON(_ record: DeadLetterRecord) -> JSONValue {
        .object([
            JSONMember("dlq_partition", .integer(record.partition)),
            JSONMember("dlq_offset", .integer(record.offset)),
            JSONMember("failed_at", record.failedAt.map { .string(RFC3339Text.format($0)) } ?? .null),
            JSONMember("flow_execution_id", record.executionID.map(JSONValue.string) ?? .null),
            JSONMember("organization_id", record.organizationID.map(JSONValue.string) ?? .null),
            JSONMember("task_names", .array(record.taskNames.map(JSONValue.string))),
            JSONMember("code", .string(record.code)),
            JSONMember("status_code", record.statusCode.map { .integer($0) } ?? .null),
            JSONMember("message", .string(record.message)),
            JSONMember("request_id", record.requestID.map(JSONValue.string) ?? .null),
            JSONMember("source", .object([
                JSONMember("topic", record.sourceTopic.map(JSONValue.string) ?? .null),
                JSONMember("partition", record.sourcePartition.map { .integer($0) } ?? .null),
                JSONMember("offset", record.sourceOffset.map { .integer($0) } ?? .null),
            ])),
            JSONMember("replay_count", .integer(record.replayCount)),
            JSONMember("value_format", .string(record.valueFormat)),
        ])
    }

    // MARK: - show

    private static func show(_ arguments: [String], configuration: Configuration, output: CommandOutput) throws -> Int32 {
        let parsed = try CommandLineArguments(arguments, flags: ["json"], options: ["source"])
        let matches: (DeadLetterRecord) -> Bool
        let wanted: String
        if let source = parsed.options["source"] {
            guard parsed.positionals.isEmpty else { throw UsageError("dlq show takes either PARTITION:OFFSET or --source, not both") }
            let (topic, partition, offset) = try parseSource(source, defaultTopic: configuration.ingestTopic)
            wanted = "the dead letter of \(topic)/\(partition):\(offset)"
            matches = { $0.sourceTopic == topic && $0.sourcePartition == partition && $0.sourceOffset == offset }
        } else {
            guard parsed.positionals.count == 1 else {
                throw UsageError("dlq show needs one PARTITION:OFFSET of the dead-letter topic, or --source [TOPIC/]PARTITION:OFFSET")
            }
            let (partition, offset) = try parseCoordinates(parsed.positionals[0])
            wanted = "\(configuration.deadLetterTopic)/\(partition):\(offset)"
            matches = { $0.partition == partition && $0.offset == offset }
        }

        try requireBroker(configuration)
        var found: [DeadLetterRecord] = []
        try DeadLetterReader.read(topic: configuration.deadLetterTopic, kafkaProperties: configuration.kafkaProperties) { message in
            let record = DeadLetterRecord(message: message)
            if matches(record) { found.append(record) }
        }
        guard !found.isEmpty else {
            output.line("not found: \(wanted) is not on \(configuration.deadLetterTopic); 'dlq list' shows what is")
            return 1
        }
        for (index, record) in found.enumerated() {
            if index > 0 { output.line("") }
            output.line(parsed.flags.contains("json") ? detailJSON(record).jsonText : detailText(record, topic: configuration.deadLetterTopic))
        }
        return 0
    }

    static func detailText(_ record: DeadLetterRecord, topic: String) -> String {
        var lines = [
            "Dead letter \(topic)/\(record.coordinates)",
            "  failed at:    \(record.failedAt.map(RFC3339Text.format) ?? "-")",
            "  code:         \(record.code) (\(record.statusCode.map(String.init) ?? "?"))",
            "  message:      \(record.message)",
            "  request id:   \(record.requestID ?? "-")",
            "  execution:    \(record.executionID ?? "-")",
            "  tasks:        \(record.taskNames.isEmpty ? "-" : record.taskNames.joined(separator: ", "))",
            "  source:       \(record.sourceDescription)\(record.sourceTimestamp.map { " at \($0)" } ?? "")",
            "  key:          \(record.key.map(PrettyJSON.escapedBytes) ?? "(none)")",
            "  value format: \(record.valueFormat)",
            "  replays:      \(record.replayCount)",
        ]
        if let worker = record.worker {
            lines.append("  worker:       \(worker.jsonText)")
        }
        lines.append(contentsOf: ["", "Error body:"])
        lines.append(record.errorBody.map { PrettyJSON.format($0, indent: "") } ?? "(missing)")
        lines.append(contentsOf: ["", "Original value (\(record.originalValue.map { "\($0.count) bytes" } ?? "none")):"])
        if !record.hasOriginalValue {
            lines.append("(cannot be recovered from this record)")
        } else if let value = record.originalValue {
            if let document = try? JSONParser.parse(value) {
                lines.append(PrettyJSON.format(document))
            } else {
                lines.append(PrettyJSON.escapedBytes(value))
            }
        } else {
            lines.append("(null: a tombstone)")
        }
        lines.append(contentsOf: ["", "Original headers:"])
        lines.append(contentsOf: headerLines(record.originalHeaders))
        lines.append(contentsOf: ["", "Dead-letter record headers:"])
        lines.append(contentsOf: headerLines(record.headers))
        return lines.joined(separator: "\n")
    }

    private static func headerLines(_ headers: [KafkaHeader]) -> [String] {
        guard !headers.isEmpty else { return ["  (none)"] }
        return headers.map { "  \($0.key): \($0.value.map(PrettyJSON.escapedBytes) ?? "(null)")" }
    }

    static func detailJSON(_ record: DeadLetterRecord) -> JSONValue {
        guard case .object(var members) = summaryJSON(record) else { return .null }
        members.append(JSONMember("error_body", record.errorBody ?? .null))
        members.append(JSONMember("original_value_base64", record.originalValue.map { .string(Data($0).base64EncodedString()) } ?? .null))
        members.append(JSONMember("original_value", record.originalValue.flatMap { try? JSONParser.parse($0) } ?? .null))
        members.append(JSONMember("original_headers", headersJSON(record.originalHeaders)))
        members.append(JSONMember("headers", headersJSON(record.headers)))
        return .object(members)
    }

    private static func headersJSON(_ headers: [KafkaHeader]) -> JSONValue {
        .array(headers.map { header in
            .object([
                JSONMember("key", .string(header.key)),
                JSONMember("value_base64", header.value.map { .string(Data($0).base64EncodedString()) } ?? .null),
            ])
        })
    }

    // MARK: - stats

    private static func stats(_ arguments: [String], configuration: Configuration, output: CommandOutput) throws -> Int32 {
        let parsed = try CommandLineArguments(arguments, flags: ["json"], options: filterOptions)
        guard parsed.positionals.isEmpty else { throw UsageError("dlq stats takes no positional arguments, found '\(parsed.positionals[0])'") }
        let query = try parseQuery(parsed)
        try requireBroker(configuration)
        let statistics = try query.statistics(topic: configuration.deadLetterTopic, kafkaProperties: configuration.kafkaProperties)
        output.line(parsed.flags.contains("json") ? PrettyJSON.format(statistics.json) : statistics.text())
        return 0
    }

    // MARK: - replay

    private static func replay(_ arguments: [String], configuration: Configuration, logger: Logger, output: CommandOutput) throws -> Int32 {
        let parsed = try CommandLineArguments(
            arguments, flags: ["dry-run", "all"], options: filterOptions.union(["max-replays", "topic"]))
        var query = try parseQuery(parsed)
        for text in parsed.positionals {
            let (partition, offset) = try parseCoordinates(text)
            query.coordinates.insert("\(partition):\(offset)")
        }
        guard !query.selectsEverything || parsed.flags.contains("all") else {
            throw UsageError("dlq replay needs PARTITION:OFFSET arguments or a filter; pass --all to replay every dead letter")
        }
        let maximumReplays = try parsed.integer("max-replays", default: 3, range: 0...1_000)
        let topic = parsed.options["topic"] ?? configuration.ingestTopic
        let dryRun = parsed.flags.contains("dry-run")
        try requireBroker(configuration)

        let records = try query.read(topic: configuration.deadLetterTopic, kafkaProperties: configuration.kafkaProperties)
        let replay = DeadLetterReplay(topic: topic, maximumReplays: maximumReplays, kafkaProperties: configuration.kafkaProperties)
        let outcomes = try replay.run(records, dryRun: dryRun)

        var sent = 0
        var rejected = 0
        var failed = 0
        for (record, outcome) in zip(records, outcomes) {
            let what = "\(configuration.deadLetterTopic)/\(record.coordinates) (\(record.code), execution \(record.executionID ?? "-"))"
            switch outcome {
            case .sent(let partition, let replayCount):
                sent += 1
                let destination = "\(topic)/\(partition.map(String.init) ?? "by key")"
                let size = record.originalValue.map { "\($0.count) bytes" } ?? "tombstone"
                output.line("\(dryRun ? "would send" : "sent") \(what) to \(destination), \(size), replay \(replayCount)")
            case .rejected(let reason):
                rejected += 1
                output.line("rejected \(what): \(reason)")
            case .failed(let reason):
                failed += 1
                output.line("failed \(what): \(reason)")
            }
        }
        output.line("\(dryRun ? "would send" : "sent") \(sent), rejected \(rejected), failed \(failed) of \(records.count) selected dead letters")
        if !dryRun {
            logger.info("dead letters replayed", [
                "dlq_topic": .string(configuration.deadLetterTopic), "topic": .string(topic),
                "sent": .int(sent), "rejected": .int(rejected), "failed": .int(failed),
            ])
        }
        return rejected + failed > 0 ? 1 : 0
    }

    // MARK: - Arguments

    static func parseQuery(_ parsed: CommandLineArguments) throws -> DeadLetterQuery {
        var query = DeadLetterQuery()
        func list(_ name: String) -> Set<String> {
            Set((parsed.options[name] ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty })
        }
        query.codes = list("code")
        // `unknown` is what `dlq stats` shows for a record whose error code could not be read.
        let knownCodes = Set(ErrorCode.allCases.map(\.rawValue)).union([DeadLetterRecord.unknownCode])
        if let unknown = query.codes.subtracting(knownCodes).sorted().first {
            throw UsageError("--code \(unknown) is not an error code: expected \(knownCodes.sorted().joined(separator: ", "))")
        }
        query.executionIDs = Set(list("execution").map { $0.lowercased() })
        query.organizationIDs = Set(list("organization").map { $0.lowercased() })
        for name in ["since", "until"] {
            guard let text = parsed.options[name] else { continue }
            guard let date = RFC3339.parse(text) else {
                throw UsageError("--\(name) \(text) is invalid: expected an RFC 3339 time such as 2026-12-04T21:00:00Z")
            }
            if name == "since" { query.since = date } else { query.until = date }
        }
        if let since = query.since, let until = query.until, since > until {
            throw UsageError("--since \(parsed.options["since"] ?? "") is later than --until \(parsed.options["until"] ?? ""): nothing could match")
        }
        if parsed.options["limit"] != nil {
            query.limit = try parsed.integer("limit", default: 0, range: 1...Int.max)
        }
        return query
    }

    static func parseCoordinates(_ text: String) throws -> (Int32, Int64) {
        let parts = text.split(separator: ":")
        guard parts.count == 2, let partition = Int32(parts[0]), let offset = Int64(parts[1]), partition >= 0, offset >= 0 else {
            throw UsageError("'\(text)' is invalid: expected PARTITION:OFFSET such as 3:1207")
        }
        return (partition, offset)
    }

    static func parseSource(_ text: String, defaultTopic: String) throws -> (String, Int32, Int64) {
        var topic = defaultTopic
        var coordinates = Substring(text)
        if let slash = text.lastIndex(of: "/") {
            topic = String(text[..<slash])
            coordinates = text[text.index(after: slash)...]
        }
        let (partition, offset) = try parseCoordinates(String(coordinates))
        return (topic, partition, offset)
    }
}
