import Foundation
import StatusStore

/// `status-ingest demo`: the quick start. Runs a sample end to end and compares it with its expected outcome.
enum DemoCommand {
    static func run(_ arguments: [String], configuration: Configuration, logger: Logger) throws -> Int32 {
        let parsed = try CommandLineArguments(arguments, flags: [], options: ["sample", "store"])
        let sample = parsed.options["sample"] ?? "samples/quickstart"
        let storeURL: String
        if let requested = parsed.options["store"] {
            storeURL = requested
            try requireEmptyStore(requested)
        } else {
            // A fresh file each time: the sample's records would otherwise be skipped as already applied.
            let path = "var/demo/status-ingest.sqlite"
            for suffix in ["", "-wal", "-shm"] {
                try? FileManager.default.removeItem(atPath: path + suffix)
            }
            storeURL = "sqlite:" + path
        }

        var sampleRun = SampleRun(
            sampleDirectory: sample, storeURL: storeURL,
            partitions: try configuration.integer("ingest.topic.partitions", range: 1...10_000), logger: logger)
        sampleRun.pollMaxRecords = try configuration.integer("ingest.poll.max.records", range: 1...1_000_000)
        sampleRun.kafkaOverrides = configuration.kafkaProperties.filter { $0.key != "bootstrap.servers" && $0.key != "group.id" }
        let outcome = try sampleRun.run()
        print(summary(outcome, sample: sample))
        let differences = outcome.differences
        if differences.isEmpty {
            print("Result: matches \(sample)/expected.json")
            return 0
        }
        print("Result: DIFFERS from \(sample)/expected.json:")
        for line in differences {
            print("  \(line)")
        }
        return 1
    }

    /// Fails unless the store has no history rows. The embedded broker is new on every run and its
    /// records carry new timestamps, so the store would take a second demo's records as new ones.
    private static func requireEmptyStore(_ url: String) throws {
        let store = try StoreFactory.open(url: url)
        defer { store.close() }
        try store.migrate()
        let rows = try store.stats().historyRows
        guard rows == 0 else {
            throw UsageError("""
                --store \(Configuration.redactingURLPassword(url)) already holds \(rows) history rows, but demo needs an \
                empty store: its embedded broker delivers the sample as new records every time. Remove the store or pass another --store.
                """)
        }
    }

    static func summary(_ outcome: SampleRun.Outcome, sample: String) -> String {
        let rate = outcome.seconds > 0 ? Int(Double(outcome.report.recordsRead) / outcome.seconds) : 0
        var lines = [
            "",
            "Sample:            \(sample)",
            "Records read:      \(outcome.report.recordsRead) (expected \(outcome.expected.records))",
            "History rows:      \(outcome.stats.historyRows) (expected \(outcome.expected.historyRows))",
            "Task states:       \(outcome.stats.taskStates) (expected \(outcome.expected.taskStates))",
            "Task states hash:  \(outcome.stats.taskStatesSHA256 == outcome.expected.taskStatesSHA256 ? "matches" : "DIFFERS: \(outcome.stats.taskStatesSHA256)") (expected \(outcome.expected.taskStatesSHA256.prefix(16))…)",
            "Awaiting input:    \(outcome.stats.executionsAwaitingInput) executions (expected \(outcome.expected.executionsAwaitingInput))",
            "Dead letters:      \(outcome.deadLettersByCode.values.reduce(0, +)) (expected \(outcome.expected.deadLetters))",
        ]
        for code in Set(outcome.deadLettersByCode.keys).union(outcome.expected.deadLettersByCode.keys).sorted() {
            lines.append("  \(code.padding(toLength: 17, withPad: " ", startingAt: 0))\(outcome.deadLettersByCode[code] ?? 0) (expected \(outcome.expected.deadLettersByCode[code] ?? 0))")
        }
        lines.append("Duplicates:        \(outcome.report.duplicates)")
        lines.append(String(format: "Time:              %.2f s from the first record consumed to the last commit", outcome.seconds))
        lines.append("Records/second:    \(rate)")
        return lines.joined(separator: "\n")
    }
}
