import Foundation
import StatusCore

// MARK: - Keys
//
// Keys compare their strings byte for byte, as the databases do. Swift's `String` equality follows
// Unicode canonical equivalence, so "é" and "e" + U+0301 would otherwise collapse into one key.

extension String {
    fileprivate func isByteEqual(to other: String) -> Bool {
        utf8.count == other.utf8.count && compareBytes(with: other) == 0
    }

    /// Compares the UTF-8 bytes as `memcmp` does, a shorter prefix first. The generic
    /// `utf8.elementsEqual` and `lexicographicallyPrecedes` cost several times more per byte, and
    /// `apply` compares keys thousands of times per call when it hashes and sorts them.
    fileprivate func compareBytes(with other: String) -> Int32 {
        var left = self
        var right = other
        return left.withUTF8 { leftBytes in
            right.withUTF8 { rightBytes in
                let common = min(leftBytes.count, rightBytes.count)
                if common > 0, let leftStart = leftBytes.baseAddress, let rightStart = rightBytes.baseAddress {
                    let order = memcmp(leftStart, rightStart, common)
                    if order != 0 { return order }
                }
                return leftBytes.count == rightBytes.count ? 0 : (leftBytes.count < rightBytes.count ? -1 : 1)
            }
        }
    }

    /// Feeds the UTF-8 bytes to the hasher in one call, which is much cheaper than one call per byte.
    fileprivate func hashBytes(into hasher: inout Hasher) {
        var copy = self
        copy.withUTF8 { bytes in
            hasher.combine(bytes.count)
            hasher.combine(bytes: UnsafeRawBufferPointer(bytes))
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
        return left.taskName.compareBytes(with: right.taskName) < 0
    }
}

/// A record's source as it is written to `applied_records`.
struct AppliedRecordWrite {
    let source: RecordSource
    /// Whether a row for these coordinates existed before this unit of work (a topic created again),
    /// so the row is updated instead of inserted.
    let replacesStoredRow: Bool
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
        let left = bigEndianHalves
        let right = other.bigEndianHalves
        return left.high != right.high ? left.high < right.high : left.low < right.low
    }

    /// The 16 bytes as two integers whose numeric order is the bytes' order.
    private var bigEndianHalves: (high: UInt64, low: UInt64) {
        withUnsafeBytes(of: uuid) { bytes in
            (UInt64(bigEndian: bytes.loadUnaligned(as: UInt64.self)),
             UInt64(bigEndian: bytes.loadUnaligned(fromByteOffset: 8, as: UInt64.self)))
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
    var appliedRecords: [SourceCoordinates: AppliedRecordWrite] = [:]
    var appliedEvents: [EventKey] = []

    var isEmpty: Bool { historyRows.isEmpty && appliedRecords.isEmpty }

    /// Task states sorted by key, so that concurrent writers touch rows in the same order.
    var sortedTaskStates: [TaskStateWrite] {
        taskStates.values.sorted { $0.key < $1.key }
    }

    /// Applied sources sorted by partition, offset and topic, for the same reason. Any order shared by
    /// all writers avoids deadlocks, and this one compares topic bytes only when partition and offset tie.
    var sortedAppliedRecords: [AppliedRecordWrite] {
        appliedRecords.values.sorted { left, right in
            let left = left.source
            let right = right.source
            if (left.partition, left.offset) != (right.partition, right.offset) {
                return (left.partition, left.offset) < (right.partition, right.offset)
            }
            return left.topic.compareBytes(with: right.topic) < 0
        }
    }
}
