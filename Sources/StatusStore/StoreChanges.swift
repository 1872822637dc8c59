import Foundation
import StatusCore

// MARK: - Keys
//
// Keys compare their strings byte for byte, as the databases do. Swift's `String` equality follows
// Unicode canonical equivalence, so "é" and "e" + U+0301 would otherwise collapse into one key.

extension String {
    fileprivate func isByteEqual(to other: String) -> Bool {
        utf8.elementsEqual(other.utf8)
    }

    fileprivate func hashBytes(into hasher: inout Hasher) {
        hasher.combine(utf8.count)
        for byte in utf8 {
            hasher.combine(byte)
        }
    }
}

/// A record's place in Kafka, without its fingerprint: the key of `applied_records`.
struct SourceCoordinates: Hashable {
    let topic: String
    let partition: Int32
    let offset: Int64

    init(_ source: RecordSource) {
        topic = source.topic
        partition = source.partition
        offset = source.offset
    }

    init(topic: String, partition: Int32, offset: Int64) {
        self.topic = topic
        self.partition = partition
        self.offset = offset
    }

    static func == (left: SourceCoordinates, right: SourceCoordinates) -> Bool {
        left.partition == right.partition && left.offset == right.offset && left.topic.isByteEqual(to: right.topic)
    }

    func hash(into hasher: inout Hasher) {
        hasher.combine(partition)
        hasher.combine(offset)
        topic.hashBytes(into: &hasher)
    }
}

/// A producer's `event_id` within one flow execution: the key of `applied_events`.
struct EventKey: Hashable {
    let flowExecutionID: UUID
    let eventID: String

    static func == (left: EventKey, right: EventKey) -> Bool {
        left.flowExecutionID == right.flowExecutionID && left.eventID.isByteEqual(to: right.eventID)
    }

    func hash(into hasher: inout Hasher) {
        hasher.combine(flowExecutionID)
        eventID.hashBytes(into: &hasher)
    }
}

/// One task of one flow execution: the key of `task_states`.
struct TaskStateKey: Hashable, Comparable {
    let flowExecutionID: UUID
    let taskName: String

    static func == (left: TaskStateKey, right: TaskStateKey) -> Bool {
        left.flowExecutionID == right.flowExecutionID && left.taskName.isByteEqual(to: right.taskName)
    }

    func hash(into hasher: inout Hasher) {
        hasher.combine(flowExecutionID)
        taskName.hashBytes(into: &hasher)
    }

    /// Orders by execution id, then by task name in UTF-8 byte order, which is the order of the stats
    /// digest and the order rows are written in.
    static func < (left: TaskStateKey, right: TaskStateKey) -> Bool {
        if left.flowExecutionID != right.flowExecutionID {
            return left.flowExecutionID.precedesInByteOrder(right.flowExecutionID)
        }
        return left.taskName.utf8.lexicographicallyPrecedes(right.taskName.utf8)
    }
}

/// A task's current state as it is written to `task_states`.
struct TaskStateWrite {
    let key: TaskStateKey
    let status: String?
    let updatedAt: Date
}

extension UUID {
    /// Compares the 16 bytes, which orders ids as PostgreSQL's `uuid` type and their lowercase text do.
    /// Sorting by `uuidString` instead would format text through `snprintf` at every comparison.
    func precedesInByteOrder(_ other: UUID) -> Bool {
        withUnsafeBytes(of: uuid) { left in
            withUnsafeBytes(of: other.uuid) { right in
                left.lexicographicallyPrecedes(right)
            }
        }
    }
}

// MARK: - Changes

/// Everything one unit of work writes: rows for each table, in the order they are inserted.
struct StoreChanges {
    var historyRows: [HistoryRow] = []
    /// The last state of each task; a later write of the same task replaces the earlier one.
    var taskStates: [TaskStateKey: TaskStateWrite] = [:]
    /// Sources to record or, when the fingerprint changed, to replace. Keyed by coordinates, because
    /// two records at the same coordinates in one call (a topic created again) must become one row:
    /// PostgreSQL's `ON CONFLICT DO UPDATE` cannot touch a row twice in one statement.
    var appliedRecords: [SourceCoordinates: RecordSource] = [:]
    var appliedEvents: [EventKey] = []

    var isEmpty: Bool { historyRows.isEmpty && appliedRecords.isEmpty }

    /// Task states sorted by key, so that concurrent writers touch rows in the same order.
    var sortedTaskStates: [TaskStateWrite] {
        taskStates.values.sorted { $0.key < $1.key }
    }

    /// Applied sources sorted by topic, partition and offset, for the same reason.
    var sortedAppliedRecords: [RecordSource] {
        appliedRecords.values.sorted { left, right in
            if !left.topic.utf8.elementsEqual(right.topic.utf8) {
                return left.topic.utf8.lexicographicallyPrecedes(right.topic.utf8)
            }
            return (left.partition, left.offset) < (right.partition, right.offset)
        }
    }
}
