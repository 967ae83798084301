#if canImport(Glibc)
import Glibc
#endif
import SLBWire

extension IPv4Address {
    /// The four octets in network order (IKE identities, selectors).
    public var wireBytes: [UInt8] {
        [UInt8(value >> 24), UInt8((value >> 16) & 0xFF), UInt8((value >> 8) & 0xFF), UInt8(value & 0xFF)]
    }
}

/// A syscall failure with its errno.
public struct SocketError: Error, CustomStringConvertible, Sendable {
    public var call: String
    public var errno: Int32
    public var detail: String
    public init(_ call: String, errno: Int32, _ detail: String = "") {
        self.call = call
        self.errno = errno
        self.detail = detail
    }
    public var description: String {
        "\(call)\(detail.isEmpty ? "" : " \(detail)"): \(String(cString: strerror(errno))) (errno \(errno))"
    }
}

/// An IPv4 datagram socket bound to one local address: UDP (IKE on 500, NAT-T on 4500) or
/// raw IP protocol 50 (ESP). Every syscall the gateway and client make goes through here and
/// retries EINTR. Raw ESP sockets receive the whole IPv4 datagram (the kernel has no ESP, so
/// it hands protocol 50 to raw sockets only) and send only the ESP part: the kernel adds the
/// IPv4 header with the bound address as source (no IP_HDRINCL).
public struct DatagramSocket: Sendable {
    public enum Kind: String, Sendable { case udp, rawESP }
    public let fileDescriptor: Int32
    public let kind: Kind
    public let localAddress: IPv4Address
    public let localPort: UInt16

    public static func udp(_ address: IPv4Address, port: UInt16) throws(SocketError) -> DatagramSocket {
        let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
        guard fd >= 0 else { throw SocketError("socket(udp)", errno: errno) }
        var one: Int32 = 1
        // Several gateway processes in one namespace are not supported, but a restarted one
        // must bind at once.
        _ = setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        try bindOrClose(fd, address, port)
        return DatagramSocket(fileDescriptor: fd, kind: .udp, localAddress: address, localPort: port)
    }

    public static func rawESP(_ address: IPv4Address) throws(SocketError) -> DatagramSocket {
        let fd = socket(AF_INET, Int32(SOCK_RAW.rawValue) | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue),
                        Int32(IPPROTO_ESP))
        guard fd >= 0 else { throw SocketError("socket(raw esp)", errno: errno) }
        try bindOrClose(fd, address, 0)
        return DatagramSocket(fileDescriptor: fd, kind: .rawESP, localAddress: address, localPort: 0)
    }

    private static func bindOrClose(_ fd: Int32, _ address: IPv4Address, _ port: UInt16) throws(SocketError) {
        var sin = sockaddrIn(address, port)
        let rc = withUnsafePointer(to: &sin) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard rc == 0 else {
            let e = errno
            Glibc.close(fd)
            throw SocketError("bind", errno: e, "\(address):\(port)")
        }
    }

    static func sockaddrIn(_ address: IPv4Address, _ port: UInt16) -> sockaddr_in {
        var sin = sockaddr_in()
        sin.sin_family = sa_family_t(AF_INET)
        sin.sin_port = port.bigEndian
        sin.sin_addr = in_addr(s_addr: address.value.bigEndian)
        return sin
    }

    public func close() { _ = Glibc.close(fileDescriptor) }

    /// Receives one datagram into `buffer` (reused by the caller); nil when nothing is queued.
    /// Returns the length and the sender.
    public func receive(into buffer: inout [UInt8]) -> (count: Int, from: IPv4Address, port: UInt16)? {
        var sin = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        while true {
            let n = buffer.withUnsafeMutableBytes { raw in
                withUnsafeMutablePointer(to: &sin) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                        recvfrom(fileDescriptor, raw.baseAddress, raw.count, Int32(MSG_TRUNC), $0, &length)
                    }
                }
            }
            if n < 0 {
                if errno == EINTR { continue }
                return nil
            }
            // MSG_TRUNC reports the real length: a datagram larger than the buffer is cut,
            // and the caller counts it as a drop rather than parsing a truncated copy.
            return (n, IPv4Address(UInt32(bigEndian: sin.sin_addr.s_addr)), UInt16(bigEndian: sin.sin_port))
        }
    }

    /// Sends one datagram; returns false (the caller counts a send error) on failure.
    @discardableResult
    public func send(_ bytes: [UInt8], to address: IPv4Address, port: UInt16) -> Bool {
        var sin = Self.sockaddrIn(address, kind == .rawESP ? 0 : port)
        while true {
            let n = bytes.withUnsafeBytes { raw in
                withUnsafePointer(to: &sin) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                        sendto(fileDescriptor, raw.baseAddress, raw.count, Int32(MSG_NOSIGNAL), $0,
                               socklen_t(MemoryLayout<sockaddr_in>.size))
                    }
                }
            }
            if n < 0 && errno == EINTR { continue }
            return n == bytes.count
        }
    }
}

/// CLOCK_MONOTONIC, read only at the edge (pure targets take `now:`).
public enum MonotonicClock {
    public static func now() -> MonotonicTime {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return MonotonicTime(nanoseconds: UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec))
    }
}

/// Waits for any descriptor of `pollSet` to become readable, up to `timeoutMilliseconds`
/// (−1 = forever); the caller reads `revents` (the set is reused between calls). False on
/// timeout or EINTR.
func pollReadable(_ pollSet: inout [pollfd], timeoutMilliseconds: Int32) -> Bool {
    for i in pollSet.indices { pollSet[i].revents = 0 }
    let rc = pollSet.withUnsafeMutableBufferPointer { poll($0.baseAddress, nfds_t($0.count), timeoutMilliseconds) }
    return rc > 0
}

/// Strips the IPv4 header a raw socket delivers; nil when the header is not a sane IPv4
/// header or the datagram is a fragment (the kernel reassembles before raw delivery, so a
/// fragment here is bogus).
func ipv4Payload(_ buffer: [UInt8], count: Int) -> (source: IPv4Address, payload: ArraySlice<UInt8>)? {
    guard count >= IPv4Header.minimumLength, count <= buffer.count else { return nil }
    let parsed = buffer.withUnsafeBytes { IPv4Header.parse(UnsafeRawBufferPointer(rebasing: $0[0..<count]), at: 0) }
    guard case .success(let ip) = parsed, !ip.fragment.isFragment, ip.ipProtocol == .esp else { return nil }
    return (ip.source, buffer[ip.headerLength..<ip.totalLength])
}
