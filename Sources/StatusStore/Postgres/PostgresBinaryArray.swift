import Foundation

/// A one-dimensional array parameter in PostgreSQL's binary format, the form `array_recv` reads.
///
/// `apply` passes thousands of values per column. In binary the server skips parsing array literals
/// and every element's text, and the client skips formatting ids and times as text.
/// The layout: dimension count, a has-nulls flag and the element type's OID, then the length and
/// lower bound of each dimension, then each element as a 32-bit length (-1 for NULL) and its bytes,
/// every integer in network byte order. The store tests run it against PostgreSQL 15.
struct PostgresBinaryArray {
    /// OIDs of the element types used here. The server rejects an array whose element type differs
    /// from the parameter's, so a wrong value fails every write.
    enum ElementType: UInt32 {
        case integer = 23
        case bigint = 20
        case text = 25
        case timestamptz = 1184
        case uuid = 2950
    }

    /// Microseconds from the Unix epoch to 2000-01-01 00:00:00 UTC, the epoch of binary timestamps.
    private static let postgresEpochMicroseconds: Int64 = 946_684_800_000_000
    private static let headerCount = 20

    private(set) var bytes: [UInt8] = []
    private var count: Int32 = 0

    init(elementType: ElementType, capacity: Int = 0) {
        bytes.reserveCapacity(Self.headerCount + capacity * 20)
        appendInteger(UInt32(1))
        appendInteger(UInt32(0))
        appendInteger(elementType.rawValue)
        appendInteger(UInt32(0))
        appendInteger(UInt32(1))
    }

    /// Returns the finished parameter. An empty array is sent with no dimensions, as the server
    /// itself sends one.
    func encoded() -> [UInt8] {
        if count == 0 {
            var empty = bytes[0..<12]
            empty.replaceSubrange(0..<4, with: [0, 0, 0, 0])
            return Array(empty)
        }
        var result = bytes
        withUnsafeBytes(of: count.bigEndian) { result.replaceSubrange(12..<16, with: $0) }
        return result
    }

    // MARK: - Elements

    mutating func append(_ uuid: UUID) {
        appendLength(16)
        withUnsafeBytes(of: uuid.uuid) { bytes.append(contentsOf: $0) }
    }

    mutating func append(_ value: Int32) {
        appendLength(4)
        appendInteger(UInt32(bitPattern: value))
    }

    mutating func append(_ value: Int64) {
        appendLength(8)
        appendInteger(UInt64(bitPattern: value))
    }

    /// Appends a time, rounded to whole microseconds as `TimestampText` rounds it.
    mutating func append(_ date: Date) {
        let microseconds = Int64((date.timeIntervalSince1970 * 1_000_000).rounded())
        append(microseconds - Self.postgresEpochMicroseconds)
    }

    /// Appends a text value as UTF-8, or NULL.
    ///
    /// - Throws: `DatabaseFailure.dataRejected` with SQLSTATE 22021, as the server would, for a value
    ///   containing U+0000, which no PostgreSQL text value can contain.
    mutating func append(_ text: String?) throws {
        guard var text else {
            appendInteger(UInt32(bitPattern: -1))
            markHasNulls()
            count += 1
            return
        }
        try text.withUTF8 { utf8 in
            if utf8.contains(0) {
                throw DatabaseFailure.dataRejected(
                    sqlState: "22021", message: "invalid byte sequence for encoding \"UTF8\": 0x00")
            }
            appendLength(utf8.count)
            bytes.append(contentsOf: utf8)
        }
    }

    // MARK: - Bytes

    private mutating func appendLength(_ length: Int) {
        appendInteger(UInt32(length))
        count += 1
    }

    private mutating func appendInteger<Value: FixedWidthInteger>(_ value: Value) {
        withUnsafeBytes(of: value.bigEndian) { bytes.append(contentsOf: $0) }
    }

    private mutating func markHasNulls() {
        bytes[7] = 1
    }
}
