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

    /// A URL whose connections use a new, empty schema, so each test has tables of its own.
    func urlWithFreshSchema() throws -> String {
        let schema = "fault_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "").prefix(16)
        try execute("CREATE SCHEMA \(schema)", url: url)
        let separator = url.contains("?") ? "&" : "?"
        return url + separator + "options=-c%20search_path%3D\(schema)"
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

    private func controlPaths() throws -> (data: String, binaries: String) {
        guard let dataDirectory, !dataDirectory.isEmpty, let binaryDirectory, !binaryDirectory.isEmpty else {
            throw FaultSetupError(
                "STATUS_INGEST_TEST_POSTGRES_DATA and STATUS_INGEST_TEST_POSTGRES_BIN are needed to stop and start "
                    + "the server: run the tests through scripts/with-postgres.sh")
        }
        return (dataDirectory, binaryDirectory)
    }

    /// The script runs the server as the `postgres` user when the tests run as root, because initdb
    /// refuses root; pg_ctl must then run as that user too.
    private var asServerUser: [String] {
        getuid() == 0 ? ["runuser", "-u", "postgres", "--"] : []
    }
}
