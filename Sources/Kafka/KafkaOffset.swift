/// librdkafka's special offset values (the `RD_KAFKA_OFFSET_…` constants of rdkafka.h),
/// for reading the results of `position` and `committed`.
public enum KafkaOffset {
    /// No offset is known: nothing was committed, or nothing has been read yet.
    public static let invalid: Int64 = -1001
    /// The first offset still kept in the partition.
    public static let beginning: Int64 = -2
    /// The offset after the last record in the partition.
    public static let end: Int64 = -1
}
