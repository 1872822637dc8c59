/// A ULID: 48 bits of Unix time in milliseconds and 80 random bits, written as 26 characters of
/// Crockford's base 32, such as `01K8KABR6S16YETA2SZPVBS9SP`. The platform uses ULIDs as request ids.
///
/// Comparison follows the text order, which is the time order.
public struct ULID: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// The upper 64 bits: the 48-bit timestamp, then the first 16 random bits.
    public let high: UInt64
    /// The lower 64 random bits.
    public let low: UInt64

    private static let alphabet: [UInt8] = Array("0123456789ABCDEFGHJKMNPQRSTVWXYZ".utf8)

    /// Creates a ULID from its 128 bits, most significant half first.
    public init(high: UInt64, low: UInt64) {
        self.high = high
        self.low = low
    }

    /// Creates a ULID from a millisecond timestamp (only its lower 48 bits are kept) and 80 random bits.
    public init(unixMilliseconds: UInt64, randomHigh: UInt16, randomLow: UInt64) {
        self.high = (unixMilliseconds & 0xFFFF_FFFF_FFFF) << 16 | UInt64(randomHigh)
        self.low = randomLow
    }

    /// Parses the 26-character text, letters in either case.
    ///
    /// Returns `nil` for any other length, a character outside Crockford's alphabet (which leaves
    /// out I, L, O and U), or a first character above `7`, which would not fit in 128 bits.
    public init?(string: String) {
        let characters = Array(string.utf8)
        guard characters.count == 26 else { return nil }

        var high: UInt64 = 0
        var low: UInt64 = 0
        for (index, character) in characters.enumerated() {
            guard let value = Self.decodeCharacter(character) else { return nil }
            if index == 0 && value > 7 { return nil }
            high = high << 5 | low >> 59
            low = low << 5 | UInt64(value)
        }
        self.init(high: high, low: low)
    }

    /// The Unix time in milliseconds when the ULID was made.
    public var unixMilliseconds: UInt64 { high >> 16 }

    /// The 26-character text in upper case.
    public var description: String {
        String(unsafeUninitializedCapacity: 26) { output in
            // 26 characters of 5 bits hold 130 bits: the first character carries only the top 3.
            for index in 0..<26 {
                output[index] = Self.alphabet[Int(fiveBits(endingAt: 125 - 5 * index))]
            }
            return 26
        }
    }

    public static func < (left: ULID, right: ULID) -> Bool {
        (left.high, left.low) < (right.high, right.low)
    }

    /// Returns the five bits starting at bit `shift`, counted from the least significant of the 128.
    private func fiveBits(endingAt shift: Int) -> UInt8 {
        let value: UInt64
        if shift >= 64 {
            value = high >> UInt64(shift - 64)
        } else if shift > 59 {
            value = low >> UInt64(shift) | high << UInt64(64 - shift)
        } else {
            value = low >> UInt64(shift)
        }
        return UInt8(truncatingIfNeeded: value & 0x1F)
    }

    private static func decodeCharacter(_ character: UInt8) -> UInt8? {
        let upper = character >= UInt8(ascii: "a") && character <= UInt8(ascii: "z") ? character - 32 : character
        guard let index = alphabet.firstIndex(of: upper) else { return nil }
        return UInt8(index)
    }
}
