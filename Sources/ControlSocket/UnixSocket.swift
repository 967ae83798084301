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

    static func writeAll(_ fd: Int32, _ bytes: [UInt8]) throws(ControlSocketError) {
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { raw in
                send(fd, raw.baseAddress! + offset, raw.count - offset, Int32(MSG_NOSIGNAL))
            }
            if n < 0 {
                let e = errno
                if e == EINTR { continue }
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
    static func readFrame(_ fd: Int32) throws(ControlSocketError) -> [UInt8] {
        var frame = try readExactly(fd, 4)
        guard let total = ControlFrame.totalLength(prefix: frame[...]) else {
            throw ControlSocketError(.protocolError, "bad frame length")
        }
        frame += try readExactly(fd, total - 4)
        return frame
    }

    private static func readExactly(_ fd: Int32, _ count: Int) throws(ControlSocketError) -> [UInt8] {
        var buffer = [UInt8](repeating: 0, count: count)
        var got = 0
        while got < count {
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
}
