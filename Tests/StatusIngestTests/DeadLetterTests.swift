import Foundation
import Kafka
import StatusCore
import StatusIngest
import XCTest

final class DeadLetterTests: XCTestCase {
    private func envelope(_ message: KafkaMessage) throws -> JSONValue {
        try JSONParser.parse(try XCTUnwrap(message.value))
    }

    private func base64Bytes(_ value: JSONValue?) -> [UInt8]? {
        guard case .string(let text)? = value, let data = Data(base64Encoded: text) else { return nil }
        return Array(data)
    }

    func testEnvelopeHoldsEverythingTheContractNames() throws {
        let harness = try WorkerHarness(partitions: 1)
        let execution = Fixture.execution()
        try harness.store.importExecutions([execution])
        let unknown = UUID()
        let original = Fixture.update(unknown, "extract", "running", extra: ",\"note\":\"kept as parsed\"")
        try harness.produce([
            Fixture.record(harness.topic, key: unknown, value: original, headers: [
                KafkaHeader(key: "request_id", value: Array("01K8KABR6S16YETA2SZPVBS9SP".utf8)),
                KafkaHeader(key: "trace", value: [0x00, 0xff, 0x10]),
                KafkaHeader(key: "empty", value: nil),
            ]),
        ])

        _ = try harness.runUntilDrained()

        let deadLetters = try harness.deadLetters()
        XCTAssertEqual(deadLetters.count, 1)
        let deadLetter = try XCTUnwrap(deadLetters.first)
        XCTAssertEqual(deadLetter.key, Array(unknown.uuidString.lowercased().utf8))
        let value = try envelope(deadLetter)

        XCTAssertEqual(value["error"]?["code"], .string("not_found"))
        XCTAssertEqual(value["error"]?["message"], .string("Flow execution not found"))
        XCTAssertEqual(value["error"]?["details"], .null)
        XCTAssertEqual(value["request_id"], .string("01K8KABR6S16YETA2SZPVBS9SP"))
        XCTAssertEqual(value["status_code"], .number("404"))

        XCTAssertEqual(value["source"]?["topic"], .string(harness.topic))
        XCTAssertEqual(value["source"]?["partition"], .number("0"))
        XCTAssertEqual(value["source"]?["offset"], .number("0"))
        XCTAssertEqual(value["source"]?["key"], .string(unknown.uuidString.lowercased()))
        guard case .string? = value["source"]?["timestamp"] else { return XCTFail("source.timestamp should be a string") }

        XCTAssertEqual(base64Bytes(value["original"]?["value_base64"]), original)
        XCTAssertEqual(value["original"]?["value"]?["note"], .string("kept as parsed"))
        guard case .array(let headers)? = value["original"]?["headers"] else { return XCTFail("original.headers should be a list") }
        XCTAssertEqual(headers.count, 3)
        XCTAssertEqual(headers[1]["key"], .string("trace"))
        XCTAssertEqual(base64Bytes(headers[1]["value_base64"]), [0x00, 0xff, 0x10])
        XCTAssertEqual(headers[2]["value_base64"], .null)

        guard case .string? = value["failed_at"] else { return XCTFail("failed_at should be a string") }
        XCTAssertEqual(value["worker"]?["group_id"], .string("status-ingest-test"))
        XCTAssertEqual(value["worker"]?["version"], .string(StatusIngestVersion.current))

        XCTAssertEqual(deadLetter.header("dlq.error.code"), "not_found")
        XCTAssertEqual(deadLetter.header("dlq.error.status_code"), "404")
        XCTAssertEqual(deadLetter.header("dlq.source.topic"), harness.topic)
        XCTAssertEqual(deadLetter.header("dlq.source.partition"), "0")
        XCTAssertEqual(deadLetter.header("dlq.source.offset"), "0")
        XCTAssertEqual(deadLetter.header("dlq.value.format"), "envelope")
        XCTAssertEqual(deadLetter.headers.first { $0.key == "trace" }?.value, [0x00, 0xff, 0x10])
    }

    func testTombstoneEmptyAndBinaryValuesKeepTheirBytes() throws {
        let harness = try WorkerHarness(partitions: 1)
        let key = UUID()
        let binary: [UInt8] = [0x7b, 0x22, 0xff, 0xfe, 0x00, 0x01]
        try harness.produce([
            Fixture.record(harness.topic, key: key, value: nil),
            Fixture.record(harness.topic, key: key, value: []),
            Fixture.record(harness.topic, key: key, value: binary),
        ])

        let report = try harness.runUntilDrained()

        XCTAssertEqual(report.deadLettersByCode, ["validation_error": 3])
        let deadLetters = try harness.deadLetters().sorted { $0.header("dlq.source.offset")! < $1.header("dlq.source.offset")! }
        XCTAssertEqual(deadLetters.count, 3)
        let values = try deadLetters.map { try envelope($0) }
        XCTAssertEqual(values[0]["original"]?["value_base64"], .null)
        XCTAssertEqual(base64Bytes(values[1]["original"]?["value_base64"]), [])
        XCTAssertEqual(base64Bytes(values[2]["original"]?["value_base64"]), binary)
        for value in values {
            XCTAssertEqual(value["status_code"], .number("422"))
            XCTAssertNil(value["original"]?["value"], "no parsed copy for a value that is not a JSON object")
        }
    }

    func testEnvelopeTooLargeFallsBackToOriginalBytes() throws {
        let harness = try WorkerHarness(partitions: 1)
        harness.kafka["message.max.bytes"] = "4000"
        let key = UUID()
        // Valid JSON, but the task name is too long: the envelope would hold it twice (base64 and parsed).
        let longName = String(repeating: "n", count: 1200)
        let original = Fixture.update(key, longName, "running")
        // Over the limit even without the parsed copy: base64 grows the value by a third.
        let larger = Fixture.update(key, String(repeating: "m", count: 3200), "running")
        try harness.produce([
            Fixture.record(harness.topic, key: key, value: original),
            Fixture.record(harness.topic, key: key, value: larger),
        ])

        _ = try harness.runUntilDrained()

        let deadLetters = try harness.deadLetters().sorted { $0.header("dlq.source.offset")! < $1.header("dlq.source.offset")! }
        XCTAssertEqual(deadLetters.count, 2)
        let first = try envelope(deadLetters[0])
        XCTAssertEqual(deadLetters[0].header("dlq.value.format"), "envelope-without-parsed-original")
        XCTAssertNil(first["original"]?["value"])
        XCTAssertEqual(base64Bytes(first["original"]?["value_base64"]), original)

        XCTAssertEqual(deadLetters[1].header("dlq.value.format"), "original")
        XCTAssertEqual(deadLetters[1].value, larger, "the original is never cut")
        let body = try JSONParser.parse(Array(try XCTUnwrap(deadLetters[1].header("dlq.error.body")).utf8))
        XCTAssertEqual(body["error"]?["code"], .string("validation_error"))
        guard case .string? = body["request_id"] else { return XCTFail("the error body should carry a request_id") }
    }
}
