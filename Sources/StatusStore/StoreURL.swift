/// The location of a store, parsed from the URL the operator configured.
///
/// Accepted forms:
/// - `sqlite:PATH`: an SQLite file, relative to the working directory or absolute;
///   `sqlite::memory:` is a private in-memory database that disappears on close.
/// - `postgresql://…` or `postgres://…`: a PostgreSQL connection URI, handed to libpq unchanged,
///   so every libpq parameter works (for example `?options=-c%20search_path%3Dingest` for a schema).
public enum StoreURL: Sendable, Hashable {
    case sqlite(path: String)
    case postgres(uri: String)

    /// The path that selects SQLite's private in-memory database.
    public static let sqliteMemoryPath = ":memory:"

    /// Parses a store URL.
    ///
    /// - Throws: `StoreError.configuration` naming the value and the accepted forms.
    public init(parsing text: String) throws {
        let trimmed = text.trimmingWhitespace()
        if trimmed.hasPrefix("sqlite:") {
            var path = String(trimmed.dropFirst("sqlite:".count))
            // `sqlite:///abs/path` and `sqlite://rel` are common spellings elsewhere; accept them too.
            if path.hasPrefix("//") {
                path = String(path.dropFirst(2))
            }
            guard !path.isEmpty else {
                throw StoreError.configuration(
                    "invalid store URL \"\(text)\": the SQLite path is empty. \(Self.acceptedForms)")
            }
            self = .sqlite(path: path)
            return
        }
        if trimmed.hasPrefix("postgresql://") || trimmed.hasPrefix("postgres://") {
            self = .postgres(uri: trimmed)
            return
        }
        throw StoreError.configuration("invalid store URL \"\(Self.redacted(text))\". \(Self.acceptedForms)")
    }

    static let acceptedForms =
        "Use sqlite:PATH (for example sqlite:var/status.sqlite or sqlite::memory:) "
        + "or postgresql://USER@HOST:PORT/DATABASE."

    /// The URL with any password replaced, fit for logs and error messages.
    public var displayText: String {
        switch self {
        case .sqlite(let path): return "sqlite:\(path)"
        case .postgres(let uri): return Self.redacted(uri)
        }
    }

    /// Hides the password of `scheme://user:password@host` so a misconfigured URL can be printed safely.
    static func redacted(_ text: String) -> String {
        guard let schemeEnd = text.range(of: "://") else { return text }
        let rest = text[schemeEnd.upperBound...]
        guard let at = rest.firstIndex(of: "@") else { return text }
        let userInfo = rest[rest.startIndex..<at]
        guard let colon = userInfo.firstIndex(of: ":") else { return text }
        return String(text[..<colon]) + ":***" + String(text[at...])
    }
}

extension String {
    fileprivate func trimmingWhitespace() -> String {
        var scalars = Substring(self)
        while let first = scalars.first, first.isWhitespace { scalars.removeFirst() }
        while let last = scalars.last, last.isWhitespace { scalars.removeLast() }
        return String(scalars)
    }
}
