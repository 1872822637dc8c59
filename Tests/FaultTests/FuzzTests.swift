import Foundation
import Kafka
import StatusCore
import StatusIngest
import XCTest

/// Thousands of records mutated from the sample's valid ones, through a worker child: each ends
/// applied (when still valid) or dead-lettered once with a code of the contract, the worker exits
/// cleanly, and its memory stays bounded.
final class FuzzTests: XCTestCase {
    private let contractCodes: Set<String> = ["validation_error", "bad_request", "not_found", "repository_error"]
    private let recordCount = 6_000

    /// The bound on the worker's peak resident memory. The worker keeps one chunk of at most 1,000
    /// records (a few near 1 MB here), their dead letters, and librdkafka's prefetch queue, which is
    /// 64 MiB by default (`queued.max.messages.kbytes`). Debug builds of this run peaked at 63 to 68 MB
    /// on a 2-core machine, so the bound only fails on unbounded growth, not on allocator noise.
    private let peakMemoryBoundKibibytes = 512 * 1024

    func testMutatedRecordsEachEndInOnePlace() throws {
        let seed = ProcessInfo.processInfo.environment["STATUS_INGEST_FUZZ_SEED"].flatMap { UInt64($0) }
            ?? UInt64.random(in: 0...UInt64.max)
        // Printed so that a failing run can be replayed with STATUS_INGEST_FUZZ_SEED.
        print("fuzz seed: \(seed)")

        let scenario = try FaultScenario(store: .sqlite)
        let executions = try scenario.importSampleExecutions()
        let events = try EventFile.load(path: FaultEnvironment.sampleDirectory + "/events.ndjson")
            .filter { $0.value != nil }
            .prefix(recordCount)
        var mutator = RecordMutator(seed: seed, executions: executions)
        var records = events.map { mutator.mutate(RecordMutator.Record(key: $0.key, value: $0.value, mutation: "none")) }
        // Near the producer's maximum message size of 1,000,000 bytes, two of them still valid.
        let oversized = [(900_000, true), (990_000, true), (900_000, false), (990_000, false)]
        for (index, (bytes, valid)) in oversized.enumerated() {
            records[index * 1_000] = mutator.oversized(records[index * 1_000], bytes: bytes, valid: valid)
        }

        // The oversized ones go to partitions of their own, as the mock keeps only about 5 MiB per partition.
        let producerRecords = records.enumerated().map { index, record in
            let partition = index % 1_000 == 0 && index / 1_000 < oversized.count ? Int32(index / 1_000) : nil
            return ProducerRecord(topic: scenario.topic, partition: partition, key: record.key, value: record.value)
        }
        let reports = try scenario.produce(producerRecords)

        let worker = try scenario.startWorker(untilDrained: true)
        let termination = try worker.waitForExit(timeout: .seconds(300))
        XCTAssertEqual(termination, .exited(0), "seed \(seed)\n\(worker.logTail())")
        XCTAssertGreaterThan(worker.peakResidentKibibytes, 0, "no memory sample was read from /proc")
        XCTAssertLessThan(worker.peakResidentKibibytes, peakMemoryBoundKibibytes, "peak resident memory in KiB, seed \(seed)")
        print("fuzz worker peak resident memory: \(worker.peakResidentKibibytes) KiB")

        let deadLetters = try scenario.deadLetters()
        let ledger = try RecordLedger(
            ends: scenario.highWatermarks(),
            applied: AppliedRecords.offsets(topic: scenario.topic, storeURL: scenario.storeURL, postgres: nil),
            deadLetters: deadLetters, topic: scenario.topic)
        XCTAssertEqual(ledger.deadLetteredTwice, [], "seed \(seed)")
        XCTAssertEqual(ledger.deadLettersWithoutSource, 0, "seed \(seed)")
        XCTAssertEqual(ledger.appliedAndDeadLettered, [], "seed \(seed)")
        XCTAssertEqual(ledger.unaccounted, [], "seed \(seed)")

        let outsideContract = deadLetters.compactMap(\.code).filter { !contractCodes.contains($0) }
        XCTAssertEqual(outsideContract, [], "dead-letter codes outside the contract, seed \(seed)")
        XCTAssertEqual(
            misjudged(records: records, reports: reports, deadLetters: deadLetters), [],
            "records whose fate differs from what decoding them predicts, seed \(seed)")
    }

    /// Compares each record's fate with the contract's decoder. A record that fails to decode must be
    /// dead-lettered with the decoder's code, and one that decodes must not be a validation error.
    private func misjudged(records: [RecordMutator.Record], reports: [DeliveryReport], deadLetters: [DeadLetterSummary]) -> [String] {
        var codes: [String: String] = [:]
        for letter in deadLetters {
            if let partition = letter.sourcePartition, let offset = letter.sourceOffset {
                codes["\(partition):\(offset)"] = letter.code ?? ""
            }
        }
        var misjudged: [String] = []
        for (record, report) in zip(records, reports) {
            let coordinates = "\(report.partition):\(report.offset)"
            let code = codes[coordinates]
            switch RecordDecoder.decode(key: record.key, value: record.value) {
            case .failure(let error):
                if code != error.code.rawValue {
                    misjudged.append("\(coordinates) (\(record.mutation)): expected \(error.code.rawValue), got \(code ?? "applied")")
                }
            case .success:
                if code == "validation_error" {
                    misjudged.append("\(coordinates) (\(record.mutation)): decodes, but was dead-lettered as validation_error")
                }
            }
        }
        return Array(misjudged.prefix(20))
    }
}
