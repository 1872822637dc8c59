/// The severity of a librdkafka log line, on the syslog scale librdkafka uses (0 is the most severe).
public enum KafkaLogLevel: Int32, Sendable, Comparable, CustomStringConvertible {
    case emergency = 0
    case alert = 1
    case critical = 2
    case error = 3
    case warning = 4
    case notice = 5
    case info = 6
    case debug = 7

    /// Maps a raw syslog level, clamping values outside 0…7 to the nearest end of the scale.
    public init(syslogLevel: Int32) {
        self = KafkaLogLevel(rawValue: min(max(syslogLevel, 0), 7)) ?? .debug
    }

    /// Orders levels from the least severe (`debug`) to the most severe (`emergency`).
    public static func < (lhs: KafkaLogLevel, rhs: KafkaLogLevel) -> Bool {
        lhs.rawValue > rhs.rawValue
    }

    /// The level's name in lowercase, such as `warning`.
    public var description: String {
        switch self {
        case .emergency: "emergency"
        case .alert: "alert"
        case .critical: "critical"
        case .error: "error"
        case .warning: "warning"
        case .notice: "notice"
        case .info: "info"
        case .debug: "debug"
        }
    }
}
