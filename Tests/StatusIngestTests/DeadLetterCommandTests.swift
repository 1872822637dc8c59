import Foundation
import Kafka
import StatusCore
import StatusIngest
import StatusStore
import XCTest

final class DeadLetterCommandTests: XCTestCase {
    /// Dead letters of three kinds, for two organizations, made by the worker.
    private struct Scene {
        let harness: WorkerHarness
        let known: FlowExecution
        let missing: UUID
        /// The exact bytes of the record for the missing execution.
        let missingValue: [UInt8]
    }

    private func makeScene() throws -> Scene {
        let harness = try WorkerHarness(partitions: 2)
        let known = Fixture.execution()
        try harness.store.importExecutions([known])
        let missing = UUID()
        let organization = Fixture.otherOrganization.uuidString.lowercased()
        let missingValue = Fixture.update(missing, "extract", "queued", extra: ",\"organization_id\":\"\(organization)\"")
        try harness.produce([
            Fixture.record(harness.topic, key: known.id, value: Fixture.update(known.id, "extract", "running")),
            Fixture.record(harness.topic, key: missing, value: missingValue, headers: [
                KafkaHeader(key: "trace", value: [0x00, 0xff]),
            ]),
            Fixture.record(harness.topic, key: known.id, value: Fixture.update(known.id, "unknown_task", "running")),
            Fixture.record(harness.topic, key: known.id, value: Array("not json".utf8)),
        ])
        let report = try harness.runUntilDrained()
        XCTAssertEqual(report.deadLetters, 3)
        return Scene(harness: harness, known: known, missing: missing, missingValue: missingValue)
    }

    /// One scene for the tests that only read the dead-letter topic: making one runs the worker.
    nonisolated(unsafe) private static var sharedScene: Scene?

    private func readOnlyScene() throws -> Scene {
        if let scene = Self.sharedScene { return scene }
        let scene = try makeScene()
        Self.sharedScene = scene
        return scene
    }

    override class func tearDown() {
        sharedScene = nil
        super.tearDown()
    }

    private func listedCodes(_ harness: WorkerHarness, _ arguments: [String]) throws -> [String] {
        let (status, output) = try harness.dlq(["list", "--json"] + arguments)
        XCTAssertEqual(status, 0)
        return try output.lines.map { line in
            try XCTUnwrap(JSONParser.parse(Array(line.utf8))["code"]?.stringValue)
        }.sorted()
    }

    // MARK: - list

    func testListFilters() throws {
        let scene = try readOnlyScene()
        let harness = scene.harness
        let hourAgo = RFC3339.format(Date().addingTimeInterval(-3600))
        let hourAhead = RFC3339.format(Date().addingTimeInterval(3600))

        XCTAssertEqual(try listedCodes(harness, []), ["bad_request", "not_found", "validation_error"])
        XCTAssertEqual(try listedCodes(harness, ["--code", "not_found"]), ["not_found"])
        XCTAssertEqual(try listedCodes(harness, ["--code", "not_found,bad_request"]), ["bad_request", "not_found"])
        XCTAssertEqual(try listedCodes(harness, ["--execution", scene.known.id.uuidString.uppercased()]), ["bad_request", "validation_error"])
        XCTAssertEqual(try listedCodes(harness, ["--organization", Fixture.otherOrganization.uuidString]), ["not_found"])
        XCTAssertEqual(try listedCodes(harness, ["--since", hourAgo]).count, 3)
        XCTAssertEqual(try listedCodes(harness, ["--since", hourAhead]), [])
        XCTAssertEqual(try listedCodes(harness, ["--until", hourAgo]), [])
        XCTAssertEqual(try listedCodes(harness, ["--until", hourAhead]).count, 3)
        XCTAssertEqual(try listedCodes(harness, ["--limit", "2"]).count, 2)
        XCTAssertEqual(try listedCodes(harness, ["--code", "validation_error", "--execution", scene.missing.uuidString]), [])
    }

    func testListTableShowsTheColumns() throws {
        let scene = try readOnlyScene()

        let (status, output) = try scene.harness.dlq(["list", "--code", "not_found"])

        XCTAssertEqual(status, 0)
        let header = try XCTUnwrap(output.lines.first)
        for column in ["FAILED AT", "EXECUTION", "TASK", "CODE", "MESSAGE", "SOURCE"] {
            XCTAssertTrue(header.contains(column), "missing column \(column): \(header)")
        }
        XCTAssertEqual(output.lines.count, 3, output.text)
        let row = output.lines[1]
        XCTAssertTrue(row.contains(scene.missing.uuidString.lowercased()), row)
        XCTAssertTrue(row.contains("Flow execution not found"), row)
        XCTAssertTrue(row.contains("\(scene.harness.topic)/"), row)
    }

    func testListRejectsInvalidTime() throws {
        let harness = try WorkerHarness(partitions: 1)
        XCTAssertThrowsError(try harness.dlq(["list", "--since", "yesterday"])) { error in
            XCTAssertTrue(error is UsageError, "\(error)")
        }
    }

    func testListLimitKeepsEarliestOfManyRecords() throws {
        let harness = try WorkerHarness(partitions: 2)
        let count = 2_500
        let base = Date(timeIntervalSince1970: 1_800_000_000)
        // Failure times in a shuffled order, so the earliest arrive after the reader trims what it keeps.
        var records: [ProducerRecord] = []
        for second in (0..<count).shuffled() {
            records.append(ProducerRecord(
                topic: harness.deadLetterTopic, key: nil, value: Array("not json".utf8),
                headers: [
                    KafkaHeader(key: DeadLetterHeader.valueFormat, value: Array("original".utf8)),
                    KafkaHeader(key: DeadLetterHeader.errorCode, value: Array("validation_error".utf8)),
                    KafkaHeader(key: DeadLetterHeader.failedAt, value: Array(RFC3339.format(base.addingTimeInterval(Double(second))).utf8)),
                ]))
        }
        try harness.produce(records)

        let (status, output) = try harness.dlq(["list", "--json", "--limit", "3"])

        XCTAssertEqual(status, 0)
        let times = try output.lines.map { line in
            try XCTUnwrap(JSONParser.parse(Array(line.utf8))["failed_at"]?.stringValue.flatMap(RFC3339.parse))
        }
        XCTAssertEqual(times, (0..<3).map { base.addingTimeInterval(Double($0)) })

        let (statsStatus, statsOutput) = try harness.dlq(["stats", "--json"])
        XCTAssertEqual(statsStatus, 0)
        XCTAssertEqual(try JSONParser.parse(Array(statsOutput.text.utf8))["dead_letters"], .integer(count), statsOutput.text)
    }

    // MARK: - show and stats

    func testShowPrintsErrorBodyOriginalAndHeaders() throws {
        let scene = try readOnlyScene()
        let deadLetter = try XCTUnwrap(try scene.harness.deadLetters().first { $0.header("dlq.error.code") == "not_found" })

        let (status, output) = try scene.harness.dlq(["show", "\(deadLetter.partition):\(deadLetter.offset)"])

        XCTAssertEqual(status, 0)
        XCTAssertTrue(output.text.contains("\"code\": \"not_found\""), output.text)
        XCTAssertTrue(output.text.contains("\"task_name\": \"extract\""), "the original should be pretty JSON: \(output.text)")
        XCTAssertTrue(output.text.contains("trace: \\x00\\xff"), "binary header values should be escaped: \(output.text)")
        XCTAssertTrue(output.text.contains("dlq.source.offset: "), output.text)
    }

    func testShowBySourceEscapesNonJSONValue() throws {
        let scene = try readOnlyScene()
        let deadLetter = try XCTUnwrap(try scene.harness.deadLetters().first { $0.header("dlq.error.code") == "validation_error" })
        let source = "\(try XCTUnwrap(deadLetter.header("dlq.source.partition"))):\(try XCTUnwrap(deadLetter.header("dlq.source.offset")))"

        let (status, output) = try scene.harness.dlq(["show", "--source", source])

        XCTAssertEqual(status, 0)
        XCTAssertTrue(output.text.contains("Original value (8 bytes):\nnot json"), output.text)
        XCTAssertTrue(output.text.contains("validation_error"), output.text)
    }

    func testShowOfMissingRecordFails() throws {
        let scene = try readOnlyScene()

        let (status, output) = try scene.harness.dlq(["show", "1:999"])

        XCTAssertEqual(status, 1)
        XCTAssertTrue(output.text.contains("not found"), output.text)
    }

    func testStatsCountByCodeExecutionAndHour() throws {
        let scene = try readOnlyScene()

        let (status, output) = try scene.harness.dlq(["stats", "--json"])

        XCTAssertEqual(status, 0)
        let statistics = try JSONParser.parse(Array(output.text.utf8))
        XCTAssertEqual(statistics["dead_letters"], .number("3"))
        XCTAssertEqual(statistics["dead_letters_by_code"]?["not_found"], .number("1"))
        XCTAssertEqual(statistics["dead_letters_by_code"]?["bad_request"], .number("1"))
        XCTAssertEqual(statistics["dead_letters_by_code"]?["validation_error"], .number("1"))
        XCTAssertEqual(statistics["dead_letters_by_execution"]?[scene.known.id.uuidString.lowercased()], .number("2"))
        XCTAssertEqual(statistics["dead_letters_by_execution"]?[scene.missing.uuidString.lowercased()], .number("1"))
        let hours = try XCTUnwrap(statistics["dead_letters_by_hour"]?.objectMembers)
        XCTAssertEqual(hours.reduce(0) { $0 + ($1.value.intValue ?? 0) }, 3)
        XCTAssertTrue(hours.allSatisfy { $0.key.hasSuffix(":00Z") }, "\(hours)")
    }

    // MARK: - replay

    func testReplayAppliesOnceCauseIsFixed() throws {
        let scene = try makeScene()
        let harness = scene.harness
        let historyBefore = try harness.store.stats().historyRows
        try harness.store.importExecutions([
            FlowExecution(id: scene.missing, organizationID: Fixture.otherOrganization, flowID: UUID(),
                          taskNames: ["extract"], status: "running", deleted: false),
        ])

        let (status, output) = try harness.dlq(["replay", "--code", "not_found"])
        let report = try harness.runUntilDrained(groupID: "after-replay")

        XCTAssertEqual(status, 0, output.text)
        XCTAssertTrue(output.text.contains("sent 1, rejected 0, failed 0"), output.text)
        XCTAssertEqual(report.recordsApplied, 1)
        XCTAssertEqual(report.deadLetters, 0)
        XCTAssertEqual(try harness.store.stats().historyRows, historyBefore + 1)

        let replayed = try XCTUnwrap(try harness.records(of: harness.topic).first { $0.header("dlq.replay.count") != nil })
        XCTAssertEqual(replayed.value, scene.missingValue, "the value should be sent back byte for byte")
        XCTAssertEqual(replayed.key, Array(scene.missing.uuidString.lowercased().utf8))
        XCTAssertEqual(replayed.headers, [
            KafkaHeader(key: "trace", value: [0x00, 0xff]),
            KafkaHeader(key: "dlq.replay.count", value: Array("1".utf8)),
        ])
    }

    func testReplayDryRunSendsNothing() throws {
        let scene = try makeScene()
        let harness = scene.harness
        let before = try harness.records(of: harness.topic).count

        let (status, output) = try harness.dlq(["replay", "--dry-run", "--code", "not_found,bad_request"])

        XCTAssertEqual(status, 0)
        XCTAssertEqual(output.lines.filter { $0.hasPrefix("would send \(harness.deadLetterTopic)/") }.count, 2, output.text)
        XCTAssertEqual(try harness.records(of: harness.topic).count, before)
    }

    func testReplayNeedsASelection() throws {
        let harness = try WorkerHarness(partitions: 1)
        XCTAssertThrowsError(try harness.dlq(["replay"])) { error in
            XCTAssertTrue(error is UsageError, "\(error)")
        }
    }

    func testReplayRejectsRecordsAtMaximum() throws {
        let harness = try WorkerHarness(partitions: 1)
        let missing = UUID()
        try harness.produce([
            Fixture.record(harness.topic, key: missing, value: Fixture.update(missing, "extract", "queued"), headers: [
                KafkaHeader(key: "dlq.replay.count", value: Array("3".utf8)),
            ]),
            Fixture.record(harness.topic, key: missing, value: Fixture.update(missing, "load", "queued"), headers: [
                KafkaHeader(key: "dlq.replay.count", value: Array("2".utf8)),
            ]),
        ])
        _ = try harness.runUntilDrained()
        let before = try harness.records(of: harness.topic).count

        let (status, output) = try harness.dlq(["replay", "--all", "--max-replays", "3"])

        XCTAssertEqual(status, 1, "a rejected record should make the command fail")
        XCTAssertEqual(output.lines.filter { $0.hasPrefix("rejected ") }.count, 1, output.text)
        XCTAssertTrue(output.text.contains("replayed 3 times already, the maximum is 3"), output.text)
        let sent = try harness.records(of: harness.topic).dropFirst(before)
        XCTAssertEqual(sent.count, 1)
        XCTAssertEqual(sent.first?.header("dlq.replay.count"), "3")
    }

    func testReplayedRecordFailingAgainKeepsItsCount() throws {
        let harness = try WorkerHarness(partitions: 1)
        let missing = UUID()
        try harness.produce([Fixture.record(harness.topic, key: missing, value: Fixture.update(missing, "extract", "queued"))])
        _ = try harness.runUntilDrained()

        _ = try harness.dlq(["replay", "--all"])
        _ = try harness.runUntilDrained(groupID: "after-replay")
        let (_, output) = try harness.dlq(["list", "--json"])

        let counts = try output.lines.map { try XCTUnwrap(JSONParser.parse(Array($0.utf8))["replay_count"]?.intValue) }
        XCTAssertEqual(counts.sorted(), [0, 1])
    }

    // MARK: - Reading each layout

    private func envelopeText(includeParsed: Bool, value: String) -> String {
        let parsed = includeParsed ? ",\"value\":\(value)" : ""
        return """
            {"error":{"message":"Flow execution not found","code":"not_found","details":null},"request_id":"01K8KABR6S16YETA2SZPVBS9SP",\
            "status_code":404,"source":{"topic":"task-status-updates","partition":3,"offset":1207,"timestamp":null,"key":"k","key_base64":"aw=="},\
            "original":{"value_base64":"\(Data(value.utf8).base64EncodedString())","value_bytes":\(value.utf8.count)\(parsed),\
            "headers":[{"key":"trace","value_base64":"AP8="}]},"failed_at":"2026-12-04T21:40:07.118Z",\
            "worker":{"group_id":"status-ingest","host":"h","version":"0.1.0"}}
            """
    }

    func testRecordReadsEveryLayout() throws {
        let original = "{\"flow_execution_id\":\"5f0e1c1e-6f7b-4c38-9b55-0d1c3f1c2a10\",\"task_name\":\"extract\",\"status\":\"queued\"}"
        let dlqHeaders = [
            KafkaHeader(key: "dlq.error.code", value: Array("not_found".utf8)),
            KafkaHeader(key: "dlq.source.topic", value: Array("task-status-updates".utf8)),
            KafkaHeader(key: "dlq.source.partition", value: Array("3".utf8)),
            KafkaHeader(key: "dlq.source.offset", value: Array("1207".utf8)),
            KafkaHeader(key: "dlq.failed_at", value: Array("2026-12-04T21:40:07.118Z".utf8)),
        ]
        let originalHeaders = [KafkaHeader(key: "trace", value: [0x00, 0xff]), KafkaHeader(key: "dlq.replay.count", value: Array("2".utf8))]
        let errorBody = "{\"error\":{\"message\":\"Flow execution not found\",\"code\":\"not_found\",\"details\":null},\"request_id\":\"01K8KABR6S16YETA2SZPVBS9SP\"}"
        let layouts: [(format: String, value: String, headers: [KafkaHeader])] = [
            ("envelope", envelopeText(includeParsed: true, value: original), []),
            ("envelope-without-parsed-original", envelopeText(includeParsed: false, value: original), []),
            ("original", original, originalHeaders + [KafkaHeader(key: "dlq.error.body", value: Array(errorBody.utf8))]),
        ]

        for layout in layouts {
            let message = KafkaMessage(
                topic: "task-status-updates.dlq", partition: 1, offset: 9, key: Array("k".utf8), value: Array(layout.value.utf8),
                headers: layout.headers + dlqHeaders + [KafkaHeader(key: "dlq.value.format", value: Array(layout.format.utf8))])

            let record = DeadLetterRecord(message: message)

            XCTAssertEqual(record.valueFormat, layout.format)
            XCTAssertEqual(record.code, "not_found", layout.format)
            XCTAssertEqual(record.message, "Flow execution not found", layout.format)
            XCTAssertEqual(record.requestID, "01K8KABR6S16YETA2SZPVBS9SP", layout.format)
            XCTAssertEqual(record.originalValue, Array(original.utf8), layout.format)
            XCTAssertEqual(record.executionID, "5f0e1c1e-6f7b-4c38-9b55-0d1c3f1c2a10", layout.format)
            XCTAssertEqual(record.taskNames, ["extract"], layout.format)
            XCTAssertEqual(record.sourceDescription, "task-status-updates/3:1207", layout.format)
            XCTAssertEqual(record.failedAt, RFC3339.parse("2026-12-04T21:40:07.118Z"), layout.format)
            XCTAssertEqual(record.originalHeaders.first, KafkaHeader(key: "trace", value: [0x00, 0xff]), layout.format)
        }
    }

    func testOriginalLayoutKeepsReplayCountAndDropsOtherDeadLetterHeaders() throws {
        let message = KafkaMessage(
            topic: "task-status-updates.dlq", partition: 0, offset: 0, key: nil, value: Array("x".utf8),
            headers: [
                KafkaHeader(key: "trace", value: nil),
                KafkaHeader(key: "dlq.replay.count", value: Array("2".utf8)),
                KafkaHeader(key: "dlq.error.code", value: Array("validation_error".utf8)),
                KafkaHeader(key: "dlq.value.format", value: Array("original".utf8)),
            ])

        let record = DeadLetterRecord(message: message)

        XCTAssertEqual(record.replayCount, 2)
        XCTAssertEqual(record.code, "validation_error")
        XCTAssertEqual(record.originalHeaders.map(\.key), ["trace", "dlq.replay.count"])
    }
}
