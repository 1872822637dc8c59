import Foundation
import StatusIngest
import XCTest

final class ConfigurationTests: XCTestCase {
    private func writeFile(_ text: String) throws -> String {
        let path = try TestEnvironment.temporaryDirectory() + "/test.properties"
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    func testShippedFileListsEveryDefault() throws {
        let path = TestEnvironment.repositoryRoot + "/config/status-ingest.properties"
        let text = try String(contentsOfFile: path, encoding: .utf8)
        var listed: [String: String] = [:]
        for line in text.split(separator: "\n") where !line.hasPrefix("#") && line.contains("=") {
            let parts = line.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            listed[String(parts[0])] = String(parts[1])
        }
        for (key, value) in Configuration.defaults {
            XCTAssertEqual(listed[key], value, "config/status-ingest.properties should list \(key)=\(value)")
        }
        XCTAssertEqual(listed.count, Configuration.defaults.count, "the file should list no setting the code does not know")
    }

    func testEnvironmentOverridesFile() throws {
        let path = try writeFile("store.url=sqlite:from-file.sqlite\ningest.topic=from-file\n")
        let configuration = try Configuration.load(path: path, environment: [
            "STATUS_INGEST_INGEST_TOPIC": "from-environment",
            "STATUS_INGEST_KAFKA_GROUP_ID": "group-from-environment",
            "STATUS_INGEST_KAFKA_SOCKET_TIMEOUT_MS": "1234",
        ])

        XCTAssertEqual(try configuration.storeURL, "sqlite:from-file.sqlite")
        XCTAssertEqual(configuration.ingestTopic, "from-environment")
        XCTAssertEqual(configuration.kafkaProperties["group.id"], "group-from-environment")
        XCTAssertEqual(configuration.kafkaProperties["socket.timeout.ms"], "1234")
    }

    func testDeadLetterTopicDefaultsToInputPlusSuffix() throws {
        var configuration = Configuration()
        XCTAssertEqual(configuration.deadLetterTopic, "task-status-updates.dlq")
        configuration.set("ingest.topic", "updates")
        XCTAssertEqual(configuration.deadLetterTopic, "updates.dlq")
        configuration.set("ingest.dlq.topic", "failed-updates")
        XCTAssertEqual(configuration.deadLetterTopic, "failed-updates")
    }

    func testKafkaPropertiesLoseTheirPrefixAndKeepOffsetStoreOff() {
        let properties = Configuration().kafkaProperties
        XCTAssertEqual(properties["bootstrap.servers"], "embedded")
        XCTAssertEqual(properties["group.id"], "status-ingest")
        XCTAssertEqual(properties["enable.auto.offset.store"], "false")
        XCTAssertNil(properties["kafka.group.id"])
    }

    func testUnknownSettingIsRejected() throws {
        let path = try writeFile("ingest.topik=typo\n")
        XCTAssertThrowsError(try Configuration.load(path: path, environment: [:])) { error in
            XCTAssertTrue("\(error)".contains("unknown setting ingest.topik"), "\(error)")
        }
    }

    func testAutomaticOffsetStoreIsRejected() throws {
        let path = try writeFile("kafka.enable.auto.offset.store=true\n")
        XCTAssertThrowsError(try Configuration.load(path: path, environment: [:])) { error in
            XCTAssertTrue("\(error)".contains("enable.auto.offset.store"), "\(error)")
        }
    }

    func testInvalidValuesNameTheKey() throws {
        for (text, key) in [
            ("ingest.poll.max.records=lots\n", "ingest.poll.max.records"),
            ("store.url=mysql://db\n", "store.url"),
            ("log.level=loud\n", "log.level"),
            ("this line has no separator\n", "expected key=value"),
        ] {
            let path = try writeFile(text)
            XCTAssertThrowsError(try Configuration.load(path: path, environment: [:])) { error in
                XCTAssertTrue("\(error)".contains(key), "\(error) should name \(key)")
            }
        }
    }

    func testSecretsAreMasked() {
        var configuration = Configuration()
        configuration.set("kafka.sasl.password", "hunter2")
        configuration.set("kafka.sasl.oauthbearer.client.secret", "s3cret")
        configuration.set("store.url", "postgresql://ingest:pa55word@db.example:5432/flows")
        let printed = configuration.describe().map { "\($0.key)=\($0.value)" }.joined(separator: "\n")

        XCTAssertFalse(printed.contains("hunter2"))
        XCTAssertFalse(printed.contains("s3cret"))
        XCTAssertFalse(printed.contains("pa55word"))
        XCTAssertTrue(printed.contains("store.url=postgresql://ingest:********@db.example:5432/flows"))
    }
}

final class CommandLineArgumentsTests: XCTestCase {
    func testOptionsFlagsAndPositionals() throws {
        let arguments = try CommandLineArguments(
            ["file.ndjson", "--topic", "t1", "--until-drained", "--limit=5", "--", "--not-an-option"],
            flags: ["until-drained"], options: ["topic", "limit"])
        XCTAssertEqual(arguments.positionals, ["file.ndjson", "--not-an-option"])
        XCTAssertEqual(arguments.options, ["topic": "t1", "limit": "5"])
        XCTAssertEqual(arguments.flags, ["until-drained"])
        XCTAssertEqual(try arguments.integer("limit", default: 1, range: 1...10), 5)
    }

    func testUnknownOptionAndMissingValueAreRejected() {
        XCTAssertThrowsError(try CommandLineArguments(["--bogus"], flags: [], options: []))
        XCTAssertThrowsError(try CommandLineArguments(["--topic"], flags: [], options: ["topic"]))
        XCTAssertThrowsError(try CommandLineArguments(["--until-drained=yes"], flags: ["until-drained"], options: []))
    }
}

final class GlobalOptionTests: XCTestCase {
    func testSetWorksAfterCommand() throws {
        let (status, output) = try TestEnvironment.capturingStandardOutput {
            StatusIngestCommand.main(["config", "show", "--set", "ingest.topic=after-command"], environment: [:])
        }

        XCTAssertEqual(status, 0)
        XCTAssertTrue(output.contains("ingest.topic=after-command    # --set"), output)
    }

    func testConfigShowNamesDerivedValues() throws {
        let (status, output) = try TestEnvironment.capturingStandardOutput {
            StatusIngestCommand.main(["config", "show", "--set", "ingest.topic=orders"], environment: [:])
        }

        XCTAssertEqual(status, 0)
        let lines = output.split(separator: "\n")
        let topicLine = lines.first { $0.hasPrefix("ingest.dlq.topic=") }
        let connectionsLine = lines.first { $0.hasPrefix("store.connections=") }
        XCTAssertTrue(topicLine?.hasSuffix(", in effect: orders.dlq") ?? false, output)
        XCTAssertTrue(connectionsLine?.hasSuffix(", in effect: 1") ?? false, output)
    }

    func testDemoRejectsStoreWithHistory() throws {
        let url = "sqlite:" + (try TestEnvironment.temporaryDirectory()) + "/demo.sqlite"
        let (first, _) = try TestEnvironment.capturingStandardOutput {
            StatusIngestCommand.main(["demo", "--store", url, "--set", "log.level=error"], environment: [:])
        }
        let (second, output) = try TestEnvironment.capturingStandardOutput {
            StatusIngestCommand.main(["demo", "--store", url, "--set", "log.level=error"], environment: [:])
        }

        XCTAssertEqual(first, 0)
        XCTAssertEqual(second, 2, "a second demo into the same store is a usage error")
        XCTAssertFalse(output.contains("Result:"), output)
    }

    func testDeadLetterSubcommandIsCheckedBeforeBroker() {
        XCTAssertThrowsError(try DeadLetterCommands.run(["frob"], configuration: Configuration(values: [:]), logger: TestEnvironment.logger)) { error in
            XCTAssertTrue("\(error)".contains("unknown dlq subcommand 'frob'"), "\(error)")
        }
    }

    func testSetWithoutValueIsUsageError() throws {
        let (status, _) = try TestEnvironment.capturingStandardOutput {
            StatusIngestCommand.main(["config", "show", "--set"], environment: [:])
        }

        XCTAssertEqual(status, 2)
    }
}

final class LoggerTests: XCTestCase {
    func testJSONLinesParseWithStableKeys() throws {
        let lines = LockedLines()
        let logger = Logger(level: .debug, format: .json) { lines.append($0) }
        logger.debug("one", ["topic": "t", "partition": 3])
        logger.info("two \"quoted\"\nline", ["offset": .integer(42), "ok": .bool(true)])
        logger.warning("three", ["text": .string("tab\there")])
        logger.error("four")

        XCTAssertEqual(lines.all.count, 4)
        for line in lines.all {
            let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
            XCTAssertNotNil(object?["ts"], line)
            XCTAssertNotNil(object?["level"], line)
            XCTAssertNotNil(object?["msg"], line)
        }
        XCTAssertTrue(lines.all[1].contains("\"offset\":42"))
    }

    func testLevelFiltersLowerLines() {
        let lines = LockedLines()
        let logger = Logger(level: .warning, format: .text) { lines.append($0) }
        logger.info("hidden")
        logger.warning("shown", ["topic": "with space"])
        XCTAssertEqual(lines.all.count, 1)
        XCTAssertTrue(lines.all[0].contains("topic=\"with space\""), lines.all[0])
    }
}

final class LockedLines: @unchecked Sendable {
    private let lock = NSLock()
    private var lines: [String] = []

    func append(_ line: String) { lock.withLock { lines.append(line) } }
    var all: [String] { lock.withLock { lines } }
}
