import Foundation
import Kafka
import StatusCore
import StatusIngest
import XCTest

/// Collects what an operator command writes, for assertions.
final class CapturedOutput: @unchecked Sendable {
    private let lock = NSLock()
    private var written = ""
    private var progressWritten = ""

    func output(progressIsTerminal: Bool = false) -> CommandOutput {
        CommandOutput(
            write: { text in self.lock.withLock { self.written += text } },
            progress: { text in self.lock.withLock { self.progressWritten += text } },
            progressIsTerminal: progressIsTerminal)
    }

    var text: String { lock.withLock { written } }
    var progress: String { lock.withLock { progressWritten } }
    var lines: [String] { text.split(separator: "\n").map(String.init) }
}

extension WorkerHarness {
    /// The configuration an operator would use against this harness's cluster and store.
    var configuration: Configuration {
        Configuration(values: [
            "kafka.bootstrap.servers": cluster.bootstrapServers,
            "kafka.group.id": "status-ingest-test",
            "kafka.topic.metadata.refresh.interval.ms": "1000",
            "store.url": storeURL,
            "ingest.topic": topic,
            "log.level": "error",
        ])
    }

    /// Runs `status-ingest dlq ARGUMENTS` and returns the exit status and what it wrote.
    func dlq(_ arguments: [String]) throws -> (status: Int32, output: CapturedOutput) {
        let captured = CapturedOutput()
        let status = try DeadLetterCommands.run(arguments, configuration: configuration, logger: TestEnvironment.logger, output: captured.output())
        return (status, captured)
    }

    /// Every record of `topic`, read by assignment.
    func records(of topic: String) throws -> [KafkaMessage] {
        var messages: [KafkaMessage] = []
        try DeadLetterReader.read(topic: topic, kafkaProperties: kafka) { messages.append($0) }
        return messages
    }
}

extension Fixture {
    /// An NDJSON line of the samples' event format.
    static func eventLine(key: UUID?, value: [UInt8]) -> String {
        let keyText = key.map { "\"\($0.uuidString.lowercased())\"" } ?? "null"
        return "{\"key\":\(keyText),\"value_base64\":\"\(Data(value).base64EncodedString())\"}"
    }
}
