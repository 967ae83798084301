import SLBWire
#if canImport(Glibc)
import Glibc
#endif

/// ICMP echo (RFC 792) over a raw socket: the `ping` probe's primitive, and the lab tests'
/// reachability check (so the tests need no `ping` binary).
///
/// One socket per prober; each echo carries the prober's identifier and a fresh sequence
/// number, and only a matching Echo Reply from the probed address counts. A raw ICMP socket
/// receives every ICMP packet of its namespace, so the rest are skipped.
public final class ICMPEcho: @unchecked Sendable {
    /// RFC 792: type 8 echo, type 0 echo reply.
    static let echoRequest: UInt8 = 8
    static let echoReply: UInt8 = 0
    static let payloadSize = 16

    public let descriptor: Int32
    public let identifier: UInt16
    private var sequence: UInt16 = 0
    private var buffer = [UInt8](repeating: 0, count: 1500)

    /// Opens the socket in the calling thread's network namespace.
    public init(identifier: UInt16 = UInt16(truncatingIfNeeded: getpid())) throws {
        let fd = socket(AF_INET, Int32(SOCK_RAW.rawValue) | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue),
                        Int32(IPPROTO_ICMP))
        guard fd >= 0 else { throw SystemError("socket(AF_INET, SOCK_RAW, IPPROTO_ICMP)") }
        descriptor = fd
        self.identifier = identifier
    }

    deinit { close(descriptor) }

    /// Sends one echo request and waits up to `timeout` for its reply. Returns the round-trip
    /// time, or nil when no reply came in time.
    public func ping(_ target: IPv4Address, timeout: TimeSpan) throws -> TimeSpan? {
        sequence &+= 1
        let seq = sequence
        let start = Clock.now
        try sendRequest(to: target, sequence: seq)
        let deadline = start + timeout
        while true {
            let now = Clock.now
            guard now < deadline else { return nil }
            var pfd = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
            let waitMs = Int32(min((deadline - now).nanoseconds / 1_000_000 + 1, 60_000))
            let ready = try retryingEINTR("poll(icmp)") { poll(&pfd, 1, waitMs) }
            if ready == 0 { continue }
            while let reply = try receiveReply() {
                if reply.source == target && reply.sequence == seq { return Clock.now - start }
            }
        }
    }

    /// Sends an echo request without waiting (the prober's and neighbour resolution's path).
    public func sendRequest(to target: IPv4Address, sequence seq: UInt16) throws {
        var packet = [UInt8](repeating: 0, count: 8 + ICMPEcho.payloadSize)
        packet[0] = ICMPEcho.echoRequest
        packet[4] = UInt8(identifier >> 8); packet[5] = UInt8(truncatingIfNeeded: identifier)
        packet[6] = UInt8(seq >> 8); packet[7] = UInt8(truncatingIfNeeded: seq)
        for i in 8..<packet.count { packet[i] = UInt8(truncatingIfNeeded: i) }
        var checksum = InternetChecksum()
        checksum.add(packet)
        let sum = checksum.checksum
        packet[2] = UInt8(sum >> 8); packet[3] = UInt8(truncatingIfNeeded: sum)

        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = target.value.bigEndian
        let sent = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { sa in
                sendto(descriptor, packet, packet.count, Int32(MSG_DONTWAIT), sa, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        if sent < 0 {
            // No route or a full queue is a lost probe, which the prober counts as a miss.
            let error = errno
            if error == EAGAIN || error == ENOBUFS || error == ENETUNREACH || error == EHOSTUNREACH || error == EINTR { return }
            throw SystemError("sendto(icmp echo \(target))", errno: error)
        }
    }

    /// The next echo reply carrying our identifier, without blocking; nil when none is waiting.
    /// Other ICMP (other processes' echoes, errors) is skipped.
    public func receiveReply() throws -> (source: IPv4Address, sequence: UInt16)? {
        while true {
            let count = recv(descriptor, &buffer, buffer.count, Int32(MSG_DONTWAIT))
            if count < 0 {
                if errno == EINTR { continue }
                if errno == EAGAIN || errno == EWOULDBLOCK { return nil }
                throw SystemError("recv(icmp)")
            }
            if let reply = parseReply(buffer[0..<count]) { return reply }
        }
    }

    /// A raw IPv4 socket delivers the IP header first (raw(7)); skip IHL words.
    private func parseReply(_ datagram: ArraySlice<UInt8>) -> (source: IPv4Address, sequence: UInt16)? {
        let base = datagram.startIndex
        guard datagram.count >= 20 else { return nil }
        let headerLength = Int(datagram[base] & 0x0f) * 4
        guard headerLength >= 20, datagram.count >= headerLength + 8 else { return nil }
        let source = UInt32(datagram[base + 12]) << 24 | UInt32(datagram[base + 13]) << 16
            | UInt32(datagram[base + 14]) << 8 | UInt32(datagram[base + 15])
        let icmp = base + headerLength
        let id = UInt16(datagram[icmp + 4]) << 8 | UInt16(datagram[icmp + 5])
        let seq = UInt16(datagram[icmp + 6]) << 8 | UInt16(datagram[icmp + 7])
        guard datagram[icmp] == ICMPEcho.echoReply, id == identifier else { return nil }
        return (IPv4Address(source), seq)
    }
}

/// The one clock of this target: CLOCK_MONOTONIC as `MonotonicTime` (pure targets take `now:`).
public enum Clock {
    public static var now: MonotonicTime {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return MonotonicTime(nanoseconds: UInt64(ts.tv_sec) &* 1_000_000_000 &+ UInt64(ts.tv_nsec))
    }
}
