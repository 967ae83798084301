#if canImport(Glibc)
import Glibc
#endif

/// A request read from an accepted, root-checked connection whose answer comes later: the
/// SLB runtime assembles a large `show ip slb conns` a page per loop iteration and replies
/// when complete, without blocking its loop. The connection closes after `reply` (or when
/// the exchange is released unanswered).
public final class ControlExchange {
    public let body: [UInt8]
    private var descriptor: Int32

    init(descriptor: Int32, body: [UInt8]) {
        self.descriptor = descriptor
        self.body = body
    }

    deinit { if descriptor >= 0 { close(descriptor) } }

    /// Sends the answer and closes; a peer that went away only costs the write.
    public func reply(_ status: ControlFrame.Status, _ answer: [UInt8]) {
        guard descriptor >= 0 else { return }
        try? UnixSocket.writeAll(descriptor, ControlFrame.encode(status, answer))
        close(descriptor)
        descriptor = -1
    }
}

extension ControlServer {
    /// Accepts what is queued, refuses non-root peers (SO_PEERCRED, as `servePending`), reads
    /// each request and hands it back unanswered. The answer's write keeps the 1 s timeout.
    public func acceptPending() -> [ControlExchange] {
        var exchanges: [ControlExchange] = []
        while true {
            let client = accept(fileDescriptor, nil, nil)
            if client < 0 {
                if errno == EINTR { continue }
                return exchanges
            }
            _ = fcntl(client, F_SETFD, FD_CLOEXEC)
            UnixSocket.setTimeouts(client, milliseconds: Self.exchangeTimeoutMilliseconds)
            guard Self.peerUID(client) == 0 else {
                try? UnixSocket.writeAll(client, ControlFrame.encode(.refused, Array("permission denied: root only".utf8)))
                close(client)
                continue
            }
            guard let frame = try? UnixSocket.readFrame(client), let (_, body) = ControlFrame.decode(frame) else {
                try? UnixSocket.writeAll(client, ControlFrame.encode(.badRequest, Array("malformed frame".utf8)))
                close(client)
                continue
            }
            exchanges.append(ControlExchange(descriptor: client, body: body))
        }
    }
}
