import Kafka

/// Sends librdkafka's log lines through the worker's logger, so that they share its format, its
/// level filter and its stable keys: in JSON mode every line on standard error is one JSON object.
public enum KafkaLogRouting {
    /// Replaces the process-wide librdkafka log handler with one that writes to `logger`.
    public static func install(logger: Logger) {
        KafkaLog.setHandler { kafkaLevel, facility, message in
            logger.log(level(for: kafkaLevel), "librdkafka: \(message)", [
                "facility": .string(facility), "kafka_level": .string(kafkaLevel.description),
            ])
        }
    }

    /// Maps librdkafka's syslog levels onto the logger's four. Notice and info go to debug because
    /// librdkafka writes them for routine connection changes that an operator need not see.
    public static func level(for kafkaLevel: KafkaLogLevel) -> Logger.Level {
        switch kafkaLevel {
        case .emergency, .alert, .critical, .error: return .error
        case .warning: return .warning
        case .notice, .info, .debug: return .debug
        }
    }
}
