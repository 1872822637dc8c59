import Foundation

/// Byte-exact comparison of strings.
///
/// Swift's `==` on `String` uses canonical equivalence, so "é" (U+00E9) equals "e" followed by
/// U+0301. The platform (Python) and the databases compare code points, so the contract's names
/// and statuses must compare their UTF-8 bytes instead.
enum ExactText {
    /// Returns whether `left` and `right` have the same UTF-8 bytes.
    static func equal(_ left: String, _ right: String) -> Bool {
        // Byte-equal strings are always canonically equal, so `!=` rejects quickly and exactly.
        // Canonically equal strings may still differ in bytes (composed and decomposed forms).
        guard left == right, left.utf8.count == right.utf8.count else { return false }

        var left = left
        var right = right
        return left.withUTF8 { leftBytes in
            right.withUTF8 { rightBytes in
                guard leftBytes.count == rightBytes.count else { return false }
                guard let leftStart = leftBytes.baseAddress, let rightStart = rightBytes.baseAddress else { return true }
                return memcmp(leftStart, rightStart, leftBytes.count) == 0
            }
        }
    }
}
