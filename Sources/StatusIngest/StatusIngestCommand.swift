import Foundation
import Kafka
import StatusStore

/// The `status-ingest` command line: reads global options, loads the configuration and runs one command.
public enum StatusIngestCommand {
    static let usage = """
        usage: status-ingest [--config FILE] [--set KEY=VALUE]... COMMAND [OPTIONS]

        Reads task-status updates from Kafka and records them in the store, dead-lettering
        records that can never be applied.

        commands:
          run [--until-drained]           consume until SIGINT/SIGTERM; with --until-drained, exit 0
                                          once every assigned partition is caught up and committed
          backfill [--from-beginning | --from-time TIME | --offsets P:START[-END],...]
                   [--topic TOPIC] [--group GROUP]
                                          read the input topic again, up to its end when the backfill
                                          starts, in a group of its own (default: kafka.group.id plus
                                          -backfill); TIME is RFC 3339, END is exclusive
          backfill --file FILE [--source-name NAME]
                                          apply an NDJSON file of records ({"key", "value"}) directly;
                                          a second run over the same file changes nothing
                   both forms: [--progress-interval-ms N]
                                          least time between progress reports (default 1000)
          dlq list [FILTERS] [--limit N] [--json]
                                          list dead letters: failed at, execution, task, code, message,
                                          source; --json prints one JSON object per line
          dlq show PARTITION:OFFSET | --source [TOPIC/]PARTITION:OFFSET [--json]
                                          one dead letter in full: error body, original value, headers
          dlq stats [FILTERS] [--json]    dead letters by code, by execution and by hour
          dlq replay (PARTITION:OFFSET... | FILTERS | --all) [--limit N] [--dry-run] [--max-replays N] [--topic T]
                                          send the originals back to ingest.topic byte for byte with a
                                          dlq.replay.count header; records replayed N times (default 3)
                                          are rejected
                                          FILTERS: --code, --execution, --organization (comma-separated
                                          lists), --since, --until (RFC 3339; until is exclusive)
          dev-broker [--partitions N]     start librdkafka's mock cluster on loopback, create the
                     [--brokers N]        topics, print the bootstrap address, run until stopped
          produce FILE [--topic TOPIC]    send the records of an NDJSON file ({"key", "value" or
                [--rate N] [--limit N]    "value_base64"}) in file order (default: ingest.topic);
                                          --rate caps records per second, --limit sends the first N
          store migrate                   create or upgrade the store's schema
          store import-executions FILE    load flow executions from NDJSON, one a line
          store stats                     print the store's figures as JSON
          store prune-applied [--topic T[,T…]] [--dry-run] [--batch-size N]
                                          delete the duplicate-check rows of records that Kafka has
                                          deleted (offsets below each partition's log start offset);
                                          default topic: ingest.topic, batches of 10000 rows
          demo [--sample DIR] [--store URL]
                                          run a sample end to end on an embedded broker and a fresh
                                          store, print a summary, and compare it with the sample's
                                          expected.json (exit 1 when they differ)
          config show                     print every setting, its value and where it came from
                                          (secrets masked)
          version                         print the version

        global options (before or after the command):
          --config FILE      properties file (default: $STATUS_INGEST_CONFIG, else
                             config/status-ingest.properties when it exists, else built-in defaults)
          --set KEY=VALUE    override one setting, after the file and the environment
        """

    /// Runs the command line `arguments` (without the program name) and returns the exit status.
    public static func main(_ arguments: [String], environment: [String: String] = ProcessInfo.processInfo.environment) -> Int32 {
        do {
            return try dispatch(arguments, environment: environment)
        } catch let error as UsageError {
            printError("status-ingest: \(error.description)\nRun 'status-ingest help' for the commands and their options.")
            return 2
        } catch let error as ConfigurationError {
            printError("status-ingest: configuration: \(error.description)")
            return 2
        } catch let error as KafkaError where brokerUnreachableCodes.contains(error.code) {
            let servers = environment["STATUS_INGEST_KAFKA_BOOTSTRAP_SERVERS"] ?? "kafka.bootstrap.servers"
            printError("""
                status-ingest: cannot reach Kafka: \(error)
                Check the brokers in \(servers == "kafka.bootstrap.servers" ? servers : "STATUS_INGEST_KAFKA_BOOTSTRAP_SERVERS=\(servers)"), \
                or start a local mock cluster with 'status-ingest dev-broker' and use the address it prints.
                """)
            return 1
        } catch {
            printError("status-ingest: \(error)")
            return 1
        }
    }

    /// Removes `--config FILE` and `--set KEY=VALUE` from anywhere before a `--`, so that they work
    /// after the command too (`status-ingest config show --set ingest.topic=orders`).
    static func extractGlobalOptions(
        _ arguments: [String], configPath: inout String?, overrides: inout [(String, String)]
    ) throws -> [String] {
        var remaining: [String] = []
        var index = 0
        while index < arguments.count {
            let argument = arguments[index]
            index += 1
            if argument == "--" {
                remaining.append(contentsOf: arguments[(index - 1)...])
                break
            }
            let (name, inline) = splitOption(argument)
            switch name {
            case "--config":
                guard let value = inline ?? (index < arguments.count ? arguments[index] : nil) else {
                    throw UsageError("option --config needs a file path")
                }
                if inline == nil { index += 1 }
                configPath = value
            case "--set":
                guard let value = inline ?? (index < arguments.count ? arguments[index] : nil), let equals = value.firstIndex(of: "=") else {
                    throw UsageError("option --set needs KEY=VALUE")
                }
                if inline == nil { index += 1 }
                overrides.append((String(value[..<equals]), String(value[value.index(after: equals)...])))
            default:
                remaining.append(argument)
            }
        }
        return remaining
    }

    /// librdkafka's codes for brokers that could not be reached: `_TRANSPORT`, `_TIMED_OUT`,
    /// `_ALL_BROKERS_DOWN`, `_RESOLVE`.
    static let brokerUnreachableCodes: Set<Int32> = [-195, -185, -187, -193]

    static func dispatch(_ arguments: [String], environment: [String: String]) throws -> Int32 {
        var configPath: String?
        var overrides: [(String, String)] = []
        var rest = try extractGlobalOptions(arguments, configPath: &configPath, overrides: &overrides)[...]
        while let first = rest.first, first.hasPrefix("--") {
            rest = rest.dropFirst()
            switch splitOption(first).0 {
            case "--help":
                print(usage)
                return 0
            case "--version":
                print(StatusIngestVersion.current)
                return 0
            default:
                throw UsageError("unknown option \(first)")
            }
        }
        guard let command = rest.popFirst() else {
            print(usage)
            return 2
        }
        if command == "help" || command == "-h" {
            print(usage)
            return 0
        }
        if command == "version" {
            print(StatusIngestVersion.current)
            return 0
        }

        var configuration = try Configuration.load(path: configPath, environment: environment)
        for (key, value) in overrides {
            configuration.set(key, value, origin: "--set")
        }
        try configuration.validate()
        let logger = Logger(level: try configuration.logLevel, format: try configuration.logFormat)
        KafkaLogRouting.install(logger: logger)

        let arguments = Array(rest)
        if arguments.contains("--help") || arguments.contains("-h") {
            print(usage)
            return 0
        }
        switch command {
        case "run": return try RunCommand.run(arguments, configuration: configuration, logger: logger)
        case "backfill":
            let stopSignal = StopSignal()
            stopSignal.installSignalHandlers { _ in logger.info("stop requested; the backfill ends after the current chunk") }
            return try BackfillCommand.run(arguments, configuration: configuration, logger: logger, stopSignal: stopSignal)
        case "dlq": return try DeadLetterCommands.run(arguments, configuration: configuration, logger: logger)
        case "dev-broker": return try BrokerCommands.devBroker(arguments, configuration: configuration, logger: logger)
        case "produce": return try BrokerCommands.produce(arguments, configuration: configuration, logger: logger)
        case "store": return try StoreCommands.run(arguments, configuration: configuration, logger: logger)
        case "demo": return try DemoCommand.run(arguments, configuration: configuration, logger: logger)
        case "config": return try configCommand(arguments, configuration: configuration)
        default: throw UsageError("unknown command '\(command)'")
        }
    }

    private static func configCommand(_ arguments: [String], configuration: Configuration) throws -> Int32 {
        guard arguments == ["show"] else {
            throw UsageError("config takes one subcommand, 'config show', without options; got 'config \(arguments.joined(separator: " "))'")
        }
        // Settings whose empty or zero value means "derived from another setting" show what is used.
        var inEffect: [String: String] = [:]
        if configuration.string("ingest.dlq.topic").isEmpty {
            inEffect["ingest.dlq.topic"] = configuration.deadLetterTopic
        }
        if configuration.string("store.connections") == "0", let url = try? configuration.storeURL {
            inEffect["store.connections"] = String(StoreConnections.defaultCount(for: url))
        }
        for entry in configuration.describe() {
            let note = inEffect[entry.key].map { ", in effect: \($0)" } ?? ""
            print("\(entry.key)=\(entry.value)    # \(entry.origin)\(note)")
        }
        return 0
    }

    private static func splitOption(_ argument: String) -> (String, String?) {
        guard let equals = argument.firstIndex(of: "=") else { return (argument, nil) }
        return (String(argument[..<equals]), String(argument[argument.index(after: equals)...]))
    }

    static func printError(_ text: String) {
        FileHandle.standardError.write(Data((text + "\n").utf8))
    }
}
