/// A set of task names that compares names by their exact UTF-8 bytes.
///
/// Swift's `String` equality uses canonical equivalence, so "é" (U+00E9) equals "e" followed by
/// U+0301. The platform and the store compare task names code point by code point, so a `Set<String>`
/// would accept a name that the store then treats as a different task. This set does not.
public struct TaskNameSet: Sendable {
    private var names: Set<ExactName>

    /// Creates the set of `names`; duplicates are kept once.
    public init(_ names: some Sequence<String>) {
        var set = Set<ExactName>(minimumCapacity: names.underestimatedCount)
        for name in names {
            set.insert(ExactName(name))
        }
        self.names = set
    }

    /// Returns whether `name` is in the set, byte for byte.
    public func contains(_ name: String) -> Bool {
        names.contains(ExactName(name))
    }

    /// Adds `name`; returns whether it was new.
    @discardableResult
    public mutating func insert(_ name: String) -> Bool {
        names.insert(ExactName(name)).inserted
    }

    public var count: Int { names.count }
}

/// A string whose equality and hash follow its UTF-8 bytes instead of canonical equivalence.
struct ExactName: Hashable, Sendable {
    var text: String

    init(_ text: String) {
        self.text = text
    }

    static func == (left: ExactName, right: ExactName) -> Bool {
        ExactText.equal(left.text, right.text)
    }

    /// Hashes the string as Swift does. Byte-equal strings are canonically equal, so they hash alike,
    /// and only canonically equivalent names (rare) share a hash without being equal.
    func hash(into hasher: inout Hasher) {
        hasher.combine(text)
    }
}
