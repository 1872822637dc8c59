import Foundation

/// RFC 3339 date-times (section 5.6), parsed strictly and written in UTC.
///
/// Accepted: `2026-01-02T03:04:05Z`, `2026-01-02T03:04:05.123+02:00`, with `T` and `Z` in either case.
/// Rejected: a missing offset, a space for `T`, a date alone, fields out of range (such as February 30).
public enum RFC3339 {
    /// Parses a date-time with its offset, or returns `nil`.
    ///
    /// NOTE: a leap second (`:60`) is rejected, although RFC 3339 allows it, because `Date` cannot
    /// represent it.
    public static func parse(_ text: String) -> Date? {
        var text = text
        return text.withUTF8 { parse(utf8: $0) }
    }

    /// Writes `date` in UTC with `fractionalDigits` digits after the seconds (0 to 9), such as
    /// `2026-01-02T03:04:05.123456Z`.
    public static func format(_ date: Date, fractionalDigits: Int = 6) -> String {
        let digits = min(max(fractionalDigits, 0), 9)
        let scale = Int64(pow(10, Double(digits)))
        let scaled = Int64((date.timeIntervalSince1970 * Double(scale)).rounded(.down))
        let (seconds, fraction) = floorDivision(scaled, scale)
        let (days, secondOfDay) = floorDivision(seconds, 86_400)
        let (year, month, day) = civilDate(daysSinceEpoch: days)

        var text = pad(year, 4) + "-" + pad(month, 2) + "-" + pad(day, 2)
        text += "T" + pad(secondOfDay / 3600, 2) + ":" + pad(secondOfDay / 60 % 60, 2) + ":" + pad(secondOfDay % 60, 2)
        if digits > 0 {
            text += "." + pad(fraction, digits)
        }
        return text + "Z"
    }

    // MARK: - Parsing

    private static func parse(utf8 bytes: UnsafeBufferPointer<UInt8>) -> Date? {
        // The shortest form is 2026-01-02T03:04:05Z (20 bytes).
        guard bytes.count >= 20 else { return nil }
        guard let year = number(bytes, 0, 4), bytes[4] == UInt8(ascii: "-"),
              let month = number(bytes, 5, 2), bytes[7] == UInt8(ascii: "-"),
              let day = number(bytes, 8, 2),
              bytes[10] == UInt8(ascii: "T") || bytes[10] == UInt8(ascii: "t"),
              let hour = number(bytes, 11, 2), bytes[13] == UInt8(ascii: ":"),
              let minute = number(bytes, 14, 2), bytes[16] == UInt8(ascii: ":"),
              let second = number(bytes, 17, 2)
        else { return nil }

        guard (1...12).contains(month), day >= 1, day <= daysInMonth(year: year, month: month),
              hour <= 23, minute <= 59, second <= 59
        else { return nil }

        var position = 19
        var fraction = 0.0
        if bytes[position] == UInt8(ascii: ".") {
            position += 1
            let start = position
            var scale = 0.1
            while position < bytes.count, let digit = digitValue(bytes[position]) {
                fraction += Double(digit) * scale
                scale /= 10
                position += 1
            }
            guard position > start else { return nil }
        }

        guard let offsetSeconds = parseOffset(bytes, from: position) else { return nil }

        let days = daysSinceEpoch(year: year, month: month, day: day)
        let seconds = days * 86_400 + Int64(hour * 3600 + minute * 60 + second) - Int64(offsetSeconds)
        return Date(timeIntervalSince1970: Double(seconds) + fraction)
    }

    /// Parses `Z` or `±HH:MM`, which must end the text; returns the offset east of UTC in seconds.
    private static func parseOffset(_ bytes: UnsafeBufferPointer<UInt8>, from position: Int) -> Int? {
        guard position < bytes.count else { return nil }
        let sign = bytes[position]
        if sign == UInt8(ascii: "Z") || sign == UInt8(ascii: "z") {
            return position + 1 == bytes.count ? 0 : nil
        }
        guard sign == UInt8(ascii: "+") || sign == UInt8(ascii: "-"), position + 6 == bytes.count,
              let hours = number(bytes, position + 1, 2), bytes[position + 3] == UInt8(ascii: ":"),
              let minutes = number(bytes, position + 4, 2),
              hours <= 23, minutes <= 59
        else { return nil }
        let offset = hours * 3600 + minutes * 60
        return sign == UInt8(ascii: "-") ? -offset : offset
    }

    private static func number(_ bytes: UnsafeBufferPointer<UInt8>, _ start: Int, _ count: Int) -> Int? {
        guard start + count <= bytes.count else { return nil }
        var value = 0
        for index in start..<start + count {
            guard let digit = digitValue(bytes[index]) else { return nil }
            value = value * 10 + digit
        }
        return value
    }

    private static func digitValue(_ byte: UInt8) -> Int? {
        byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") ? Int(byte - UInt8(ascii: "0")) : nil
    }

    // MARK: - Calendar arithmetic (proleptic Gregorian, days counted from 1970-01-01)

    private static func daysInMonth(year: Int, month: Int) -> Int {
        switch month {
        case 2:
            let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
            return leap ? 29 : 28
        case 4, 6, 9, 11:
            return 30
        default:
            return 31
        }
    }

    /// Days from 1970-01-01 to the given date, by Howard Hinnant's `days_from_civil` algorithm.
    private static func daysSinceEpoch(year: Int, month: Int, day: Int) -> Int64 {
        let shiftedYear = Int64(month <= 2 ? year - 1 : year)
        let era = (shiftedYear >= 0 ? shiftedYear : shiftedYear - 399) / 400
        let yearOfEra = shiftedYear - era * 400
        let monthFromMarch = Int64(month > 2 ? month - 3 : month + 9)
        let dayOfYear = (153 * monthFromMarch + 2) / 5 + Int64(day) - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    /// Returns the date of a day counted from 1970-01-01, by Howard Hinnant's `civil_from_days` algorithm.
    private static func civilDate(daysSinceEpoch days: Int64) -> (year: Int64, month: Int64, day: Int64) {
        let shifted = days + 719_468
        let era = (shifted >= 0 ? shifted : shifted - 146_096) / 146_097
        let dayOfEra = shifted - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthFromMarch = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * monthFromMarch + 2) / 5 + 1
        let month = monthFromMarch < 10 ? monthFromMarch + 3 : monthFromMarch - 9
        let year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
        return (year, month, day)
    }

    private static func floorDivision(_ dividend: Int64, _ divisor: Int64) -> (quotient: Int64, remainder: Int64) {
        var quotient = dividend / divisor
        var remainder = dividend % divisor
        if remainder < 0 {
            quotient -= 1
            remainder += divisor
        }
        return (quotient, remainder)
    }

    private static func pad(_ value: Int64, _ width: Int) -> String {
        let digits = String(value)
        return digits.count >= width ? digits : String(repeating: "0", count: width - digits.count) + digits
    }
}
