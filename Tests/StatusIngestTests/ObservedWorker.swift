import Foundation
import Kafka
import StatusIngest
import StatusStore
import XCTest

/// A worker and its metrics server on 127.0.0.1, the worker running on a thread of its own so that
/// a test can scrape and probe it while it works.
final class ObservedWorker: @unchecked Sendable {
    let metrics = WorkerMetrics()
    let server: HTTPServer
    let stopSignal = StopSignal()
    private let worker: IngestWorker
    private let finished = DispatchSemaphore(value: 0)
    private let lock = NSLock()
    private var outcome: Result<RunReport, any Error>?

    var port: Int { server.port }

    init(
        harness: WorkerHarness, store: any TaskStatusStore, logger: Logger = TestEnvironment.logger,
        kafka: [String: String]? = nil, retryBudget: Duration = .zero, untilDrained: Bool = false
    ) throws {
        let endpoints = WorkerEndpoints(metrics: metrics, health: HealthCheck(stuckAfter: .seconds(600)))
        server = try HTTPServer(host: "127.0.0.1", port: 0) { endpoints.respond(to: $0) }
        worker = try IngestWorker(
            options: IngestWorker.Options(
                ingestTopic: harness.topic, deadLetterTopic: harness.deadLetterTopic,
                retry: RetryPolicy(initialBackoff: .milliseconds(50), maximumBackoff: .milliseconds(200), budget: retryBudget),
                untilDrained: untilDrained),
            kafkaProperties: kafka ?? harness.kafka, store: store, logger: logger, stopSignal: stopSignal, metrics: metrics)
    }

    func start() {
        let thread = Thread { [self] in
            let result = Result { try worker.run() }
            lock.withLock { outcome = result }
            finished.signal()
        }
        thread.name = "observed-worker"
        thread.start()
    }

    /// Asks the worker to stop, waits for it, stops the server and returns the run's report. Safe to call twice.
    @discardableResult
    func stop() throws -> RunReport {
        stopSignal.request()
        defer { server.stop() }
        return try waitForExit()
    }

    /// Waits for the worker to return on its own (drained) and returns its report; the server keeps serving.
    func waitForExit() throws -> RunReport {
        finished.wait()
        // Later calls (a deferred stop after an explicit one) return at once.
        finished.signal()
        return try lock.withLock { outcome! }.get()
    }

    func get(_ path: String) throws -> HTTPTestClient.Response {
        try HTTPTestClient.get(path, port: port)
    }

    func scrape() throws -> [String: Double] {
        HTTPTestClient.samples(try get("/metrics").body)
    }
}
