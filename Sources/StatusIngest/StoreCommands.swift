import Foundation
import StatusStore

/// `status-ingest store migrate | import-executions FILE | stats | prune-applied`.
enum StoreCommands {
    static func run(_ arguments: [String], configuration: Configuration, logger: Logger) throws -> Int32 {
        guard let subcommand = arguments.first else {
            throw UsageError("store needs a subcommand: migrate, import-executions FILE, stats or prune-applied")
        }
        let rest = Array(arguments.dropFirst())
        let store = try StoreFactory.open(url: try configuration.storeURL)
        defer { store.close() }

        switch subcommand {
        case "migrate":
            guard rest.isEmpty else { throw UsageError("store migrate takes no arguments") }
            let versions = try store.migrate()
            let event: String
            switch (versions.before, versions.after) {
            case (let before, let after) where before == after: event = "schema is up to date"
            case (0, _): event = "schema created"
            default: event = "schema migrated"
            }
            logger.info(event, [
                "store": .string(Configuration.redactingURLPassword(try configuration.storeURL)),
                "from_version": .int(versions.before), "to_version": .int(versions.after),
            ])
        case "import-executions":
            guard rest.count == 1 else { throw UsageError("store import-executions needs exactly one NDJSON file") }
            let executions = try ExecutionFile.load(path: rest[0])
            try store.migrate()
            let written = try store.importExecutions(executions)
            logger.info("flow executions imported", ["file": .string(rest[0]), "executions": .int(written)])
        case "stats":
            guard rest.isEmpty else { throw UsageError("store stats takes no arguments") }
            do {
                print(statsJSON(try store.stats()))
            } catch let error as StoreError {
                throw StoreCommandError(
                    "cannot read the store's figures: \(error.description). A new store has no tables until 'status-ingest store migrate' creates them.")
            }
        case "prune-applied":
            return try AppliedRecordPruning.run(rest, configuration: configuration, store: store, logger: logger)
        default:
            throw UsageError("unknown store subcommand '\(subcommand)': expected migrate, import-executions FILE, stats or prune-applied")
        }
        return 0
    }

    static func statsJSON(_ stats: StoreStats) -> String {
        """
        {
          "history_rows": \(stats.historyRows),
          "task_states": \(stats.taskStates),
          "task_states_sha256": "\(stats.taskStatesSHA256)",
          "executions_awaiting_input": \(stats.executionsAwaitingInput),
          "executions": \(stats.executions)
        }
        """
    }
}

/// A store command that failed, with what to do next.
struct StoreCommandError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
