import CSQLite
import Foundation

/// Reads the store's `applied_records` table: the source coordinates of every record the store applied.
///
/// The store has no public call for it, because the worker only needs it inside `apply`. The tests
/// read the table directly to prove that each input record is applied once or dead-lettered once.
enum AppliedRecords {
    /// Returns the applied offsets of `topic`, per partition, from the store at `storeURL`.
    static func offsets(topic: String, storeURL: String, postgres: PostgresServer?) throws -> [Int32: [Int64]] {
        let pairs: [(Int32, Int64)]
        if storeURL.hasPrefix("sqlite:") {
            pairs = try sqliteOffsets(topic: topic, path: String(storeURL.dropFirst("sqlite:".count)))
        } else {
            guard let postgres else {
                throw FaultSetupError("a PostgreSQL store URL needs the test server to be read")
            }
            let rows = try postgres.rows(
                "SELECT source_partition, source_offset FROM applied_records WHERE source_topic = '\(topic)'", url: storeURL)
            pairs = try rows.map { row in
                guard row.count == 2, let partition = Int32(row[0]), let offset = Int64(row[1]) else {
                    throw FaultSetupError("unexpected applied_records row from psql: \(row)")
                }
                return (partition, offset)
            }
        }
        var byPartition: [Int32: [Int64]] = [:]
        for (partition, offset) in pairs {
            byPartition[partition, default: []].append(offset)
        }
        return byPartition
    }

    private static func sqliteOffsets(topic: String, path: String) throws -> [(Int32, Int64)] {
        var handle: OpaquePointer?
        guard sqlite3_open_v2(path, &handle, SQLITE_OPEN_READONLY, nil) == SQLITE_OK, let handle else {
            sqlite3_close_v2(handle)
            throw FaultSetupError("cannot open the SQLite store \(path) to read applied_records")
        }
        defer { sqlite3_close_v2(handle) }

        var statement: OpaquePointer?
        let sql = "SELECT source_partition, source_offset FROM applied_records WHERE source_topic = ?1"
        guard sqlite3_prepare_v2(handle, sql, -1, &statement, nil) == SQLITE_OK, let statement else {
            throw FaultSetupError("cannot read applied_records from \(path): \(String(cString: sqlite3_errmsg(handle)))")
        }
        defer { sqlite3_finalize(statement) }
        // SQLITE_TRANSIENT makes SQLite copy the text, which the Swift string does not keep alive.
        let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)
        sqlite3_bind_text(statement, 1, topic, -1, transient)

        var pairs: [(Int32, Int64)] = []
        while true {
            let code = sqlite3_step(statement)
            if code == SQLITE_DONE { break }
            guard code == SQLITE_ROW else {
                throw FaultSetupError("reading applied_records from \(path) failed: \(String(cString: sqlite3_errmsg(handle)))")
            }
            pairs.append((Int32(sqlite3_column_int(statement, 0)), sqlite3_column_int64(statement, 1)))
        }
        return pairs
    }
}
