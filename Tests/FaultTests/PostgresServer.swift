import Foundation
import XCTest

/// The throw-away PostgreSQL server of `scripts/with-postgres.sh`: schemas for isolation, queries
/// through `psql`, and stopping and starting the server in the middle of a run.
struct PostgresServer {
    /// `postgresql://postgres@127.0.0.1:PORT/postgres`, as the script exports it.
    let url: String
    /// The cluster's data directory (`STATUS_INGEST_TEST_POSTGRES_DATA`), needed to stop and start it.
    let dataDirectory: String?
    /// The directory of `pg_ctl` (`STATUS_INGEST_TEST_POSTGRES_BIN`).
    let binaryDirectory: String?

    // MARK: - Schemas and queries

    /// Creates an empty schema and returns a URL whose connections use it, so each test has tables of its own.
    func urlWithFreshSchema() throws -> String {
        let schema = "fault_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "").prefix(16)
        try execute("CREATE SCHEMA \(schema)", url: url)
        let separator = url.contains("?") ? "&" : "?"
        return url + separator + "options=-c%20search_path%3D\(schema)"
    }

    /// Returns `url` with one more server setting for its sessions, such as `lock_timeout=1000`.
    ///
    /// Expects a URL made by `urlWithFreshSchema()`, whose `options` parameter comes last.
    func url(_ url: String, addingSetting setting: String) -> String {
        url + "%20-c%20" + setting.replacingOccurrences(of: "=", with: "%3D")
    }

    /// Runs SQL statements and stops at the first error.
    func execute(_ sql: String, url: String) throws {
        try FaultEnvironment.runCommand(["psql", url, "-v", "ON_ERROR_STOP=1", "-q", "-c", sql])
    }

    /// Runs a query and returns its rows, each a list of column texts.
    func rows(_ sql: String, url: String) throws -> [[String]] {
        let output = try FaultEnvironment.runCommand(["psql", url, "-v", "ON_ERROR_STOP=1", "-q", "-A", "-t", "-F", "\t", "-c", sql])
        return output.split(separator: "\n").map { $0.split(separator: "\t", omittingEmptySubsequences: false).map(String.init) }
    }

    // MARK: - Stopping and starting

    /// Stops the server at once (`pg_ctl stop -m fast`): open connections are cut, new ones refused.
    func stop() throws {
        let (data, binaries) = try controlPaths()
        try FaultEnvironment.runCommand(asServerUser + [binaries + "/pg_ctl", "-D", data, "-m", "fast", "-w", "-t", "60", "stop"])
    }

    /// Starts the server again with the options `scripts/with-postgres.sh` gave it, and waits until it accepts connections.
    func start() throws {
        let (data, binaries) = try controlPaths()
        guard let port = URLComponents(string: url)?.port else {
            throw FaultSetupError("cannot read the port of \(url)")
        }
        // The script keeps the socket directory and the server log beside the data directory.
        let base = URL(fileURLWithPath: data).deletingLastPathComponent().path
        let options = "-p \(port) -k \(base)/socket -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200"
        try FaultEnvironment.runCommand(
            asServerUser + [binaries + "/pg_ctl", "-D", data, "-l", base + "/server.log", "-w", "-t", "60", "-o", options, "start"])
    }

    /// Stops the server, runs `body`, and starts the server again even when `body` throws, so a
    /// failed case does not leave the next one without a database.
    func whileStopped<Result>(_ body: () throws -> Result) throws -> Result {
        try stop()
        let result: Result
        do {
            result = try body()
        } catch {
            try? start()
            throw error
        }
        try start()
        return result
    }

    // MARK: - Locks

    /// Takes an exclusive lock on `table` in a `psql` session of its own and keeps it until
    /// `TableLock.release()`: every statement of the worker that touches the table waits meanwhile.
    func lockTable(_ table: String, url: String) throws -> TableLock {
        try TableLock(table: table, url: url)
    }

    private func controlPaths() throws -> (data: String, binaries: String) {
        guard let dataDirectory, !dataDirectory.isEmpty, let binaryDirectory, !binaryDirectory.isEmpty else {
            throw FaultSetupError(
                "STATUS_INGEST_TEST_POSTGRES_DATA and STATUS_INGEST_TEST_POSTGRES_BIN are needed to stop and start "
                    + "the server: run the tests through scripts/with-postgres.sh")
        }
        return (dataDirectory, binaryDirectory)
    }

    /// The script runs the server as the `postgres` user when the tests run as root, because initdb
    /// rejects root. pg_ctl must then run as that user too.
    private var asServerUser: [String] {
        getuid() == 0 ? ["runuser", "-u", "postgres", "--"] : []
    }
}

/// An `ACCESS EXCLUSIVE` lock held by an open `psql` session.
final class TableLock {
    private let process = Process()
    private let input = Pipe()
    private let output = Pipe()
    private var isReleased = false

    fileprivate init(table: String, url: String) throws {
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["psql", url, "-v", "ON_ERROR_STOP=1", "-q", "-A", "-t"]
        process.standardInput = input
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        input.fileHandleForWriting.write(Data("BEGIN;\nLOCK TABLE \(table) IN ACCESS EXCLUSIVE MODE;\nSELECT 'locked';\n".utf8))

        // psql prints the marker only once the lock is granted.
        var received = ""
        while !received.contains("locked") {
            let data = output.fileHandleForReading.availableData
            guard !data.isEmpty else {
                throw FaultSetupError("psql exited before it locked \(table)")
            }
            received += String(decoding: data, as: UTF8.self)
        }
    }

    deinit {
        release()
    }

    /// Ends the transaction, which releases the lock, and waits for psql to exit.
    func release() {
        guard !isReleased else { return }
        isReleased = true
        input.fileHandleForWriting.write(Data("COMMIT;\n".utf8))
        try? input.fileHandleForWriting.close()
        process.waitUntilExit()
    }
}
