import StatusStore

/// Opens the extra store connections a worker applies its chunks on, beside its first one.
enum StoreConnections {
    /// The number of connections used when the configuration does not say: PostgreSQL runs one
    /// transaction per connection at a time, so two keep both cores of a small machine busy; SQLite
    /// lets one writer in at a time, so more connections would only wait on each other.
    static func defaultCount(for url: String) -> Int {
        url.hasPrefix("sqlite:") ? 1 : 2
    }

    /// Opens the connections beyond the first, for `total` in all (nil: the default); none for SQLite.
    static func openAdditional(url: String, total: Int?) throws -> [any TaskStatusStore] {
        guard !url.hasPrefix("sqlite:") else { return [] }
        let count = max(1, total ?? defaultCount(for: url)) - 1
        return try (0..<count).map { _ in try StoreFactory.open(url: url) }
    }
}
