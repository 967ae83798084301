import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Serves the latest metrics text over HTTP/1.0 on a loopback TCP port, from its own small
/// thread, so a scrape never touches the engine: the forwarding thread publishes a rendered
/// text once a second (`publish`), the server hands out the last one.
public final class MetricsServer: @unchecked Sendable {
    public enum SetupError: Error, CustomStringConvertible {
        case invalidAddress(String)
        case notLoopback(String)
        case system(String, Int32)

        public var description: String {
            switch self {
            case .invalidAddress(let text): "--metrics \(text): expected ADDRESS:PORT, e.g. 127.0.0.1:9464"
            case .notLoopback(let text): "--metrics \(text): metrics are served on loopback (127.0.0.0/8) only"
            case .system(let call, let code): "metrics: \(call) failed: \(String(cString: strerror(code)))"
            }
        }
    }

    /// A scraper gets this long to send its request line.
    static let requestTimeoutMilliseconds = 1000
    /// Longest request read; a GET line and a few headers fit.
    static let maximumRequestBytes = 8192

    public let port: UInt16
    private let descriptor: Int32
    private let latest = Mutex<String>("")
    private let stopped = Atomic<Bool>(false)

    /// Parses `ADDRESS:PORT` and refuses anything off loopback.
    public static func endpoint(_ text: String) throws(SetupError) -> (address: UInt32, port: UInt16) {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2, let port = UInt16(parts[1]) else { throw .invalidAddress(text) }
        let octets = parts[0].split(separator: ".", omittingEmptySubsequences: false).compactMap { UInt8($0) }
        guard octets.count == 4 else { throw .invalidAddress(text) }
        guard octets[0] == 127 else { throw .notLoopback(text) }
        let address = octets.reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
        return (address, port)
    }

    public init(listen text: String) throws(SetupError) {
        let (address, port) = try Self.endpoint(text)
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw .system("socket", errno) }
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = port.bigEndian
        addr.sin_addr.s_addr = address.bigEndian
        let rc = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard rc == 0 else {
            let e = errno
            close(fd)
            throw .system("bind \(text)", e)
        }
        guard listen(fd, 16) == 0 else {
            let e = errno
            close(fd)
            throw .system("listen", e)
        }
        var bound = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &bound) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        self.port = UInt16(bigEndian: bound.sin_port)
        descriptor = fd
    }

    /// The text the next scrape gets.
    public func publish(_ text: String) { latest.withLock { $0 = text } }

    public func start() {
        let thread = Thread { [self] in serve() }
        thread.name = "slb-metrics"
        thread.start()
    }

    /// Stops accepting (the thread wakes from `accept` when the socket is shut down).
    public func stop() {
        stopped.store(true, ordering: .releasing)
        shutdown(descriptor, Int32(SHUT_RDWR))
    }

    deinit { close(descriptor) }

    private func serve() {
        while !stopped.load(ordering: .acquiring) {
            let client = accept(descriptor, nil, nil)
            if client < 0 {
                if errno == EINTR { continue }
                return
            }
            answer(client)
            close(client)
        }
    }

    private func answer(_ client: Int32) {
        var timeout = timeval(tv_sec: 1, tv_usec: 0)
        setsockopt(client, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(client, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var request: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 2048)
        while request.count < Self.maximumRequestBytes {
            let n = buffer.withUnsafeMutableBytes { recv(client, $0.baseAddress, $0.count, 0) }
            if n <= 0 { break }
            request += buffer[0..<n]
            if Self.headerComplete(request) { break }
        }
        let response = Self.response(for: request, metrics: latest.withLock { $0 })
        var offset = 0
        while offset < response.count {
            let n = response.withUnsafeBytes { send(client, $0.baseAddress! + offset, $0.count - offset, Int32(MSG_NOSIGNAL)) }
            if n <= 0 { return }
            offset += n
        }
    }

    static func headerComplete(_ bytes: [UInt8]) -> Bool {
        bytes.count >= 4 && bytes.suffix(4).elementsEqual([13, 10, 13, 10]) || bytes.suffix(2).elementsEqual([10, 10])
    }

    /// `GET /metrics` (or `/`) gets the text; anything else a 404 or 405. Pure, for tests.
    static func response(for request: [UInt8], metrics: String) -> [UInt8] {
        let line = String(decoding: request.prefix { $0 != 13 && $0 != 10 }, as: UTF8.self)
        let words = line.split(separator: " ")
        let status: String
        var body = ""
        var type = "text/plain; charset=utf-8"
        if words.count >= 2, words[0] == "GET" {
            let target = words[1].split(separator: "?", maxSplits: 1).first.map(String.init) ?? ""
            if target == "/metrics" || target == "/" {
                status = "200 OK"
                body = metrics
                type = MetricsRenderer.contentType
            } else {
                status = "404 Not Found"
                body = "not found: try /metrics\n"
            }
        } else {
            status = "405 Method Not Allowed"
            body = "only GET\n"
        }
        let header = "HTTP/1.0 \(status)\r\nContent-Type: \(type)\r\nContent-Length: \(body.utf8.count)\r\nConnection: close\r\n\r\n"
        return Array((header + body).utf8)
    }
}
