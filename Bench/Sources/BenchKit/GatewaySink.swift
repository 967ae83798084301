import Dataplane
import Lab
import SLBWire
#if canImport(Glibc)
import Glibc
#endif

/// Sockets on one lab gateway that take what reaches the VIP: UDP 500, UDP 4500 and raw ESP.
/// Records the source of every datagram (the live distribution counts clients per gateway).
final class GatewaySink: @unchecked Sendable {
    private let descriptors: [Int32]

    init(vip: IPv4Address) throws {
        var descriptors: [Int32] = []
        for port: UInt16? in [500, 4500, nil] {
            let fd = port == nil ? socket(AF_INET, Int32(SOCK_RAW.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 50)
                                 : socket(AF_INET, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
            guard fd >= 0 else { descriptors.forEach { close($0) }; throw SystemError("socket") }
            descriptors.append(fd)
            var size: Int32 = 16 << 20
            _ = setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, socklen_t(MemoryLayout<Int32>.size))
            if let port {
                var address = sockaddr_in()
                address.sin_family = sa_family_t(AF_INET)
                address.sin_port = port.bigEndian
                address.sin_addr.s_addr = vip.value.bigEndian
                let status = withUnsafePointer(to: &address) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
                }
                guard status == 0 else { descriptors.forEach { close($0) }; throw SystemError("bind(\(vip):\(port))") }
            }
        }
        self.descriptors = descriptors
    }

    deinit { descriptors.forEach { close($0) } }

    /// Sources of everything queued so far (non-blocking).
    func drain() -> [IPv4Address] {
        var sources: [IPv4Address] = []
        var buffer = [UInt8](repeating: 0, count: 2048)
        for fd in descriptors {
            while true {
                var from = sockaddr_in()
                var length = socklen_t(MemoryLayout<sockaddr_in>.size)
                let count = withUnsafeMutablePointer(to: &from) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { recvfrom(fd, &buffer, buffer.count, 0, $0, &length) }
                }
                guard count > 0 else { break }
                sources.append(IPv4Address(UInt32(bigEndian: from.sin_addr.s_addr)))
            }
        }
        return sources
    }
}
