import Dispatch
import Foundation
import Synchronization

/// Set once a stop was requested (SIGINT, SIGTERM or a caller); the worker checks it between steps.
public final class StopSignal: @unchecked Sendable {
    private let requested = Atomic<Bool>(false)
    // Guarded by `lock`; the sources must live as long as the signal handling.
    private let lock = NSLock()
    private var sources: [DispatchSourceSignal] = []

    public init() {}

    public var isRequested: Bool { requested.load(ordering: .acquiring) }

    public func request() { requested.store(true, ordering: .releasing) }

    /// Turns SIGINT and SIGTERM into a stop request instead of killing the process.
    public func installSignalHandlers(onSignal: @escaping @Sendable (Int32) -> Void = { _ in }) {
        for signalNumber in [SIGINT, SIGTERM] {
            signal(signalNumber, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: .global())
            source.setEventHandler { [self] in
                onSignal(signalNumber)
                request()
            }
            source.resume()
            lock.withLock { sources.append(source) }
        }
    }
}
