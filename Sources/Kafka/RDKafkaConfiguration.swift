import CRdKafka

/// Builds librdkafka's `rd_kafka_conf_t` from a dictionary of properties and installs the
/// callbacks every handle of this layer shares.
enum RDKafkaConfiguration {
    /// Creates a configuration object with every property set, or throws naming the first
    /// invalid property.
    ///
    /// Properties are applied in name order, so the same invalid dictionary always names the
    /// same property. The caller owns the result until `rd_kafka_new` succeeds.
    static func make(_ properties: [String: String]) throws -> OpaquePointer {
        guard let configuration = rd_kafka_conf_new() else {
            throw KafkaError(responseError: RD_KAFKA_RESP_ERR__FAIL, reason: "librdkafka could not allocate a configuration.")
        }

        for (name, value) in properties.sorted(by: { $0.key < $1.key }) {
            var errorText = [CChar](repeating: 0, count: 512)
            let result = rd_kafka_conf_set(configuration, name, value, &errorText, errorText.count)
            guard result == RD_KAFKA_CONF_OK else {
                rd_kafka_conf_destroy(configuration)
                throw invalidProperty(name, reason: String(cStringBuffer: errorText))
            }
        }

        rd_kafka_conf_set_log_cb(configuration) { _, level, facility, message in
            KafkaLog.emit(
                KafkaLogLevel(syslogLevel: level),
                facility.map { String(cString: $0) } ?? "",
                message.map { String(cString: $0) } ?? ""
            )
        }
        rd_kafka_conf_set_error_cb(configuration) { handle, code, reason, _ in
            RDKafkaConfiguration.report(handle: handle, code: code, reason: reason)
        }
        return configuration
    }

    /// Reads one property back, with librdkafka's default when the dictionary did not set it.
    static func value(of name: String, in configuration: OpaquePointer) -> String? {
        var size = 0
        guard rd_kafka_conf_get(configuration, name, nil, &size) == RD_KAFKA_CONF_OK, size > 0 else {
            return nil
        }
        var buffer = [CChar](repeating: 0, count: size)
        guard rd_kafka_conf_get(configuration, name, &buffer, &size) == RD_KAFKA_CONF_OK else {
            return nil
        }
        return String(cStringBuffer: buffer)
    }

    /// Creates the error for a property that librdkafka rejected.
    ///
    /// The value is left out of the message because it may be a secret such as `sasl.password`.
    /// librdkafka's own reason quotes it only for values it cannot parse.
    static func invalidProperty(_ name: String, reason: String) -> KafkaError {
        KafkaError(
            responseError: RD_KAFKA_RESP_ERR__INVALID_ARG,
            reason: "Invalid Kafka property '\(name)': \(reason). "
                + "Fix or remove it; librdkafka's CONFIGURATION.md lists the valid properties and values."
        )
    }

    /// Logs an error that librdkafka raised outside any call (connection failures, fatal errors).
    ///
    /// librdkafka calls this from `poll` on the polling thread. Most such errors are transient and
    /// librdkafka recovers by itself, so they are logged, not thrown; `poll` and `send` throw the
    /// fatal ones through `RDKafkaError.fatalError(of:)`.
    private static func report(handle: OpaquePointer?, code: Int32, reason: UnsafePointer<CChar>?) {
        let error = rd_kafka_resp_err_t(rawValue: code)
        let text = reason.map { String(cString: $0) } ?? String(cString: rd_kafka_err2str(error))
        let name = String(cString: rd_kafka_err2name(error))
        let level: KafkaLogLevel = error == RD_KAFKA_RESP_ERR__FATAL ? .critical : .error
        KafkaLog.emit(level, "ERROR", "\(name): \(text)")
    }
}
