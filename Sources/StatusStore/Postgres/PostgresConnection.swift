import CLibPQ
import Foundation

/// One libpq connection with its prepared statements. The only place libpq's C API is called,
/// with `PostgresResult`.
///
/// A lost connection is noticed when a call fails and re-opened lazily by the next call, which
/// prepares its statements again.
final class PostgresConnection {
    private let uri: String
    private var handle: OpaquePointer?
    private var preparedNames: Set<String> = []

    /// Checks the URI and connects.
    ///
    /// - Throws: `StoreError.configuration` when libpq cannot parse the URI,
    ///   `DatabaseFailure.transient` when the server cannot be reached or rejects the login.
    init(uri: String) throws {
        var parseError: UnsafeMutablePointer<CChar>?
        guard let options = PQconninfoParse(uri, &parseError) else {
            let message = parseError.map { String(cString: $0) } ?? "out of memory"
            PQfreemem(parseError)
            throw StoreError.configuration(
                "invalid PostgreSQL URL \"\(StoreURL.redacted(uri))\": \(Self.trimmed(message)). "
                    + StoreURL.acceptedForms)
        }
        PQconninfoFree(options)
        self.uri = uri
        try connect()
    }

    deinit {
        close()
    }

    func close() {
        if let handle {
            PQfinish(handle)
        }
        handle = nil
        preparedNames.removeAll()
    }

    /// The server process serving this connection, or 0 when disconnected.
    var backendProcessID: Int32 {
        handle.map { PQbackendPID($0) } ?? 0
    }

    // MARK: - Connecting

    /// Opens a new connection unless the current one is healthy.
    func connectIfNeeded() throws {
        if let handle, PQstatus(handle) == CONNECTION_OK {
            return
        }
        try connect()
    }

    // NOTE: no client-side timeout is set, so a server that stops responding blocks the call. Operators
    // bound it through the URL, for example `connect_timeout`, `keepalives_idle`, `tcp_user_timeout`
    // or `options=-c statement_timeout=…`.
    private func connect() throws {
        close()
        let connection = PQconnectdb(uri)
        guard let connection, PQstatus(connection) == CONNECTION_OK else {
            let message = connection.map { Self.trimmed(String(cString: PQerrorMessage($0))) } ?? "out of memory"
            PQfinish(connection)
            throw DatabaseFailure.transient(
                "cannot connect to PostgreSQL at \(StoreURL.redacted(uri)): \(message)")
        }
        handle = connection
        // Server notices (for example "relation already exists, skipping") would go to stderr otherwise.
        PQsetNoticeProcessor(connection, { _, _ in }, nil)
    }

    private func openHandle() throws -> OpaquePointer {
        try connectIfNeeded()
        guard let handle else {
            throw DatabaseFailure.transient("not connected to PostgreSQL")
        }
        return handle
    }

    // MARK: - Statements

    /// Runs one or more statements without parameters (schema changes, transaction control).
    @discardableResult
    func execute(_ sql: String) throws -> PostgresResult {
        let handle = try openHandle()
        return try check(PQexec(handle, sql), on: handle)
    }

    /// Runs one statement with text parameters, where nil is SQL NULL.
    @discardableResult
    func query(_ sql: String, _ parameters: [String?]) throws -> PostgresResult {
        let handle = try openHandle()
        let result = withCStrings(parameters) { pointers in
            PQexecParams(handle, sql, Int32(pointers.count), nil, pointers, nil, nil, 0)
        }
        return try check(result, on: handle)
    }

    /// Runs a named statement, preparing it first on this connection when needed.
    @discardableResult
    func prepared(_ name: String, _ sql: String, _ parameters: [String?]) throws -> PostgresResult {
        let handle = try openHandle()
        if !preparedNames.contains(name) {
            try check(PQprepare(handle, name, sql, Int32(parameters.count), nil), on: handle)
            preparedNames.insert(name)
        }
        let result = withCStrings(parameters) { pointers in
            PQexecPrepared(handle, name, Int32(pointers.count), pointers, nil, nil, 0)
        }
        return try check(result, on: handle)
    }

    /// Runs a named statement with parameters in binary format, preparing it first on this connection
    /// when needed. Results come back as text.
    @discardableResult
    func prepared(_ name: String, _ sql: String, binaryParameters parameters: [[UInt8]]) throws -> PostgresResult {
        let handle = try openHandle()
        if !preparedNames.contains(name) {
            try check(PQprepare(handle, name, sql, Int32(parameters.count), nil), on: handle)
            preparedNames.insert(name)
        }
        let lengths = parameters.map { Int32($0.count) }
        let formats = [Int32](repeating: 1, count: parameters.count)
        let result = withBytePointers(parameters) { pointers in
            PQexecPrepared(handle, name, Int32(pointers.count), pointers, lengths, formats, 0)
        }
        return try check(result, on: handle)
    }

    /// Rolls back the open transaction, if any, ignoring errors: used on paths that already failed.
    func rollbackQuietly() {
        guard let handle, PQstatus(handle) == CONNECTION_OK,
              PQtransactionStatus(handle) != PQTRANS_IDLE
        else { return }
        PQclear(PQexec(handle, "ROLLBACK"))
    }

    // MARK: - Results and errors

    @discardableResult
    private func check(_ result: OpaquePointer?, on handle: OpaquePointer) throws -> PostgresResult {
        guard let result else {
            throw DatabaseFailure.transient("PostgreSQL call failed: \(Self.trimmed(String(cString: PQerrorMessage(handle))))")
        }
        let status = PQresultStatus(result)
        if status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK || status == PGRES_EMPTY_QUERY {
            return PostgresResult(handle: result)
        }
        defer { PQclear(result) }
        throw Self.failure(of: result, connection: handle)
    }

    /// Sorts a failed result into data the database rejects (SQLSTATE classes 22 and 23) and failures
    /// worth retrying (everything else, including a lost connection, which has no SQLSTATE). A unique
    /// violation of `applied_records` is not the record's data at fault but a race with another writer,
    /// so it is retried.
    private static func failure(of result: OpaquePointer, connection: OpaquePointer) -> DatabaseFailure {
        let sqlState = field(result, "C")
        let primary = field(result, "M")
        if sqlState == uniqueViolation, field(result, "n") == appliedRecordsKey {
            return .transient(
                "another writer recorded the same source in applied_records (\(primary ?? "")); "
                    + "the call is retried and will find it")
        }
        if let sqlState, sqlState.hasPrefix("22") || sqlState.hasPrefix("23") {
            return .dataRejected(sqlState: sqlState, message: primary ?? "")
        }
        var message = trimmed(String(cString: PQresultErrorMessage(result)))
        if message.isEmpty {
            message = trimmed(String(cString: PQerrorMessage(connection)))
        }
        if let sqlState {
            return .transient("PostgreSQL error \(sqlState): \(message)")
        }
        return .transient("PostgreSQL connection failed: \(message)")
    }

    private static let uniqueViolation = "23505"
    /// The primary key of `applied_records`, named by PostgreSQL's default for the schema's first migration.
    private static let appliedRecordsKey = "applied_records_pkey"

    /// Returns a diagnostic field by its one-letter code from libpq-fe.h: `PG_DIAG_SQLSTATE` is "C",
    /// `PG_DIAG_MESSAGE_PRIMARY` is "M" and `PG_DIAG_CONSTRAINT_NAME` is "n".
    private static func field(_ result: OpaquePointer, _ code: Unicode.Scalar) -> String? {
        PQresultErrorField(result, Int32(code.value)).map { String(cString: $0) }
    }

    static func trimmed(_ message: String) -> String {
        var text = Substring(message)
        while let last = text.last, last.isWhitespace { text.removeLast() }
        return String(text)
    }
}

/// Calls `body` with C strings for the parameters; nil becomes a null pointer (SQL NULL).
private func withCStrings<Result>(
    _ parameters: [String?], _ body: ([UnsafePointer<CChar>?]) -> Result
) -> Result {
    let storage: [UnsafeMutablePointer<CChar>?] = parameters.map { $0.flatMap { strdup($0) } }
    defer { storage.forEach { free($0) } }
    return body(storage.map { $0.map { UnsafePointer($0) } })
}

/// Calls `body` with a pointer to each parameter's bytes, valid only during the call.
private func withBytePointers<Result>(
    _ parameters: [[UInt8]], _ body: ([UnsafePointer<CChar>?]) -> Result
) -> Result {
    var pointers: [UnsafePointer<CChar>?] = []
    pointers.reserveCapacity(parameters.count)

    func collect(_ index: Int) -> Result {
        guard index < parameters.count else { return body(pointers) }
        return parameters[index].withUnsafeBufferPointer { buffer in
            pointers.append(UnsafeRawPointer(buffer.baseAddress).map { $0.assumingMemoryBound(to: CChar.self) })
            return collect(index + 1)
        }
    }
    return collect(0)
}
