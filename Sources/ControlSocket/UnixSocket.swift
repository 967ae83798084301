#if canImport(Glibc)
import Glibc
#endif

/// The few AF_UNIX syscalls the control socket needs, each retrying EINTR.
enum UnixSocket {
    static func address(_ path: String) throws(ControlSocketError) -> sockaddr_un {
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        let capacity = MemoryLayout.size(ofValue: addr.sun_path)
        guard !bytes.isEmpty, bytes.count < capacity else { throw ControlSocketError(.pathTooLong, path) }
        withUnsafeMutableBytes(of: &addr.sun_path) { raw in
            for (i, b) in bytes.enumerated() { raw[i] = b }
            raw[bytes.count] = 0
        }
        return addr
    }

    static func withSockaddr<T>(_ addr: inout sockaddr_un, _ body: (UnsafePointer<sockaddr>, socklen_t) -> T) -> T {
        withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
    }

    /// Sets SO_RCVTIMEO and SO_SNDTIMEO so one slow peer cannot stall the gateway's loop.
    static func setTimeouts(_ fd: Int32, milliseconds: Int) {
        var tv = timeval(tv_sec: milliseconds / 1000, tv_usec: (milliseconds % 1000) * 1000)
        _ = setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        _ = setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
    }

    /// With `within`, the whole write must finish in that many milliseconds: SO_SNDTIMEO
    /// bounds each `send` only, and a peer reading a few octets at a time would otherwise
    /// hold the caller (the SLB's forwarding thread) for as long as a big answer lasts.
    static func writeAll(_ fd: Int32, _ bytes: [UInt8], within milliseconds: Int? = nil) throws(ControlSocketError) {
        let deadline = milliseconds.map { monotonicMilliseconds() + $0 }
        var offset = 0
        while offset < bytes.count {
            if let deadline {
                let left = deadline - monotonicMilliseconds()
                guard left > 0 else { throw ControlSocketError(.timeout, "answer not taken after \(offset) of \(bytes.count) octets") }
                var ready = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
                let rc = poll(&ready, 1, Int32(clamping: left))
                if rc < 0 {
                    let e = errno
                    if e == EINTR { continue }
                    throw ControlSocketError(.io, errno: e, "poll")
                }
                if rc == 0 { throw ControlSocketError(.timeout, "answer not taken after \(offset) of \(bytes.count) octets") }
            }
            let n = bytes.withUnsafeBytes { raw in
                // Non-blocking only under a deadline (poll waits instead); otherwise SO_SNDTIMEO rules.
                send(fd, raw.baseAddress! + offset, raw.count - offset, Int32(MSG_NOSIGNAL) | (deadline == nil ? 0 : Int32(MSG_DONTWAIT)))
            }
            if n < 0 {
                let e = errno
                if e == EINTR { continue }
                if e == EAGAIN, deadline != nil { continue }
                throw ControlSocketError(e == EAGAIN ? .timeout : .io, errno: e, "send")
            }
            offset += n
        }
    }

    /// Reads and drops up to `limit` octets (until EOF, error or timeout).
    static func discard(_ fd: Int32, upTo limit: Int) {
        var buffer = [UInt8](repeating: 0, count: 4096)
        var total = 0
        while total < limit {
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { return }
            total += n
        }
    }

    /// Reads one frame (length prefix first, then the rest), bounded by `maximumBodyLength`.
    /// With `within`, the whole frame must arrive in that many milliseconds: SO_RCVTIMEO
    /// bounds each `recv` only, so a peer dripping a byte at a time would otherwise hold the
    /// caller (the SLB's forwarding thread) for as long as it likes.
    static func readFrame(_ fd: Int32, within milliseconds: Int? = nil) throws(ControlSocketError) -> [UInt8] {
        let deadline = milliseconds.map { monotonicMilliseconds() + $0 }
        var frame = try readExactly(fd, 4, deadline: deadline)
        guard let total = ControlFrame.totalLength(prefix: frame[...]) else {
            throw ControlSocketError(.protocolError, "bad frame length")
        }
        frame += try readExactly(fd, total - 4, deadline: deadline)
        return frame
    }

    private static func readExactly(_ fd: Int32, _ count: Int, deadline: Int?) throws(ControlSocketError) -> [UInt8] {
        var buffer = [UInt8](repeating: 0, count: count)
        var got = 0
        while got < count {
            if let deadline {
                let left = deadline - monotonicMilliseconds()
                guard left > 0 else { throw ControlSocketError(.timeout, "request incomplete after \(got) of \(count) octets") }
                var ready = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
                let rc = poll(&ready, 1, Int32(clamping: left))
                if rc < 0 {
                    let e = errno
                    if e == EINTR { continue }
                    throw ControlSocketError(.io, errno: e, "poll")
                }
                if rc == 0 { throw ControlSocketError(.timeout, "request incomplete after \(got) of \(count) octets") }
            }
            let n = buffer.withUnsafeMutableBytes { raw in recv(fd, raw.baseAddress! + got, count - got, 0) }
            if n == 0 { throw ControlSocketError(.protocolError, "peer closed after \(got) of \(count) octets") }
            if n < 0 {
                let e = errno
                if e == EINTR { continue }
                throw ControlSocketError(e == EAGAIN ? .timeout : .io, errno: e, "recv")
            }
            got += n
        }
        return buffer
    }

    static func monotonicMilliseconds() -> Int {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return now.tv_sec * 1000 + now.tv_nsec / 1_000_000
    }
}
