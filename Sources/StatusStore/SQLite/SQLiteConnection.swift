import CSQLite
import Foundation

/// One SQLite database handle and its cache of prepared statements. The only place SQLite's C API is called,
/// with `SQLiteStatement`.
final class SQLiteConnection {
    private var handle: OpaquePointer?
    private var statements: [String: SQLiteStatement] = [:]

    /// Opens or creates the database file, creating its parent directory when missing.
    ///
    /// - Throws: `StoreError.configuration` when the directory or file cannot be created or opened.
    init(path: String, busyTimeoutMilliseconds: Int32) throws {
        if path != StoreURL.sqliteMemoryPath {
            try Self.createParentDirectory(of: path)
        }

        var opened: OpaquePointer?
        let flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX
        let code = sqlite3_open_v2(path, &opened, flags, nil)
        guard code == SQLITE_OK, let opened else {
            let message = opened.map { String(cString: sqlite3_errmsg($0)) } ?? String(cString: sqlite3_errstr(code))
            sqlite3_close_v2(opened)
            throw StoreError.configuration(
                "cannot open the SQLite database \"\(path)\": \(message). Check that the path is writable.")
        }
        handle = opened
        sqlite3_extended_result_codes(opened, 1)
        sqlite3_busy_timeout(opened, busyTimeoutMilliseconds)
    }

    deinit {
        close()
    }

    func close() {
        for statement in statements.values {
            statement.finalize()
        }
        statements.removeAll()
        if let handle {
            sqlite3_close_v2(handle)
        }
        handle = nil
    }

    private static func createParentDirectory(of path: String) throws {
        let directory = URL(fileURLWithPath: path).deletingLastPathComponent().path
        guard !directory.isEmpty, !FileManager.default.fileExists(atPath: directory) else { return }
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw StoreError.configuration(
                "cannot create the directory \"\(directory)\" for the SQLite database: \(error). "
                    + "Create it or choose another path.")
        }
    }

    // MARK: - Statements

    /// Runs one or more statements without parameters or results (schema changes, pragmas, transactions).
    func execute(_ sql: String) throws {
        let database = try openHandle()
        var errorMessage: UnsafeMutablePointer<CChar>?
        let code = sqlite3_exec(database, sql, nil, nil, &errorMessage)
        let message = errorMessage.map { String(cString: $0) } ?? ""
        sqlite3_free(errorMessage)
        if code != SQLITE_OK {
            throw Self.failure(code: sqlite3_extended_errcode(database), message: message)
        }
    }

    /// Returns the cached prepared statement for `sql`, preparing it once per connection.
    func statement(_ sql: String) throws -> SQLiteStatement {
        if let cached = statements[sql] {
            return cached
        }
        let database = try openHandle()
        var prepared: OpaquePointer?
        let code = sqlite3_prepare_v3(database, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &prepared, nil)
        guard code == SQLITE_OK, let prepared else {
            throw Self.failure(code: sqlite3_extended_errcode(database), message: String(cString: sqlite3_errmsg(database)))
        }
        let statement = SQLiteStatement(handle: prepared, connection: self)
        statements[sql] = statement
        return statement
    }

    var isInTransaction: Bool {
        guard let handle else { return false }
        return sqlite3_get_autocommit(handle) == 0
    }

    /// Rolls back the open transaction, if any, ignoring errors: used on paths that already failed.
    func rollbackQuietly() {
        guard let handle, isInTransaction else { return }
        sqlite3_exec(handle, "ROLLBACK", nil, nil, nil)
    }

    private func openHandle() throws -> OpaquePointer {
        guard let handle else {
            throw DatabaseFailure.transient("the SQLite store is closed")
        }
        return handle
    }

    /// Returns the last error on this connection as a `DatabaseFailure`.
    func lastFailure(code: Int32) -> DatabaseFailure {
        let message = handle.map { String(cString: sqlite3_errmsg($0)) } ?? String(cString: sqlite3_errstr(code))
        let extended = handle.map { sqlite3_extended_errcode($0) } ?? code
        return Self.failure(code: extended, message: message)
    }

    // MARK: - Error classes

    /// Sorts an SQLite result code into data the database rejects and failures worth retrying.
    static func failure(code: Int32, message: String) -> DatabaseFailure {
        let primary = code & 0xff
        switch primary {
        case SQLITE_CONSTRAINT, SQLITE_TOOBIG, SQLITE_MISMATCH:
            return .dataRejected(sqlState: "SQLITE_\(codeName(code))", message: message)
        default:
            return .transient("SQLite error \(codeName(code)) (\(code)): \(message)")
        }
    }

    /// Returns the symbolic name of a result code for messages, because `sqlite3_errstr` gives only an
    /// English phrase. Swift does not import the extended codes, which are C macros, so their values
    /// are copied from sqlite3.h.
    static func codeName(_ code: Int32) -> String {
        let extendedConstraintNames: [Int32: String] = [
            275: "CONSTRAINT_CHECK", 787: "CONSTRAINT_FOREIGNKEY", 1299: "CONSTRAINT_NOTNULL",
            1555: "CONSTRAINT_PRIMARYKEY", 1811: "CONSTRAINT_TRIGGER", 2067: "CONSTRAINT_UNIQUE",
        ]
        if let name = extendedConstraintNames[code] {
            return name
        }
        switch code & 0xff {
        case SQLITE_CONSTRAINT: return "CONSTRAINT"
        case SQLITE_TOOBIG: return "TOOBIG"
        case SQLITE_MISMATCH: return "MISMATCH"
        case SQLITE_BUSY: return "BUSY"
        case SQLITE_LOCKED: return "LOCKED"
        case SQLITE_IOERR: return "IOERR"
        case SQLITE_FULL: return "FULL"
        case SQLITE_READONLY: return "READONLY"
        case SQLITE_CORRUPT: return "CORRUPT"
        case SQLITE_CANTOPEN: return "CANTOPEN"
        default: return String(cString: sqlite3_errstr(code))
        }
    }
}
