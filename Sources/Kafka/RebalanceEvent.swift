/// A change to the partitions a group consumer owns, as the group coordinator decided it.
public enum RebalanceEvent: Sendable {
    /// The consumer now owns these partitions and reads them from their committed offsets.
    case assigned([TopicPartition])
    /// The consumer is about to give these partitions up in an orderly rebalance,
    /// so it may still commit offsets for them.
    case revoked([TopicPartition])
    /// The consumer has already lost these partitions (for example after a session timeout),
    /// so another member may own them and a commit for them would fail or be stale.
    case lost([TopicPartition])
}
