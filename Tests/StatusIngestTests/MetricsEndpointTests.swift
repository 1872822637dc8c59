import Foundation
import Kafka
import StatusCore
import StatusIngest
import StatusStore
import XCTest

final class MetricsEndpointTests: XCTestCase {
    /// Produces valid updates for six executions plus one record of each final error code.
    private func produceMixedRecords(_ harness: WorkerHarness) throws -> (valid: Int, total: Int) {
        let executions = (0..<6).map { _ in Fixture.execution() }
        try harness.store.importExecutions(executions)
        var records: [ProducerRecord] = []
        for execution in executions {
            for task in execution.taskNames {
                records.append(Fixture.record(harness.topic, key: execution.id, value: Fixture.update(execution.id, task, "running")))
            }
        }
        let valid = records.count
        let known = executions[0].id
        let unknown = UUID()
        records.append(Fixture.record(harness.topic, key: known, value: Array("not json".utf8)))
        records.append(Fixture.record(harness.topic, key: known, value: Fixture.update(known, "no_such_task", "running")))
        records.append(Fixture.record(harness.topic, key: unknown, value: Fixture.update(unknown, "extract", "running")))
        try harness.produce(records)
        return (valid, records.count)
    }

    func testScrapeDuringRunMatchesProgress() throws {
        let harness = try WorkerHarness(partitions: 4)
        let produced = try produceMixedRecords(harness)
        let metrics = WorkerMetrics()
        let endpoints = WorkerEndpoints(metrics: metrics, health: HealthCheck(stuckAfter: .seconds(600)))
        let server = try HTTPServer(host: "127.0.0.1", port: 0) { endpoints.respond(to: $0) }
        defer { server.stop() }
        let scrapes = LockedScrapes()
        let port = server.port

        let worker = try IngestWorker(
            options: IngestWorker.Options(
                ingestTopic: harness.topic, deadLetterTopic: harness.deadLetterTopic, pollMaxRecords: 5,
                untilDrained: true,
                progress: { report in
                    // The worker's own thread waits here while the server's thread serves the scrape.
                    scrapes.append(report, Result { HTTPTestClient.samples(try HTTPTestClient.get("/metrics", port: port).body) })
                }),
            kafkaProperties: harness.kafka, store: harness.store, logger: TestEnvironment.logger,
            stopSignal: StopSignal(), metrics: metrics)
        let report = try worker.run()

        XCTAssertGreaterThan(scrapes.all.count, 1, "pollMaxRecords=5 should give several chunks, each scraped")
        for (progress, scraped) in scrapes.all {
            let samples = try scraped.get()
            XCTAssertEqual(samples["status_ingest_records_consumed_total"], Double(progress.recordsRead))
            XCTAssertEqual(samples["status_ingest_records_applied_total"], Double(progress.recordsApplied))
            XCTAssertEqual(samples["status_ingest_history_rows_total"], Double(progress.historyRows))
            // A chunk may still wait for its dead letters' acknowledgements while the next one is applied.
            let done = progress.recordsApplied + progress.duplicates + progress.alreadyDeadLettered + progress.deadLetters
            XCTAssertEqual(samples["status_ingest_in_flight_records"], Double(progress.recordsRead - done), "records read but not yet done")
            XCTAssertEqual(samples["status_ingest_assigned_partitions"], 4)
            for code in ["validation_error", "bad_request", "not_found", "repository_error", "internal_error"] {
                XCTAssertEqual(
                    samples["status_ingest_dead_letters_total{code=\"\(code)\"}"], Double(progress.deadLettersByCode[code] ?? 0),
                    "dead letters with code \(code)")
            }
        }

        XCTAssertEqual(report.recordsRead, produced.total)
        XCTAssertEqual(report.recordsApplied, produced.valid)
    }

    func testScrapeAfterRunCountsEveryRecord() throws {
        let harness = try WorkerHarness(partitions: 4)
        let produced = try produceMixedRecords(harness)
        let observed = try ObservedWorker(harness: harness, store: harness.store, untilDrained: true)
        observed.start()
        defer { _ = try? observed.stop() }
        let report = try observed.waitForExit()
        let response = try observed.get("/metrics")
        let samples = HTTPTestClient.samples(response.body)

        XCTAssertEqual(response.status, 200)
        XCTAssertEqual(response.headers["content-type"], "text/plain; version=0.0.4; charset=utf-8")
        XCTAssertEqual(samples["status_ingest_records_consumed_total"], Double(produced.total))
        XCTAssertEqual(samples["status_ingest_records_applied_total"], Double(produced.valid))
        XCTAssertEqual(samples["status_ingest_history_rows_total"], Double(try harness.store.stats().historyRows))
        XCTAssertEqual(samples["status_ingest_dead_letters_total{code=\"validation_error\"}"], 1)
        XCTAssertEqual(samples["status_ingest_dead_letters_total{code=\"bad_request\"}"], 1)
        XCTAssertEqual(samples["status_ingest_dead_letters_total{code=\"not_found\"}"], 1)
        XCTAssertEqual(samples["status_ingest_dead_letters_total{code=\"repository_error\"}"], 0)
        XCTAssertEqual(samples["status_ingest_retries_total{kind=\"store\"}"], 0)
        XCTAssertEqual(samples["status_ingest_store_errors_total"], 0)
        XCTAssertEqual(samples["status_ingest_store_reachable"], 1)
        XCTAssertEqual(samples["status_ingest_in_flight_records"], 0)
        XCTAssertEqual(report.deadLetters, 3)

        // Every record that reached the store is one update, so the batch sizes add up to them.
        let storedUpdates = Double(produced.valid + 2)
        XCTAssertEqual(samples["status_ingest_batch_updates_sum"], storedUpdates)
        XCTAssertEqual(samples["status_ingest_batch_updates_count"], samples["status_ingest_batches_total"])
        XCTAssertEqual(samples["status_ingest_batch_updates_bucket{le=\"+Inf\"}"], samples["status_ingest_batches_total"])
        let applyCalls = try XCTUnwrap(samples["status_ingest_apply_duration_seconds_count"])
        XCTAssertGreaterThanOrEqual(applyCalls, 1)
        XCTAssertEqual(samples["status_ingest_apply_duration_seconds_bucket{le=\"+Inf\"}"], applyCalls)

        let lagSeries = samples.filter { $0.key.hasPrefix("status_ingest_consumer_lag{") }
        XCTAssertFalse(lagSeries.isEmpty, "a drained worker should report the lag of the partitions it read")
        for (series, lag) in lagSeries {
            XCTAssertEqual(lag, 0, "\(series) after draining")
        }
        XCTAssertNotNil(samples["status_ingest_last_poll_timestamp_seconds"])
    }

    func testRenderedHistogramIsCumulative() {
        var snapshot = WorkerMetrics.Snapshot()
        snapshot.batchSizes = WorkerMetrics.Histogram(bounds: [1, 10, 100])
        for size in [1.0, 3, 3, 50, 100] {
            snapshot.batchSizes.observe(size)
        }
        snapshot.lagByPartition = [TopicPartition(topic: "updates", partition: 2): 17]

        let text = PrometheusText.render(snapshot, version: "1.0 \"test\"\\build")

        XCTAssertTrue(text.contains("# TYPE status_ingest_batch_updates histogram\n"), text)
        XCTAssertTrue(text.contains("status_ingest_batch_updates_bucket{le=\"1\"} 1\n"), text)
        XCTAssertTrue(text.contains("status_ingest_batch_updates_bucket{le=\"10\"} 3\n"), text)
        XCTAssertTrue(text.contains("status_ingest_batch_updates_bucket{le=\"100\"} 5\n"), text)
        XCTAssertTrue(text.contains("status_ingest_batch_updates_bucket{le=\"+Inf\"} 5\n"), text)
        XCTAssertTrue(text.contains("status_ingest_batch_updates_sum 157\n"), text)
        XCTAssertTrue(text.contains("status_ingest_batch_updates_count 5\n"), text)
        XCTAssertTrue(text.contains("status_ingest_consumer_lag{topic=\"updates\",partition=\"2\"} 17\n"), text)
        XCTAssertTrue(text.contains("status_ingest_build_info{version=\"1.0 \\\"test\\\"\\\\build\"} 1\n"), text)
        XCTAssertFalse(text.contains("status_ingest_store_reachable"), "unknown before the first store call")
        XCTAssertTrue(text.hasSuffix("\n"))
    }

    func testEachFamilyIsDeclaredOnceBeforeItsSamples() {
        var snapshot = WorkerMetrics.Snapshot()
        snapshot.deadLettersByCode = ["not_found": 2]
        snapshot.retriesByKind = ["store": 1]
        snapshot.storeReachable = true
        snapshot.lastPollAt = Date()
        let lines = PrometheusText.render(snapshot).split(separator: "\n")

        var declared: [String] = []
        for line in lines where line.hasPrefix("# TYPE ") {
            declared.append(String(line.split(separator: " ")[2]))
        }
        XCTAssertEqual(declared.count, Set(declared).count, "a family declared twice: \(declared)")
        for line in lines where !line.hasPrefix("#") {
            let name = String(line.prefix { $0 != "{" && $0 != " " })
            let family = declared.first { name == $0 || name == $0 + "_bucket" || name == $0 + "_sum" || name == $0 + "_count" }
            XCTAssertNotNil(family, "sample \(line) belongs to no declared family")
        }
    }
}

/// The scrapes a progress callback took on the worker's thread, read by the test afterwards.
final class LockedScrapes: @unchecked Sendable {
    private let lock = NSLock()
    private var scrapes: [(RunReport, Result<[String: Double], any Error>)] = []

    func append(_ report: RunReport, _ scrape: Result<[String: Double], any Error>) {
        lock.withLock { scrapes.append((report, scrape)) }
    }

    var all: [(RunReport, Result<[String: Double], any Error>)] { lock.withLock { scrapes } }
}
