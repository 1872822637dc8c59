/// Opens the store a URL names.
public enum StoreFactory {
    /// Opens an SQLite or PostgreSQL store. The schema is not touched: call `migrate()` next.
    ///
    /// - Parameter url: `sqlite:PATH`, `sqlite::memory:`, `postgresql://…` or `postgres://…`.
    /// - Throws: `StoreError.configuration` for an unknown form, an SQLite file that cannot be created or
    ///   opened, or a PostgreSQL URI that libpq cannot parse. `StoreError.transient` when the PostgreSQL
    ///   server cannot be reached or rejects the login, so that a worker retries instead of exiting.
    public static func open(url: String) throws -> any TaskStatusStore {
        switch try StoreURL(parsing: url) {
        case .sqlite(let path):
            return try SQLiteStore(path: path)
        case .postgres(let uri):
            return try PostgresStore(uri: uri)
        }
    }
}
