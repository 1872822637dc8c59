/// Kafka protocol request types (API keys), for injecting errors into `MockKafkaCluster`.
///
/// The numbers are fixed by the Kafka protocol.
public enum KafkaAPIKey: Int16, Sendable, CaseIterable {
    case produce = 0
    case fetch = 1
    case listOffsets = 2
    case metadata = 3
    case offsetCommit = 8
    case offsetFetch = 9
    case findCoordinator = 10
    case joinGroup = 11
    case heartbeat = 12
    case leaveGroup = 13
    case syncGroup = 14
    case apiVersions = 18
    case createTopics = 19
    case initProducerID = 22
}
