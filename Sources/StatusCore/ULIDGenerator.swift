import Foundation

/// Makes ULIDs that strictly increase for one generator, following the ULID specification's
/// monotonic method.
///
/// Within one millisecond, the next ULID is the previous one plus one in its random part. If that
/// part would overflow, or the clock steps back, the generator keeps counting on its last timestamp
/// instead of repeating or reordering ids.
public struct ULIDGenerator: Sendable {
    private var last = ULID(high: 0, low: 0)
    private var random = RandomBits()

    public init() {}

    /// Makes the next ULID from the system clock.
    public mutating func next() -> ULID {
        next(unixMilliseconds: UInt64(max(0, Date().timeIntervalSince1970 * 1000)))
    }

    /// Makes the next ULID for the given time, never earlier than the previous one.
    public mutating func next(unixMilliseconds: UInt64) -> ULID {
        let milliseconds = unixMilliseconds & 0xFFFF_FFFF_FFFF
        if milliseconds > last.unixMilliseconds {
            last = ULID(
                unixMilliseconds: milliseconds,
                randomHigh: UInt16(truncatingIfNeeded: random.next()),
                randomLow: random.next()
            )
            return last
        }

        // Add one to the 80 random bits, carrying from the low word into the high word's 16 bits.
        let (low, carry) = last.low.addingReportingOverflow(1)
        var high = last.high
        if carry {
            high += 1
        }
        if high >> 16 != last.unixMilliseconds {
            // The random part wrapped around: move to the next millisecond with fresh randomness.
            last = ULID(
                unixMilliseconds: last.unixMilliseconds + 1,
                randomHigh: UInt16(truncatingIfNeeded: random.next()),
                randomLow: random.next()
            )
        } else {
            last = ULID(high: high, low: low)
        }
        return last
    }
}
