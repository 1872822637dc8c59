import CLibPQ

/// A successful libpq result, freed when released. Values are in text format.
final class PostgresResult {
    private let handle: OpaquePointer

    init(handle: OpaquePointer) {
        self.handle = handle
    }

    deinit {
        PQclear(handle)
    }

    var rowCount: Int { Int(PQntuples(handle)) }

    /// Returns the value at a row and column, or nil for SQL NULL.
    func text(_ row: Int, _ column: Int) -> String? {
        if PQgetisnull(handle, Int32(row), Int32(column)) != 0 {
            return nil
        }
        return String(cString: PQgetvalue(handle, Int32(row), Int32(column)))
    }
}
