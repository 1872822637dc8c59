/// A database error inside a store call, sorted by how it is handled, before it becomes a `StoreError`
/// or an outcome.
enum DatabaseFailure: Error {
    /// The database refused the data itself (PostgreSQL SQLSTATE classes 22 and 23, SQLite constraint,
    /// size and type errors). Retrying the same data cannot help, so the record is isolated and rejected.
    case dataRejected(sqlState: String, message: String)
    /// Anything else: the call is rolled back and the caller retries it.
    case transient(String)
}

extension DatabaseFailure {
    /// The database's own message, without the case name.
    var message: String {
        switch self {
        case .dataRejected(let sqlState, let message): return "\(message) (SQLSTATE \(sqlState))"
        case .transient(let message): return message
        }
    }
}
