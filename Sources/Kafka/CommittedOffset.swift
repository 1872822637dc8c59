/// An offset to commit or as committed, with the free-form metadata string Kafka keeps beside it.
public struct CommittedOffset: Hashable, Sendable {
    /// The next offset to read; `KafkaOffset.invalid` when the group has committed none.
    public var offset: Int64
    /// Text stored with the offset by the committer (empty when none).
    public var metadata: String

    /// Creates an offset with its metadata.
    public init(offset: Int64, metadata: String = "") {
        self.offset = offset
        self.metadata = metadata
    }
}
