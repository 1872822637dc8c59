import Foundation

/// The worker's HTTP endpoints: `/metrics` for Prometheus, `/healthz` for liveness, `/readyz` for readiness.
///
/// Each request reads one `WorkerMetrics` snapshot, so the numbers of one response agree with each other.
public struct WorkerEndpoints: Sendable {
    public let metrics: WorkerMetrics
    public let health: HealthCheck

    public init(metrics: WorkerMetrics, health: HealthCheck) {
        self.metrics = metrics
        self.health = health
    }

    /// Builds the response to `request`: 200 or 503 for the probes, 404 for an unknown path.
    public func respond(to request: HTTPServer.Request) -> HTTPServer.Response {
        switch request.path {
        case "/metrics":
            return HTTPServer.Response(status: 200, contentType: PrometheusText.contentType, body: PrometheusText.render(metrics.snapshot()))
        case "/healthz":
            return response(for: health.liveness(metrics.snapshot()))
        case "/readyz":
            return response(for: health.readiness(metrics.snapshot()))
        case "/":
            return HTTPServer.Response(status: 200, body: "status-ingest \(StatusIngestVersion.current): /metrics /healthz /readyz\n")
        default:
            return HTTPServer.Response(status: 404, body: "\(request.path) not found: try /metrics, /healthz or /readyz\n")
        }
    }

    private func response(for verdict: HealthCheck.Verdict) -> HTTPServer.Response {
        HTTPServer.Response(status: verdict.isPassing ? 200 : 503, body: verdict.reason + "\n")
    }

    // MARK: - Serving from the configuration

    /// Starts the server on `metrics.host:metrics.port`, or returns nil when `metrics.port` is 0.
    ///
    /// A port that cannot be bound is logged as an error and the worker runs on without the server:
    /// records still flow, and the failing probes show the problem where it is watched.
    static func serve(configuration: Configuration, metrics: WorkerMetrics, logger: Logger) throws -> HTTPServer? {
        let port = try configuration.integer("metrics.port", range: 0...65535)
        guard port != 0 else {
            logger.info("metrics server off", ["reason": "metrics.port=0"])
            return nil
        }
        let host = configuration.string("metrics.host")
        let endpoints = WorkerEndpoints(metrics: metrics, health: HealthCheck(stuckAfter: try configuration.healthStuckAfter))
        do {
            let server = try HTTPServer(host: host, port: port, logger: logger) { request in
                endpoints.respond(to: request)
            }
            logger.info("metrics server started", [
                "host": .string(host), "port": .int(server.port), "paths": "/metrics,/healthz,/readyz",
            ])
            return server
        } catch let error as HTTPServerError {
            logger.error("metrics server not started; the worker runs without /metrics, /healthz and /readyz", [
                "host": .string(host), "port": .int(port), "error": .string(error.description),
            ])
            return nil
        }
    }
}
