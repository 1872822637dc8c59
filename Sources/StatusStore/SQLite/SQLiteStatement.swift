import CSQLite

/// A prepared SQLite statement, kept for the life of its connection and reset after each use.
final class SQLiteStatement {
    private var handle: OpaquePointer?
    private unowned let connection: SQLiteConnection

    init(handle: OpaquePointer, connection: SQLiteConnection) {
        self.handle = handle
        self.connection = connection
    }

    func finalize() {
        sqlite3_finalize(handle)
        handle = nil
    }

    /// A value bound to a `?` parameter.
    enum Value {
        case text(String)
        case integer(Int64)
        case null

        static func optionalText(_ text: String?) -> Value {
            text.map(Value.text) ?? .null
        }
    }

    // MARK: - Running

    /// Runs the statement with the given parameters, calling `row` for each result row.
    func run(_ parameters: [Value], row: (SQLiteRow) throws -> Void = { _ in }) throws {
        guard let handle else {
            throw DatabaseFailure.transient("the SQLite statement was finalized")
        }
        defer {
            sqlite3_reset(handle)
            sqlite3_clear_bindings(handle)
        }

        try bind(parameters, to: handle)
        while true {
            let code = sqlite3_step(handle)
            if code == SQLITE_ROW {
                try row(SQLiteRow(handle: handle))
            } else if code == SQLITE_DONE {
                return
            } else {
                throw connection.lastFailure(code: code)
            }
        }
    }

    private func bind(_ parameters: [Value], to handle: OpaquePointer) throws {
        for (offset, value) in parameters.enumerated() {
            let index = Int32(offset + 1)
            let code: Int32
            switch value {
            case .text(let text):
                var text = text
                code = text.withUTF8 { bytes in
                    sqlite3_bind_text(handle, index, bytes.baseAddress, Int32(bytes.count), Self.transientDestructor)
                }
            case .integer(let integer):
                code = sqlite3_bind_int64(handle, index, integer)
            case .null:
                code = sqlite3_bind_null(handle, index)
            }
            if code != SQLITE_OK {
                throw connection.lastFailure(code: code)
            }
        }
    }

    /// `SQLITE_TRANSIENT`: SQLite copies the bytes, because Swift's buffer lives only during the call.
    private static let transientDestructor = unsafeBitCast(-1, to: sqlite3_destructor_type.self)
}

/// The current row of a running statement, valid only inside the `run` callback.
struct SQLiteRow {
    fileprivate let handle: OpaquePointer

    func text(_ column: Int32) -> String? {
        guard sqlite3_column_type(handle, column) != SQLITE_NULL,
              let bytes = sqlite3_column_text(handle, column)
        else { return nil }
        let count = Int(sqlite3_column_bytes(handle, column))
        return String(decoding: UnsafeBufferPointer(start: bytes, count: count), as: UTF8.self)
    }

    func integer(_ column: Int32) -> Int64 {
        sqlite3_column_int64(handle, column)
    }
}
