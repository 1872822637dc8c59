import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Times as both databases store and accept them: ISO 8601 in UTC with microseconds,
/// for example `2025-01-31T09:15:02.123456Z`.
///
/// Microseconds are PostgreSQL's `timestamptz` resolution, so SQLite keeps the same precision.
enum TimestampText {
    static func format(_ date: Date) -> String {
        let microseconds = Int64((date.timeIntervalSince1970 * 1_000_000).rounded())
        var seconds = microseconds / 1_000_000
        var fraction = microseconds % 1_000_000
        if fraction < 0 {
            seconds -= 1
            fraction += 1_000_000
        }

        var time = time_t(seconds)
        var parts = tm()
        gmtime_r(&time, &parts)

        // Written digit by digit into one buffer: `apply` formats a time for every history row.
        return String(unsafeUninitializedCapacity: 27) { output in
            var position = 0
            func write(_ value: Int, digits: Int) {
                var remaining = value
                for index in stride(from: digits - 1, through: 0, by: -1) {
                    output[position + index] = UInt8(ascii: "0") + UInt8(remaining % 10)
                    remaining /= 10
                }
                position += digits
            }
            func write(_ character: Unicode.Scalar) {
                output[position] = UInt8(ascii: character)
                position += 1
            }

            write(Int(parts.tm_year) + 1900, digits: 4)
            write("-")
            write(Int(parts.tm_mon) + 1, digits: 2)
            write("-")
            write(Int(parts.tm_mday), digits: 2)
            write("T")
            write(Int(parts.tm_hour), digits: 2)
            write(":")
            write(Int(parts.tm_min), digits: 2)
            write(":")
            write(Int(parts.tm_sec), digits: 2)
            write(".")
            write(Int(fraction), digits: 6)
            write("Z")
            return position
        }
    }
}
