import Foundation

/// Makes time-ordered UUIDs of version 7 (RFC 9562), strictly increasing for one generator.
///
/// Layout: 48 bits of Unix time in milliseconds, the version, a 12-bit counter in `rand_a`
/// (RFC 9562 section 6.2, method 1), the variant, and 62 random bits. Within one millisecond the
/// counter increases. When it would overflow, or when the clock steps back, the generator keeps
/// counting on its last timestamp, so it runs slightly ahead of the clock instead of repeating or
/// reordering ids. Ids of one generator therefore sort in creation order, as bytes and as text.
/// Ids of different generators (other threads, other processes) are unique but only ordered
/// to the millisecond.
public struct UUIDv7Generator: Sendable {
    /// The counter starts each millisecond at a random value below this, leaving room to count up.
    private static let counterSeedLimit: UInt16 = 0x800
    private static let counterMaximum: UInt16 = 0xFFF

    private var lastMilliseconds: UInt64 = 0
    private var counter: UInt16 = 0
    private var random = RandomBits()

    public init() {}

    /// Makes the next id from the system clock.
    public mutating func next() -> UUID {
        next(unixMilliseconds: UInt64(max(0, Date().timeIntervalSince1970 * 1000)))
    }

    /// Makes the next id for the given time, never earlier than the previous id's.
    public mutating func next(unixMilliseconds: UInt64) -> UUID {
        let milliseconds = unixMilliseconds & 0xFFFF_FFFF_FFFF
        if milliseconds > lastMilliseconds {
            lastMilliseconds = milliseconds
            counter = UInt16(truncatingIfNeeded: random.next()) % Self.counterSeedLimit
        } else if counter < Self.counterMaximum {
            counter += 1
        } else {
            lastMilliseconds += 1
            counter = 0
        }
        return makeUUID(milliseconds: lastMilliseconds, counter: counter, randomBits: random.next())
    }

    /// The Unix time in milliseconds stored in a version 7 id, or `nil` for another version.
    public static func unixMilliseconds(of uuid: UUID) -> UInt64? {
        withUnsafeBytes(of: uuid.uuid) { bytes in
            guard bytes[6] >> 4 == 7 else { return nil }
            return bytes[0..<6].reduce(0) { $0 << 8 | UInt64($1) }
        }
    }

    private func makeUUID(milliseconds: UInt64, counter: UInt16, randomBits: UInt64) -> UUID {
        var uuid: uuid_t = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        withUnsafeMutableBytes(of: &uuid) { bytes in
            for index in 0..<6 {
                bytes[index] = UInt8(truncatingIfNeeded: milliseconds >> (40 - 8 * index))
            }
            bytes[6] = 0x70 | UInt8(counter >> 8)
            bytes[7] = UInt8(truncatingIfNeeded: counter)
            bytes[8] = 0x80 | UInt8(truncatingIfNeeded: randomBits >> 58)
            for index in 9..<16 {
                bytes[index] = UInt8(truncatingIfNeeded: randomBits >> (8 * (15 - index)))
            }
        }
        return UUID(uuid: uuid)
    }
}
