import Foundation
import Kafka
import StatusIngest
import StatusStore
import XCTest

final class ProbeTests: XCTestCase {
    func testProbesDuringAndAfterStoreOutage() throws {
        let harness = try WorkerHarness(partitions: 2)
        let execution = Fixture.execution()
        try harness.store.importExecutions([execution])
        let records = execution.taskNames.map { task in
            Fixture.record(harness.topic, key: execution.id, value: Fixture.update(execution.id, task, "running"))
        }
        try harness.produce(records)
        let store = SwitchableStore(wrapping: harness.store)
        store.isDown = true
        let observed = try ObservedWorker(harness: harness, store: store)
        observed.start()
        defer { _ = try? observed.stop() }

        try waitUntil("the worker fails a store call") { observed.metrics.snapshot().storeReachable == false }
        let readyWhileDown = try observed.get("/readyz")
        let aliveWhileDown = try observed.get("/healthz")
        let metricsWhileDown = try observed.scrape()

        XCTAssertEqual(readyWhileDown.status, 503, readyWhileDown.body)
        XCTAssertTrue(readyWhileDown.body.contains("store is unreachable"), readyWhileDown.body)
        XCTAssertEqual(aliveWhileDown.status, 200, "a store outage must not restart the worker: \(aliveWhileDown.body)")
        XCTAssertEqual(metricsWhileDown["status_ingest_store_reachable"], 0)
        XCTAssertGreaterThanOrEqual(metricsWhileDown["status_ingest_retries_total{kind=\"store\"}"] ?? 0, 1)
        XCTAssertGreaterThanOrEqual(metricsWhileDown["status_ingest_store_errors_total"] ?? 0, 1)
        XCTAssertEqual(metricsWhileDown["status_ingest_records_applied_total"], 0)

        store.isDown = false
        try waitUntil("the worker applies every record once the store is back") {
            observed.metrics.snapshot().recordsApplied == records.count
        }
        let readyAfter = try observed.get("/readyz")
        let aliveAfter = try observed.get("/healthz")
        let metricsAfter = try observed.scrape()
        try observed.stop()

        XCTAssertEqual(readyAfter.status, 200, readyAfter.body)
        XCTAssertTrue(readyAfter.body.hasPrefix("ready: 2 partitions assigned"), readyAfter.body)
        XCTAssertEqual(aliveAfter.status, 200, aliveAfter.body)
        XCTAssertEqual(metricsAfter["status_ingest_store_reachable"], 1)
        XCTAssertEqual(metricsAfter["status_ingest_records_applied_total"], Double(records.count))
        XCTAssertEqual(try harness.store.stats().historyRows, records.count)
    }

    func testFreshWorkerIsAliveButNotReady() throws {
        let endpoints = WorkerEndpoints(metrics: WorkerMetrics(), health: HealthCheck(stuckAfter: .seconds(60)))

        let readiness = endpoints.respond(to: HTTPServer.Request(method: "GET", path: "/readyz"))
        let liveness = endpoints.respond(to: HTTPServer.Request(method: "GET", path: "/healthz"))

        XCTAssertEqual(readiness.status, 503)
        XCTAssertEqual(readiness.body, "not ready: no partitions assigned yet\n")
        XCTAssertEqual(liveness.status, 200)
        XCTAssertTrue(liveness.body.hasPrefix("starting: no poll yet"), liveness.body)
    }

    func testLivenessFailsOncePollingStops() {
        let started = Date(timeIntervalSince1970: 1_000_000)
        let health = HealthCheck(stuckAfter: .seconds(30), startedAt: started)
        var snapshot = WorkerMetrics.Snapshot()

        XCTAssertTrue(health.liveness(snapshot, now: started + 29).isPassing, "within the start-up grace")
        XCTAssertEqual(
            health.liveness(snapshot, now: started + 31),
            .failing("stuck: no poll in the 31.0 s since start (limit 30.0 s)"))

        snapshot.lastPollAt = started + 100
        XCTAssertEqual(health.liveness(snapshot, now: started + 110), .passing("alive: last poll 10.0 s ago"))
        XCTAssertEqual(
            health.liveness(snapshot, now: started + 145),
            .failing("stuck: last poll 45.0 s ago (limit 30.0 s)"))
    }

    func testReadinessNeedsPartitionsAndStore() {
        let health = HealthCheck(stuckAfter: .seconds(30))
        var snapshot = WorkerMetrics.Snapshot()
        snapshot.hasBeenAssigned = true
        snapshot.assignedPartitions = 3

        XCTAssertEqual(health.readiness(snapshot), .passing("ready: 3 partitions assigned, store reachable"))

        snapshot.storeReachable = false
        XCTAssertEqual(health.readiness(snapshot), .failing("not ready: the store is unreachable (the last store call failed; retrying)"))

        snapshot.assignedPartitions = 0
        XCTAssertEqual(
            health.readiness(snapshot),
            .failing("not ready: no partitions assigned now; the store is unreachable (the last store call failed; retrying)"))

        snapshot.storeReachable = true
        XCTAssertFalse(health.readiness(snapshot).isPassing, "a worker without partitions processes nothing")
    }
}

final class HTTPServerTests: XCTestCase {
    private func startServer() throws -> HTTPServer {
        try HTTPServer(host: "127.0.0.1", port: 0) { request in
            HTTPServer.Response(status: 200, body: "path=\(request.path) query=\(request.query ?? "none")\n")
        }
    }

    func testGetReachesHandlerWithPathAndQuery() throws {
        let server = try startServer()
        defer { server.stop() }

        let response = try HTTPTestClient.get("/metrics?name=x", port: server.port)

        XCTAssertEqual(response.status, 200)
        XCTAssertEqual(response.body, "path=/metrics query=name=x\n")
        XCTAssertEqual(response.headers["content-length"], String(response.body.utf8.count))
        XCTAssertEqual(response.headers["connection"], "close")
    }

    func testHeadSendsNoBody() throws {
        let server = try startServer()
        defer { server.stop() }

        let response = try HTTPTestClient.get("/healthz", port: server.port, method: "HEAD")

        XCTAssertEqual(response.status, 200)
        XCTAssertEqual(response.body, "")
        XCTAssertEqual(response.headers["content-length"], String("path=/healthz query=none\n".utf8.count))
    }

    func testOtherMethodsAreRejected() throws {
        let server = try startServer()
        defer { server.stop() }

        let response = try HTTPTestClient.get("/metrics", port: server.port, method: "POST")

        XCTAssertEqual(response.status, 405)
        XCTAssertEqual(response.headers["allow"], "GET, HEAD")
    }

    func testMalformedRequestGets400() throws {
        let server = try startServer()
        defer { server.stop() }

        let response = try HTTPTestClient.send("hello there\r\n\r\n", port: server.port)

        XCTAssertEqual(response.status, 400)
    }

    func testOversizedHeadGets431() throws {
        let server = try startServer()
        defer { server.stop() }

        let padding = String(repeating: "a", count: 10_000)
        let response = try HTTPTestClient.send("GET / HTTP/1.1\r\nX-Padding: \(padding)\r\n\r\n", port: server.port)

        XCTAssertEqual(response.status, 431)
    }

    func testUnknownPathGets404FromEndpoints() throws {
        let endpoints = WorkerEndpoints(metrics: WorkerMetrics(), health: HealthCheck(stuckAfter: .seconds(60)))
        let server = try HTTPServer(host: "127.0.0.1", port: 0) { endpoints.respond(to: $0) }
        defer { server.stop() }

        let response = try HTTPTestClient.get("/nothing-here", port: server.port)

        XCTAssertEqual(response.status, 404)
        XCTAssertTrue(response.body.contains("/metrics"), response.body)
    }

    func testPortInUseIsReportedWithThePort() throws {
        let first = try startServer()
        defer { first.stop() }

        XCTAssertThrowsError(try HTTPServer(host: "127.0.0.1", port: first.port) { _ in HTTPServer.Response(status: 200, body: "") }) { error in
            XCTAssertTrue("\(error)".contains("127.0.0.1:\(first.port)"), "\(error)")
            XCTAssertTrue("\(error)".contains("metrics.port"), "\(error)")
        }
    }

    func testStoppedServerRefusesConnections() throws {
        let server = try startServer()
        let port = server.port
        server.stop()

        XCTAssertThrowsError(try HTTPTestClient.get("/healthz", port: port))
    }
}
