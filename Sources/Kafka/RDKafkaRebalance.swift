import CRdKafka

/// The rebalance callback, which applies each assignment change and calls the consumer's handler.
///
/// librdkafka runs it inside `rd_kafka_consumer_poll` or `rd_kafka_consumer_close`, on the
/// thread that called them. The handler sees revoked or lost partitions while the consumer still
/// owns them, so it can finish their work and commit, and sees assigned partitions once they are
/// assigned.
enum RDKafkaRebalance {
    static func install(on configuration: OpaquePointer) {
        rd_kafka_conf_set_rebalance_cb(configuration) { handle, code, partitions, opaque in
            guard let handle, let opaque else {
                return
            }
            let context = Unmanaged<RDKafkaCallbackContext>.fromOpaque(opaque).takeUnretainedValue()
            RDKafkaRebalance.rebalance(
                handle, code: code, partitions: partitions, isCooperativeByConfiguration: context.isCooperativeByConfiguration,
                handler: context.rebalanceHandler ?? { _ in })
        }
    }

    // MARK: - Serving one rebalance

    private static func rebalance(
        _ handle: OpaquePointer,
        code: rd_kafka_resp_err_t,
        partitions: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>?,
        isCooperativeByConfiguration: Bool,
        handler: (RebalanceEvent) -> Void
    ) {
        let changed = partitions.map { RDKafkaTopicPartitionList.partitions(of: $0) } ?? []
        // librdkafka 2.0.2 returns NULL here while the consumer leaves its group (in close, for
        // example). The configured strategy gives the same result, because a member uses one protocol.
        let activeProtocol: UnsafePointer<CChar>? = rd_kafka_rebalance_protocol(handle)
        let isCooperative = activeProtocol.map { String(cString: $0) == "COOPERATIVE" } ?? isCooperativeByConfiguration

        switch code {
        case RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS:
            if assign(handle, partitions, isCooperative: isCooperative) {
                handler(.assigned(changed))
            }

        case RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS:
            let isLost = rd_kafka_assignment_lost(handle) != 0
            handler(isLost ? .lost(changed) : .revoked(changed))
            unassign(handle, partitions, isCooperative: isCooperative)

        default:
            // librdkafka expects the application to drop its whole assignment after a failed
            // rebalance, so the handler receives it as lost partitions.
            let owned = currentAssignment(handle)
            KafkaLog.emit(
                .error, "REBALANCE",
                "Rebalance failed with \(String(cString: rd_kafka_err2name(code))): "
                    + "\(String(cString: rd_kafka_err2str(code))); dropping the assignment of \(owned.count) partitions."
            )
            handler(.lost(owned))
            unassign(handle, nil, isCooperative: false)
        }
    }

    /// Assigns the partitions, returning whether librdkafka accepted them.
    private static func assign(
        _ handle: OpaquePointer,
        _ partitions: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>?,
        isCooperative: Bool
    ) -> Bool {
        let failure: KafkaError?
        if isCooperative {
            failure = rd_kafka_incremental_assign(handle, partitions).map(KafkaError.init(consuming:))
        } else {
            let code = rd_kafka_assign(handle, partitions)
            failure = code == RD_KAFKA_RESP_ERR_NO_ERROR ? nil : KafkaError(responseError: code)
        }
        if let failure {
            KafkaLog.emit(.error, "REBALANCE", "Failed to assign partitions: \(failure)")
            return false
        }
        return true
    }

    /// Removes the partitions from the assignment, or the whole assignment when `partitions` is nil.
    private static func unassign(
        _ handle: OpaquePointer,
        _ partitions: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>?,
        isCooperative: Bool
    ) {
        let failure: KafkaError?
        if isCooperative, let partitions {
            failure = rd_kafka_incremental_unassign(handle, partitions).map(KafkaError.init(consuming:))
        } else {
            let code = rd_kafka_assign(handle, nil)
            failure = code == RD_KAFKA_RESP_ERR_NO_ERROR ? nil : KafkaError(responseError: code)
        }
        if let failure {
            KafkaLog.emit(.error, "REBALANCE", "Failed to unassign partitions: \(failure)")
        }
    }

    private static func currentAssignment(_ handle: OpaquePointer) -> [TopicPartition] {
        var list: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>?
        guard rd_kafka_assignment(handle, &list) == RD_KAFKA_RESP_ERR_NO_ERROR, let list else {
            return []
        }
        return RDKafkaTopicPartitionList(owning: list).partitions
    }
}
