/// Strict UTF-8 well-formedness, following the table of well-formed byte sequences in the
/// Unicode Standard (chapter 3, table 3-7).
enum UTF8Validation {
    /// The first ill-formed sequence: its offset and what is wrong with it.
    struct Failure: Equatable {
        var offset: Int
        var reason: String
    }

    /// Returns the first ill-formed sequence in `bytes`, or `nil` when all of it is well-formed UTF-8.
    ///
    /// Rejects overlong forms, UTF-16 surrogates encoded in UTF-8 (U+D800 to U+DFFF), code points above
    /// U+10FFFF, stray continuation bytes and sequences cut short by the end of the input.
    static func firstFailure(in bytes: UnsafeBufferPointer<UInt8>) -> Failure? {
        guard let base = bytes.baseAddress else { return nil }
        let count = bytes.count
        var index = 0

        while index < count {
            // Most records are pure ASCII: test eight bytes at a time for a set high bit.
            if index + 8 <= count {
                let word = UnsafeRawPointer(base + index).loadUnaligned(as: UInt64.self)
                if word & 0x8080_8080_8080_8080 == 0 {
                    index += 8
                    continue
                }
            }

            let lead = base[index]
            if lead < 0x80 {
                index += 1
                continue
            }

            let length: Int
            var secondLow: UInt8 = 0x80
            var secondHigh: UInt8 = 0xBF
            switch lead {
            case 0x80...0xBF:
                return Failure(offset: index, reason: "continuation byte 0x\(hex(lead)) without a lead byte")
            case 0xC0, 0xC1:
                return Failure(offset: index, reason: "overlong encoding (lead byte 0x\(hex(lead)))")
            case 0xC2...0xDF:
                length = 2
            case 0xE0:
                length = 3
                secondLow = 0xA0
            case 0xE1...0xEC, 0xEE, 0xEF:
                length = 3
            case 0xED:
                length = 3
                secondHigh = 0x9F
            case 0xF0:
                length = 4
                secondLow = 0x90
            case 0xF1...0xF3:
                length = 4
            case 0xF4:
                length = 4
                secondHigh = 0x8F
            default:
                return Failure(offset: index, reason: "byte 0x\(hex(lead)) never appears in UTF-8")
            }

            guard index + 1 < count else {
                return Failure(offset: index, reason: "sequence truncated by the end of the input")
            }
            let second = base[index + 1]
            if second < secondLow || second > secondHigh {
                return Failure(offset: index, reason: describeBadSecondByte(lead: lead, second: second))
            }
            for position in 2..<length {
                guard index + position < count else {
                    return Failure(offset: index, reason: "sequence truncated by the end of the input")
                }
                let continuation = base[index + position]
                if continuation & 0xC0 != 0x80 {
                    return Failure(
                        offset: index,
                        reason: "byte 0x\(hex(continuation)) where a continuation byte was expected"
                    )
                }
            }
            index += length
        }
        return nil
    }

    private static func describeBadSecondByte(lead: UInt8, second: UInt8) -> String {
        if second & 0xC0 != 0x80 {
            return "byte 0x\(hex(second)) where a continuation byte was expected"
        }
        switch lead {
        case 0xE0, 0xF0:
            return "overlong encoding"
        case 0xED:
            return "encoded UTF-16 surrogate"
        default:
            return "code point above U+10FFFF"
        }
    }

    static func hex(_ byte: UInt8) -> String {
        let digits = Array("0123456789ABCDEF")
        return String([digits[Int(byte >> 4)], digits[Int(byte & 0x0F)]])
    }
}
