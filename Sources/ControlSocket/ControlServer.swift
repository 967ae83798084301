#if canImport(Glibc)
import Glibc
#endif

/// A root-only Unix stream socket that answers one framed request per connection.
///
/// Built for event loops that own their state on one thread: put `fileDescriptor` into the
/// loop's poll set and call `serveOne` when it is readable; the handler runs on the loop's
/// thread, so it may read the loop's state without locks. Every connection is checked with
/// SO_PEERCRED and refused unless the peer runs as uid 0 (the socket file is also 0600 in a
/// 0700 directory, but the credential check does not depend on file modes).
public final class ControlServer {
    public let path: String
    public let fileDescriptor: Int32
    /// Connections refused because the peer was not root, and failed exchanges.
    public private(set) var refusedCount: UInt64 = 0
    public private(set) var errorCount: UInt64 = 0
    /// A client gets this long to send its request and read the answer.
    public static let exchangeTimeoutMilliseconds = 1000
    /// What a refused peer may make us read before its connection is closed.
    static let refusedDrainLimit = 64 * 1024

    public init(path: String) throws(ControlSocketError) {
        self.path = path
        var addr = try UnixSocket.address(path)
        Self.makeParentDirectory(of: path)
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
        guard fd >= 0 else { throw ControlSocketError(.socket, errno: errno) }
        // A stale socket file from a previous run would make bind fail with EADDRINUSE.
        unlink(path)
        let old = umask(0o177)
        let rc = UnixSocket.withSockaddr(&addr) { bind(fd, $0, $1) }
        umask(old)
        guard rc == 0 else {
            let e = errno
            close(fd)
            throw ControlSocketError(.bind, errno: e, path)
        }
        chmod(path, 0o600)
        guard listen(fd, 16) == 0 else {
            let e = errno
            close(fd)
            unlink(path)
            throw ControlSocketError(.listen, errno: e, path)
        }
        fileDescriptor = fd
    }

    deinit {
        close(fileDescriptor)
        unlink(path)
    }

    /// Creates the socket's directory (mode 0700) when missing; an existing one is left as is.
    static func makeParentDirectory(of path: String) {
        guard let slash = path.lastIndex(of: "/"), slash != path.startIndex else { return }
        let dir = String(path[..<slash])
        makeParentDirectory(of: dir)
        mkdir(dir, 0o700)
    }

    /// Accepts pending connections (non-blocking listener) and answers each one.
    public func servePending(_ handler: ([UInt8]) -> (ControlFrame.Status, [UInt8])) {
        while true {
            let client = accept(fileDescriptor, nil, nil)
            if client < 0 {
                if errno == EINTR { continue }
                return
            }
            // Accepted sockets do not inherit O_NONBLOCK on Linux; they block with timeouts.
            _ = fcntl(client, F_SETFD, FD_CLOEXEC)
            serve(client, handler)
            close(client)
        }
    }

    private func serve(_ client: Int32, _ handler: ([UInt8]) -> (ControlFrame.Status, [UInt8])) {
        UnixSocket.setTimeouts(client, milliseconds: Self.exchangeTimeoutMilliseconds)
        guard Self.peerUID(client) == 0 else {
            refusedCount += 1
            try? UnixSocket.writeAll(client, ControlFrame.encode(.refused, Array("permission denied: root only".utf8)))
            // Closing with the request unread would send a RST that can destroy the answer
            // before the client reads it; finish our side and drain a little first.
            shutdown(client, Int32(SHUT_WR))
            UnixSocket.discard(client, upTo: Self.refusedDrainLimit)
            return
        }
        do {
            let frame = try UnixSocket.readFrame(client)
            guard let (_, body) = ControlFrame.decode(frame) else {
                errorCount += 1
                try UnixSocket.writeAll(client, ControlFrame.encode(.badRequest, Array("malformed frame".utf8)))
                return
            }
            let (status, answer) = handler(body)
            try UnixSocket.writeAll(client, ControlFrame.encode(status, answer))
        } catch {
            errorCount += 1
        }
    }

    /// The connecting process's uid (SO_PEERCRED, Linux); nil when the kernel does not say.
    static func peerUID(_ fd: Int32) -> uid_t? {
        var cred = PeerCredentials()
        var length = socklen_t(MemoryLayout<PeerCredentials>.size)
        guard getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &length) == 0,
              Int(length) == MemoryLayout<PeerCredentials>.size else { return nil }
        return cred.uid
    }
}

/// Linux `struct ucred` (pid, uid, gid), which Glibc only declares under _GNU_SOURCE and so
/// does not import into Swift; same layout: three 32-bit fields.
struct PeerCredentials {
    var pid: pid_t = 0
    var uid: uid_t = uid_t.max
    var gid: gid_t = gid_t.max
}
