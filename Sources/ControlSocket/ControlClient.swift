#if canImport(Glibc)
import Glibc
#endif

/// Sends one request to a `ControlServer` and returns its answer.
public enum ControlClient {
    public static func request(path: String, _ body: [UInt8], timeoutMilliseconds: Int = 5000) throws(ControlSocketError) -> [UInt8] {
        var addr = try UnixSocket.address(path)
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw ControlSocketError(.socket, errno: errno) }
        defer { close(fd) }
        UnixSocket.setTimeouts(fd, milliseconds: timeoutMilliseconds)
        let rc = UnixSocket.withSockaddr(&addr) { connect(fd, $0, $1) }
        guard rc == 0 else { throw ControlSocketError(.connect, errno: errno, path) }
        let sendError: ControlSocketError?
        do {
            try UnixSocket.writeAll(fd, ControlFrame.encode(.ok, body))
            sendError = nil
        } catch {
            // A server that refuses us answers and closes without reading: its answer may
            // still be waiting, so read before reporting the failed send.
            sendError = error
        }
        let frame: [UInt8]
        do {
            frame = try UnixSocket.readFrame(fd)
        } catch {
            throw sendError ?? error
        }
        guard let (status, answer) = ControlFrame.decode(frame) else {
            throw ControlSocketError(.protocolError, "malformed answer")
        }
        switch status {
        case .ok: return answer
        case .refused: throw ControlSocketError(.refused, String(decoding: answer, as: UTF8.self))
        case .badRequest: throw ControlSocketError(.badRequest, String(decoding: answer, as: UTF8.self))
        }
    }
}
