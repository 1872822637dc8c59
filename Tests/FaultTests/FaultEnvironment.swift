import Foundation
import XCTest

/// Paths, binaries and the PostgreSQL server that the fault tests use.
enum FaultEnvironment {
    static let repositoryRoot: String = {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
    }()

    /// The read-only shared material beside the repository (`../shared`), or `STATUS_INGEST_SHARED_DIR`.
    static var sharedDirectory: String {
        ProcessInfo.processInfo.environment["STATUS_INGEST_SHARED_DIR"] ?? repositoryRoot + "/../shared"
    }

    /// The sample every case replays: 52,248 records of a real trace with an `expected.json`.
    static var sampleDirectory: String { sharedDirectory + "/samples/trace-3000" }

    static func temporaryDirectory() throws -> String {
        let path = NSTemporaryDirectory() + "status-ingest-faults-" + UUID().uuidString.lowercased()
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    // MARK: - The worker binary

    /// Returns the path of the debug `status-ingest` executable that `swift build` puts beside the test bundle.
    ///
    /// It is looked up next to the bundle (the usual place), then next to the running executable, then in
    /// the repository's `.build/debug`. `STATUS_INGEST_WORKER_BINARY` overrides the search.
    static func workerBinary() throws -> String {
        let environment = ProcessInfo.processInfo.environment
        if let path = environment["STATUS_INGEST_WORKER_BINARY"], !path.isEmpty {
            guard FileManager.default.isExecutableFile(atPath: path) else {
                throw FaultSetupError("STATUS_INGEST_WORKER_BINARY=\(path) is not an executable file")
            }
            return path
        }
        var candidates: [String] = []
        for bundle in Bundle.allBundles where bundle.bundlePath.hasSuffix(".xctest") {
            candidates.append(URL(fileURLWithPath: bundle.bundlePath).deletingLastPathComponent().path)
        }
        candidates.append(Bundle.main.bundleURL.path)
        candidates.append(URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().path)
        candidates.append(repositoryRoot + "/.build/debug")
        for directory in candidates {
            let path = directory + "/status-ingest"
            if FileManager.default.isExecutableFile(atPath: path) {
                return path
            }
        }
        throw FaultSetupError(
            "the status-ingest executable was not found in \(candidates.joined(separator: ", ")): "
                + "build it with 'swift build --product status-ingest' (same --scratch-path as the tests) "
                + "or set STATUS_INGEST_WORKER_BINARY")
    }

    // MARK: - PostgreSQL

    /// The server `scripts/with-postgres.sh` started, or a skip when the tests run without it (a
    /// failure under CI, where it must be there).
    static func postgresServer() throws -> PostgresServer {
        let environment = ProcessInfo.processInfo.environment
        guard let url = environment["STATUS_INGEST_TEST_POSTGRES_URL"], !url.isEmpty else {
            if environment["CI"] != nil {
                XCTFail("STATUS_INGEST_TEST_POSTGRES_URL is not set: run the tests through 'make test'")
            }
            throw XCTSkip("STATUS_INGEST_TEST_POSTGRES_URL is not set; 'make test' starts a server and sets it")
        }
        return PostgresServer(
            url: url,
            dataDirectory: environment["STATUS_INGEST_TEST_POSTGRES_DATA"],
            binaryDirectory: environment["STATUS_INGEST_TEST_POSTGRES_BIN"])
    }

    // MARK: - Small commands

    /// Runs a command to its end and returns its standard output.
    ///
    /// Output goes through files, not pipes, for the same reason as the descriptors closed below.
    /// - Throws: `FaultSetupError` with the command's standard error when it exits non-zero.
    @discardableResult
    static func runCommand(_ arguments: [String]) throws -> String {
        let directory = NSTemporaryDirectory() + "status-ingest-command-" + UUID().uuidString.lowercased()
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let outputPath = directory + "/stdout"
        let errorPath = directory + "/stderr"
        _ = FileManager.default.createFile(atPath: outputPath, contents: nil)
        _ = FileManager.default.createFile(atPath: errorPath, contents: nil)
        let output = try FileHandle(forWritingTo: URL(fileURLWithPath: outputPath))
        let errors = try FileHandle(forWritingTo: URL(fileURLWithPath: errorPath))

        // Foundation's Process learns that a child ended when a descriptor it passed down is closed.
        // `pg_ctl start` leaves a server running that would inherit that descriptor and keep it open, so
        // the shell closes every descriptor above standard error before it runs the command.
        let closeInherited = #"for fd in /proc/self/fd/*; do n=${fd##*/}; if [ "$n" -gt 2 ]; then eval "exec $n>&-"; fi; done 2>/dev/null; exec "$@""#
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/bash")
        process.arguments = ["-c", closeInherited, "bash"] + arguments
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        process.waitUntilExit()
        try output.close()
        try errors.close()

        let outputText = (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? ""
        guard process.terminationStatus == 0 else {
            let errorText = (try? String(contentsOfFile: errorPath, encoding: .utf8)) ?? ""
            throw FaultSetupError(
                "\(arguments.joined(separator: " ")) failed with status \(process.terminationStatus): \(errorText)\(outputText)")
        }
        return outputText
    }
}

/// A test's own setup that failed: a missing binary, a server that did not stop or start.
struct FaultSetupError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
