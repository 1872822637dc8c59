import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Synchronization

/// A small HTTP/1.1 server for the metrics and health endpoints, over POSIX sockets.
///
/// It serves Prometheus and the kubelet, which send a few small requests a minute, so it handles GET
/// and HEAD only, one request per connection, one connection at a time on its own thread. Socket
/// timeouts bound how long one slow client can hold the next one back.
public final class HTTPServer: @unchecked Sendable {
    /// The parts of a request the endpoints look at.
    public struct Request: Sendable, Equatable {
        /// `GET` or `HEAD`: the server rejects other methods itself with 405.
        public let method: String
        /// The target's path, without the query: `/metrics`.
        public let path: String
        /// The target's query without the `?`, or nil when there is none.
        public let query: String?

        public init(method: String, path: String, query: String? = nil) {
            self.method = method
            self.path = path
            self.query = query
        }
    }

    /// The reply to one request: a status code and a text body.
    public struct Response: Sendable, Equatable {
        public var status: Int
        public var contentType: String
        public var body: String

        public init(status: Int, contentType: String = "text/plain; charset=utf-8", body: String) {
            self.status = status
            self.contentType = contentType
            self.body = body
        }
    }

    /// Builds the response to one request; called on the server's thread.
    public typealias Handler = @Sendable (Request) -> Response

    /// The address the server listens on, as configured.
    public let host: String
    /// The port the server listens on: the configured one, or the one the system chose for port 0.
    public let port: Int

    /// The maximum size of a request head in bytes; a longer one gets 431.
    static let maximumHeadBytes = 8192
    /// How long one connection may take to send its request or receive the response.
    static let socketTimeoutSeconds = 5

    private let listener: Int32
    private let handler: Handler
    private let logger: Logger?
    private let stopRequested = Atomic<Bool>(false)
    private let acceptLoopEnded = DispatchSemaphore(value: 0)
    private let stopLock = NSLock()
    private var isStopped = false

    // MARK: - Starting and stopping

    /// Binds `host:port`, listens, and starts serving requests on a thread of its own.
    ///
    /// `host` is a numeric address (`0.0.0.0`, `127.0.0.1`, `::`, `::1`) or a host name to resolve.
    /// Port 0 lets the system choose a free port; `port` tells which.
    ///
    /// - Throws: `HTTPServerError` when the address does not resolve or the port cannot be bound
    ///   (already in use, or below 1024 without the privilege).
    public init(host: String, port: Int, logger: Logger? = nil, handler: @escaping Handler) throws {
        guard (0...65535).contains(port) else {
            throw HTTPServerError("port \(port) is invalid: expected 0 to 65535")
        }
        self.host = host
        self.handler = handler
        self.logger = logger
        self.listener = try Self.openListeningSocket(host: host, port: port)
        self.port = Self.boundPort(of: listener) ?? port

        let thread = Thread { [self] in
            acceptLoop()
            acceptLoopEnded.signal()
        }
        thread.name = "http-server"
        thread.start()
    }

    deinit {
        stop()
    }

    /// Stops accepting connections, waits for the request in progress, and closes the socket. Safe to call twice.
    public func stop() {
        let alreadyStopped = stopLock.withLock {
            defer { isStopped = true }
            return isStopped
        }
        guard !alreadyStopped else { return }
        stopRequested.store(true, ordering: .releasing)
        acceptLoopEnded.wait()
        close(listener)
    }

    private static func openListeningSocket(host: String, port: Int) throws -> Int32 {
        var hints = addrinfo()
        hints.ai_flags = AI_PASSIVE
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Self.streamSocketType
        var found: UnsafeMutablePointer<addrinfo>?
        let resolved = getaddrinfo(host, String(port), &hints, &found)
        guard resolved == 0, let first = found else {
            throw HTTPServerError("cannot resolve metrics.host \(host): \(String(cString: gai_strerror(resolved)))")
        }
        defer { freeaddrinfo(found) }

        let socketDescriptor = socket(first.pointee.ai_family, first.pointee.ai_socktype, first.pointee.ai_protocol)
        guard socketDescriptor >= 0 else {
            throw HTTPServerError("cannot create a socket for \(host):\(port): \(Self.lastError())")
        }
        var enabled: Int32 = 1
        // A restarted worker can bind again at once, while connections of its previous run linger in TIME_WAIT.
        setsockopt(socketDescriptor, SOL_SOCKET, SO_REUSEADDR, &enabled, socklen_t(MemoryLayout<Int32>.size))
        guard bind(socketDescriptor, first.pointee.ai_addr, first.pointee.ai_addrlen) == 0 else {
            let reason = Self.lastError()
            close(socketDescriptor)
            throw HTTPServerError("cannot listen on \(host):\(port): \(reason); pick another metrics.port or set it to 0 to turn the server off")
        }
        guard listen(socketDescriptor, 16) == 0 else {
            let reason = Self.lastError()
            close(socketDescriptor)
            throw HTTPServerError("cannot listen on \(host):\(port): \(reason)")
        }
        return socketDescriptor
    }

    private static func boundPort(of socketDescriptor: Int32) -> Int? {
        var address = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let result = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(socketDescriptor, $0, &length) }
        }
        guard result == 0 else { return nil }
        switch Int32(address.ss_family) {
        case AF_INET:
            return withUnsafePointer(to: &address) { pointer in
                pointer.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { Int(UInt16(bigEndian: $0.pointee.sin_port)) }
            }
        case AF_INET6:
            return withUnsafePointer(to: &address) { pointer in
                pointer.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { Int(UInt16(bigEndian: $0.pointee.sin6_port)) }
            }
        default:
            return nil
        }
    }

    // MARK: - Serving

    private func acceptLoop() {
        while !stopRequested.load(ordering: .acquiring) {
            // A short poll timeout lets `stop()` end the loop without closing the socket under accept().
            var waiting = pollfd(fd: listener, events: Int16(POLLIN), revents: 0)
            guard poll(&waiting, 1, 200) > 0 else { continue }
            let client = accept(listener, nil, nil)
            guard client >= 0 else {
                if errno != EINTR && errno != EAGAIN && errno != ECONNABORTED {
                    logger?.warning("metrics server failed to accept a connection", ["error": .string(Self.lastError())])
                }
                continue
            }
            serve(client)
            closeGracefully(client)
        }
    }

    private func serve(_ client: Int32) {
        var timeout = timeval(tv_sec: Self.socketTimeoutSeconds, tv_usec: 0)
        setsockopt(client, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(client, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))

        let response: Response
        var isHead = false
        switch readHead(client) {
        case .abandoned:
            return
        case .rejected(let rejection):
            response = rejection
        case .complete(let head):
            switch Self.parseRequestLine(head) {
            case .rejected(let rejection):
                response = rejection
            case .accepted(let request):
                isHead = request.method == "HEAD"
                response = handler(request)
            }
        }
        write(response, headOnly: isHead, to: client)
    }

    private enum HeadReading {
        case complete(String)
        /// The head is too long or not text, so the server replies without calling the handler.
        case rejected(Response)
        /// The client left or timed out before sending a whole head, so no reply is sent.
        case abandoned
    }

    enum RequestLineParsing: Equatable {
        case accepted(Request)
        case rejected(Response)
    }

    private func readHead(_ client: Int32) -> HeadReading {
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 2048)
        let terminator: [UInt8] = Array("\r\n\r\n".utf8)
        let tooLong = Response(status: 431, body: "the request head is longer than \(Self.maximumHeadBytes) bytes\n")
        while true {
            let count = buffer.withUnsafeMutableBytes { recv(client, $0.baseAddress, $0.count, 0) }
            if count < 0, errno == EINTR { continue }
            guard count > 0 else { return .abandoned }
            received.append(contentsOf: buffer[0..<count])
            if let end = Self.firstIndex(of: terminator, in: received) {
                guard end <= Self.maximumHeadBytes else { return .rejected(tooLong) }
                guard let head = String(validating: received[0..<end], as: UTF8.self) else {
                    return .rejected(Response(status: 400, body: "the request head is not valid UTF-8\n"))
                }
                return .complete(head)
            }
            if received.count > Self.maximumHeadBytes + terminator.count {
                return .rejected(tooLong)
            }
        }
    }

    static func parseRequestLine(_ head: String) -> RequestLineParsing {
        let firstLine = head.split(separator: "\r\n", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
        let parts = firstLine.split(separator: " ", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[2].hasPrefix("HTTP/1."), parts[1].hasPrefix("/") else {
            return .rejected(Response(status: 400, body: "expected a request line such as GET /metrics HTTP/1.1\n"))
        }
        let method = String(parts[0])
        guard method == "GET" || method == "HEAD" else {
            return .rejected(Response(status: 405, body: "method \(method) is not allowed: use GET or HEAD\n"))
        }
        let target = parts[1]
        guard let questionMark = target.firstIndex(of: "?") else {
            return .accepted(Request(method: method, path: String(target)))
        }
        return .accepted(Request(
            method: method, path: String(target[..<questionMark]),
            query: String(target[target.index(after: questionMark)...])))
    }

    private func write(_ response: Response, headOnly: Bool, to client: Int32) {
        let body = Array(response.body.utf8)
        var head = "HTTP/1.1 \(response.status) \(Self.reasonPhrase(response.status))\r\n"
        head += "Content-Type: \(response.contentType)\r\n"
        head += "Content-Length: \(body.count)\r\n"
        if response.status == 405 {
            head += "Allow: GET, HEAD\r\n"
        }
        head += "Cache-Control: no-store\r\n"
        head += "Connection: close\r\n\r\n"
        var bytes = Array(head.utf8)
        if !headOnly {
            bytes += body
        }

        var sent = 0
        while sent < bytes.count {
            // MSG_NOSIGNAL: a client that hung up must not raise SIGPIPE and end the worker.
            let count = bytes[sent...].withUnsafeBytes { send(client, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if count < 0, errno == EINTR { continue }
            guard count > 0 else { return }
            sent += count
        }
    }

    /// Closes after the client has read the response. Closing with unread request bytes would make
    /// the kernel send a reset, which can destroy the response before the client reads it.
    private func closeGracefully(_ client: Int32) {
        shutdown(client, Int32(SHUT_WR))
        var timeout = timeval(tv_sec: 1, tv_usec: 0)
        setsockopt(client, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var buffer = [UInt8](repeating: 0, count: 4096)
        var drained = 0
        while drained < 65536 {
            let count = buffer.withUnsafeMutableBytes { recv(client, $0.baseAddress, $0.count, 0) }
            if count < 0, errno == EINTR { continue }
            guard count > 0 else { break }
            drained += count
        }
        close(client)
    }

    // MARK: - Helpers

    static func reasonPhrase(_ status: Int) -> String {
        switch status {
        case 200: return "OK"
        case 400: return "Bad Request"
        case 404: return "Not Found"
        case 405: return "Method Not Allowed"
        case 431: return "Request Header Fields Too Large"
        case 500: return "Internal Server Error"
        case 503: return "Service Unavailable"
        default: return "Status \(status)"
        }
    }

    private static func firstIndex(of needle: [UInt8], in haystack: [UInt8]) -> Int? {
        guard haystack.count >= needle.count else { return nil }
        for start in 0...(haystack.count - needle.count) where haystack[start] == needle[0] {
            if Array(haystack[start..<(start + needle.count)]) == needle { return start }
        }
        return nil
    }

    private static func lastError() -> String {
        String(cString: strerror(errno))
    }

    #if canImport(Glibc)
    private static let streamSocketType = Int32(SOCK_STREAM.rawValue)
    #else
    private static let streamSocketType = SOCK_STREAM
    #endif
}
