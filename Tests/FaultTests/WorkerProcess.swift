import Foundation
import XCTest

/// One `status-ingest run` child process, its log file and its memory high-water mark.
///
/// The child runs apart from the test process, so a SIGKILL ends only the worker while the mock
/// cluster in the test process keeps its records and offsets.
final class WorkerProcess {
    /// How a child ended.
    enum Termination: Equatable, CustomStringConvertible {
        case exited(Int32)
        case signaled(Int32)

        var description: String {
            switch self {
            case .exited(let status): return "exited with status \(status)"
            case .signaled(let signal): return "killed by signal \(signal)"
            }
        }
    }

    let name: String
    /// Standard output and standard error of the child, interleaved.
    let logPath: String
    private let process: Process
    private let logHandle: FileHandle
    /// The largest `VmHWM` read from `/proc/<pid>/status` while the child ran, in kibibytes.
    private(set) var peakResidentKibibytes = 0

    /// Starts `binary` with `arguments` and an environment made of the test's own, without any
    /// `STATUS_INGEST_*` variable, plus `environment`.
    init(name: String, binary: String, arguments: [String], environment: [String: String], logPath: String) throws {
        self.name = name
        self.logPath = logPath
        _ = FileManager.default.createFile(atPath: logPath, contents: nil)
        logHandle = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath))

        var childEnvironment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("STATUS_INGEST_") }
        childEnvironment.merge(environment) { $1 }

        process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = arguments
        process.environment = childEnvironment
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = logHandle
        process.standardError = logHandle
        try process.run()
    }

    deinit {
        if process.isRunning {
            Foundation.kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
        try? logHandle.close()
    }

    var processIdentifier: Int32 { process.processIdentifier }

    var isRunning: Bool { process.isRunning }

    // MARK: - Signals

    /// Sends `signal` (SIGTERM, SIGKILL, …) to the child.
    func send(_ signal: Int32) {
        guard process.isRunning else { return }
        Foundation.kill(process.processIdentifier, signal)
    }

    /// Kills the child with SIGKILL, as a crash or an out-of-memory kill would, and waits until it is gone.
    func kill() throws {
        send(SIGKILL)
        _ = try waitForExit(timeout: .seconds(30))
    }

    // MARK: - Waiting

    /// Waits until the child exits and returns how it ended, sampling its memory meanwhile.
    /// - Throws: `WorkerTimeoutError` with the log's tail after killing the child when `timeout` passes first.
    func waitForExit(timeout: Duration) throws -> Termination {
        let deadline = ContinuousClock.now + timeout
        while process.isRunning {
            samplePeakMemory()
            if ContinuousClock.now >= deadline {
                Foundation.kill(process.processIdentifier, SIGKILL)
                process.waitUntilExit()
                throw WorkerTimeoutError("\(name) did not exit within \(timeout); killed it.\n\(logTail())")
            }
            Thread.sleep(forTimeInterval: 0.05)
        }
        process.waitUntilExit()
        switch process.terminationReason {
        case .exit: return .exited(process.terminationStatus)
        case .uncaughtSignal: return .signaled(process.terminationStatus)
        @unknown default: return .exited(process.terminationStatus)
        }
    }

    /// Waits until the log contains `text` at least `count` times.
    /// - Throws: `WorkerTimeoutError` when the child exits or `timeout` passes first.
    func waitForLog(_ text: String, count: Int = 1, timeout: Duration) throws {
        let deadline = ContinuousClock.now + timeout
        while occurrences(of: text) < count {
            guard process.isRunning else {
                throw WorkerTimeoutError("\(name) exited before logging \"\(text)\" \(count) times.\n\(logTail())")
            }
            guard ContinuousClock.now < deadline else {
                throw WorkerTimeoutError("\(name) did not log \"\(text)\" \(count) times within \(timeout).\n\(logTail())")
            }
            samplePeakMemory()
            Thread.sleep(forTimeInterval: 0.05)
        }
    }

    // MARK: - The log

    var log: String {
        (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? ""
    }

    func occurrences(of text: String) -> Int {
        log.components(separatedBy: text).count - 1
    }

    /// Returns the last lines of the log, headed by the child's name, for a failure message.
    func logTail(lines: Int = 40) -> String {
        let tail = log.split(separator: "\n", omittingEmptySubsequences: false).suffix(lines).joined(separator: "\n")
        return "--- last \(lines) log lines of \(name) (\(logPath)) ---\n\(tail)"
    }

    // MARK: - Memory

    private func samplePeakMemory() {
        guard let status = try? String(contentsOfFile: "/proc/\(process.processIdentifier)/status", encoding: .utf8) else {
            return
        }
        // A line such as "VmHWM:	   81234 kB"; a process that is already a zombie has none.
        for line in status.split(separator: "\n") where line.hasPrefix("VmHWM:") {
            let digits = line.split(whereSeparator: { $0 == " " || $0 == "\t" }).compactMap { Int($0) }
            if let value = digits.first {
                peakResidentKibibytes = max(peakResidentKibibytes, value)
            }
        }
    }
}

/// A child that did not reach a state in time, with its log's tail.
struct WorkerTimeoutError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
