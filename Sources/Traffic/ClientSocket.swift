import CPcap
import SLBWire
#if canImport(Glibc)
import Glibc
#endif

/// One client's socket towards the VIP, bound to the client's own address and connected, so
/// the kernel builds every header and offloads the UDP checksum as for any application: a
/// UDP socket (from `sourcePort`) or a raw IP protocol 50 socket (ESP; the kernel needs no ESP
/// support to carry it). `send(payload:count:)` is `send` for one packet, `sendmmsg` for a
/// batch; payloads and message headers are prepared once, so sending allocates nothing.
final class ClientSocket {
    let descriptor: Int32
    private let batches: [PreparedBatch]

    /// `sourcePort` nil: raw ESP. Every socket is non-blocking; a full queue is counted, never waited on.
    init(source: IPv4Address, sourcePort: UInt16?, vip: IPv4Address, vipPort: UInt16,
         payloads: [[UInt8]], batch: Int) throws(TrafficError) {
        let type = Int32(sourcePort == nil ? SOCK_RAW.rawValue : SOCK_DGRAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue)
            | Int32(SOCK_CLOEXEC.rawValue)
        let fd = socket(AF_INET, type, sourcePort == nil ? Int32(IPPROTO_ESP) : 0)
        guard fd >= 0 else { throw .system("socket", errno: errno) }
        var ok = false
        defer { if !ok { close(fd) } }
        var one: Int32 = 1
        // NAT-T ports are drawn per client; two runs back to back may meet a port in TIME_WAIT-like reuse.
        _ = setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var local = ClientSocket.address(source, port: sourcePort ?? 0)
        let bound = withUnsafePointer(to: &local) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0 else { throw .system("bind(\(source):\(sourcePort ?? 0))", errno: errno) }
        var remote = ClientSocket.address(vip, port: vipPort)
        let connected = withUnsafePointer(to: &remote) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { throw .system("connect(\(vip):\(vipPort))", errno: errno) }

        descriptor = fd
        batches = payloads.map { PreparedBatch(payload: $0, capacity: max(1, batch)) }
        ok = true
    }

    deinit { close(descriptor) }

    /// Sends `count` copies (≤ batch); returns how many the kernel took. EAGAIN/ENOBUFS (queue
    /// full) and ECONNREFUSED (an ICMP error queued on the connected socket) count as not sent.
    func send(payload index: Int, count: Int) -> Int {
        guard index >= 0 && index < batches.count else { return 0 }
        let batch = batches[index]
        let count = min(count, batch.capacity)
        // A connected socket reports a queued ICMP error (a gateway with no listener answers
        // port unreachable) by failing the next send once with ECONNREFUSED: send again.
        for _ in 0..<3 {
            let sent = count == 1
                ? Glibc.send(descriptor, batch.payload.baseAddress, batch.payload.count, Int32(MSG_DONTWAIT))
                : Int(vpnslb_sendmmsg(descriptor, batch.messages, UInt32(count), Int32(MSG_DONTWAIT)))
            if sent >= 0 { return count == 1 ? 1 : sent }
            if errno != EINTR && errno != ECONNREFUSED { return 0 }
        }
        return 0
    }

    private static func address(_ address: IPv4Address, port: UInt16) -> sockaddr_in {
        var result = sockaddr_in()
        result.sin_family = sa_family_t(AF_INET)
        result.sin_port = port.bigEndian
        result.sin_addr.s_addr = address.value.bigEndian
        return result
    }
}

/// One payload and `capacity` message headers all pointing at it, for `sendmmsg`.
final class PreparedBatch {
    let payload: UnsafeMutableRawBufferPointer
    let vectors: UnsafeMutablePointer<iovec>
    let messages: UnsafeMutablePointer<vpnslb_mmsghdr>
    let capacity: Int

    init(payload bytes: [UInt8], capacity: Int) {
        self.capacity = capacity
        payload = .allocate(byteCount: max(1, bytes.count), alignment: 8)
        payload.copyBytes(from: bytes)
        vectors = .allocate(capacity: capacity)
        messages = .allocate(capacity: capacity)
        for i in 0..<capacity {
            vectors[i] = iovec(iov_base: payload.baseAddress, iov_len: bytes.count)
            messages[i] = vpnslb_mmsghdr()
            messages[i].msg_hdr.msg_iov = vectors + i
            messages[i].msg_hdr.msg_iovlen = 1
        }
    }

    deinit {
        payload.deallocate()
        vectors.deallocate()
        messages.deallocate()
    }
}
