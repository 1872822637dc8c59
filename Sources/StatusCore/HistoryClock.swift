import Foundation

/// The one source of history row ids and `created_at` times, so that both follow the order in which
/// rows were made.
///
/// `createdAt` is truncated to whole microseconds, the precision of PostgreSQL's `timestamptz`, so a
/// store that rounds it to the nearest microsecond keeps it unchanged. It never decreases, even when
/// the system clock steps back. Ids come from a `UUIDv7Generator` fed with the same time, so
/// consecutive rows have increasing ids and non-decreasing times.
public struct HistoryClock: Sendable {
    private var generator = UUIDv7Generator()
    private var lastMicroseconds: Int64 = 0
    private let currentTime: @Sendable () -> Date

    /// Creates a clock reading the system time, or `currentTime` in tests.
    public init(currentTime: @escaping @Sendable () -> Date = { Date() }) {
        self.currentTime = currentTime
    }

    /// Returns the id and creation time of the next history row.
    public mutating func next() -> (id: UUID, createdAt: Date) {
        let microseconds = max(lastMicroseconds, Int64((currentTime().timeIntervalSince1970 * 1_000_000).rounded(.down)))
        lastMicroseconds = microseconds

        let id = generator.next(unixMilliseconds: UInt64(max(0, microseconds / 1000)))
        let createdAt = Date(timeIntervalSince1970: Double(microseconds) / 1_000_000)
        return (id, createdAt)
    }
}
