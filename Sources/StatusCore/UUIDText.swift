import Foundation

/// UUIDs as the contract writes them: the canonical 36-character 8-4-4-4-12 hexadecimal form.
///
/// Parsing is strict: no braces, no `urn:uuid:` prefix, no 32-digit form, no surrounding
/// whitespace. Hexadecimal digits may be either case.
public enum UUIDText {
    /// Parses the canonical form, such as `0f8fad5b-d9cb-469f-a165-70867728950e` (any version, either case).
    public static func parseCanonical(_ text: String) -> UUID? {
        var text = text
        return text.withUTF8 { parseCanonical(utf8: $0) }
    }

    /// Parses the canonical form from part of a string.
    public static func parseCanonical(_ text: Substring) -> UUID? {
        var text = text
        return text.withUTF8 { parseCanonical(utf8: $0) }
    }

    /// Parses the canonical form from UTF-8 bytes, such as a Kafka record key.
    public static func parseCanonical(utf8 bytes: UnsafeBufferPointer<UInt8>) -> UUID? {
        guard bytes.count == 36 else { return nil }

        var uuid: uuid_t = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        let parsed = withUnsafeMutableBytes(of: &uuid) { output -> Bool in
            var input = 0
            for outputIndex in 0..<16 {
                // Hyphens sit at offsets 8, 13, 18 and 23, before bytes 4, 6, 8 and 10.
                if outputIndex == 4 || outputIndex == 6 || outputIndex == 8 || outputIndex == 10 {
                    guard bytes[input] == UInt8(ascii: "-") else { return false }
                    input += 1
                }
                guard let high = hexValue(bytes[input]), let low = hexValue(bytes[input + 1]) else {
                    return false
                }
                output[outputIndex] = high << 4 | low
                input += 2
            }
            return true
        }
        return parsed ? UUID(uuid: uuid) : nil
    }

    /// Parses the canonical form from any UTF-8 byte collection.
    public static func parseCanonical(utf8 bytes: some Collection<UInt8>) -> UUID? {
        if let parsed = bytes.withContiguousStorageIfAvailable({ parseCanonical(utf8: $0) }) {
            return parsed
        }
        return Array(bytes).withUnsafeBufferPointer { parseCanonical(utf8: $0) }
    }

    /// Writes the canonical form in lower case, the spelling the store and the error bodies use.
    public static func canonicalLowercase(_ uuid: UUID) -> String {
        withUnsafeBytes(of: uuid.uuid) { input in
            String(unsafeUninitializedCapacity: 36) { output in
                let digits: StaticString = "0123456789abcdef"
                let hexDigits = digits.utf8Start
                var position = 0
                for index in 0..<16 {
                    if index == 4 || index == 6 || index == 8 || index == 10 {
                        output[position] = UInt8(ascii: "-")
                        position += 1
                    }
                    output[position] = hexDigits[Int(input[index] >> 4)]
                    output[position + 1] = hexDigits[Int(input[index] & 0x0F)]
                    position += 2
                }
                return position
            }
        }
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return byte - UInt8(ascii: "A") + 10
        default: return nil
        }
    }
}
