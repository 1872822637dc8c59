import CRdKafka

/// An owned `rd_kafka_mock_cluster_t` and the producer handle that runs it.
final class RDKafkaMockCluster {
    /// The cluster's lifecycle; a closed cluster has already been destroyed.
    private enum State {
        case running(cluster: OpaquePointer)
        case closed
    }

    /// The handle the cluster lives on; it sends nothing and connects nowhere, because it has no `bootstrap.servers`.
    private let client: RDKafkaClient
    private let state: LockedValue<State>
    let bootstrapServers: String

    init(brokerCount: Int) throws {
        // log_level 4 keeps warnings and errors but hides the notice that this handle has no brokers.
        client = try RDKafkaClient(kind: .producer, properties: ["log_level": "4"])
        guard let cluster = rd_kafka_mock_cluster_new(client.handle, Int32(clamping: brokerCount)) else {
            throw KafkaError(
                responseError: RD_KAFKA_RESP_ERR__FAIL,
                reason: "Failed to start a mock Kafka cluster of \(brokerCount) brokers; see the Kafka log for librdkafka's reason."
            )
        }
        bootstrapServers = String(cString: rd_kafka_mock_cluster_bootstraps(cluster))
        state = LockedValue(.running(cluster: cluster))
    }

    deinit {
        close()
    }

    func createTopic(_ name: String, partitions: Int, replicationFactor: Int) throws {
        let code = try withCluster { cluster in
            rd_kafka_mock_topic_create(cluster, name, Int32(clamping: partitions), Int32(clamping: replicationFactor))
        }
        try client.throwIfFailed(code, action: "create mock topic '\(name)' with \(partitions) partitions")
    }

    func pushRequestErrors(apiKey: Int16, errors: [Int32]) {
        let codes = errors.map { rd_kafka_resp_err_t(rawValue: $0) }
        _ = try? withCluster { cluster in
            rd_kafka_mock_push_request_errors_array(cluster, apiKey, codes.count, codes)
        }
    }

    func setBroker(_ brokerID: Int32, up: Bool) {
        let code = try? withCluster { cluster in
            up ? rd_kafka_mock_broker_set_up(cluster, brokerID) : rd_kafka_mock_broker_set_down(cluster, brokerID)
        }
        if let code, code != RD_KAFKA_RESP_ERR_NO_ERROR {
            KafkaLog.emit(.error, "MOCK", "Failed to set mock broker \(brokerID) \(up ? "up" : "down"): \(String(cString: rd_kafka_err2str(code)))")
        }
    }

    func close() {
        let cluster: OpaquePointer? = state.withLock { state in
            defer { state = .closed }
            if case .running(let cluster) = state {
                return cluster
            }
            return nil
        }
        if let cluster {
            rd_kafka_mock_cluster_destroy(cluster)
        }
    }

    private func withCluster<Result>(_ body: (OpaquePointer) -> Result) throws -> Result {
        let cluster: OpaquePointer? = state.withLock { state in
            if case .running(let cluster) = state {
                return cluster
            }
            return nil
        }
        guard let cluster else {
            throw KafkaError.closed("mock cluster")
        }
        return body(cluster)
    }
}
