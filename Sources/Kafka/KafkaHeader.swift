/// One record header: a key and a binary value that may be null.
///
/// A record may carry several headers with the same key, and their order is kept.
public struct KafkaHeader: Hashable, Sendable {
    /// The header's key.
    public var key: String
    /// The header's value; `nil` is a null value, which Kafka keeps apart from an empty one.
    public var value: [UInt8]?

    /// Creates a header.
    public init(key: String, value: [UInt8]?) {
        self.key = key
        self.value = value
    }
}
