import Dataplane
import Foundation
import Lab
import SLBWire
#if canImport(Glibc)
import Glibc
#endif

/// `slb lab demo`'s built-in traffic: the smallest thing that looks like IPsec clients to the
/// SLB (a kernel UDP socket per client on 500 and 4500, hand-built ESP from an IPPROTO_RAW
/// socket), paced to a fixed packet rate. `slb traffic` (h/bench) is the full tool.
final class DemoClients: @unchecked Sendable {
    let addresses: [IPv4Address]
    private var isakmp: [Int32] = []
    private var natt: [Int32] = []
    private let raw: Int32
    private(set) var sent = 0
    private var sequence: UInt32 = 0

    init(addresses: [IPv4Address]) throws {
        self.addresses = addresses
        raw = socket(AF_INET, Int32(SOCK_RAW.rawValue), Int32(IPPROTO_RAW))
        guard raw >= 0 else { throw SystemError("socket(IPPROTO_RAW)") }
        for address in addresses {
            isakmp.append(try DemoClients.udpSocket(address, 500))
            natt.append(try DemoClients.udpSocket(address, 4500))
        }
    }

    deinit { (isakmp + natt + [raw]).forEach { close($0) } }

    static func udpSocket(_ address: IPv4Address, _ port: UInt16) throws -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
        guard fd >= 0 else { throw SystemError("socket(udp)") }
        var local = DemoClients.socketAddress(address, port)
        let status = withUnsafePointer(to: &local) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard status == 0 else { close(fd); throw SystemError("bind(\(address):\(port))") }
        return fd
    }

    static func socketAddress(_ address: IPv4Address, _ port: UInt16) -> sockaddr_in {
        var value = sockaddr_in()
        value.sin_family = sa_family_t(AF_INET)
        value.sin_port = port.bigEndian
        value.sin_addr.s_addr = address.value.bigEndian
        return value
    }

    /// Packet `n` of the round: client n/3 % count, kind n % 3 (ISAKMP, NAT-T, ESP).
    func send(_ n: Int, vip: IPv4Address) {
        let client = (n / 3) % addresses.count
        let data: [UInt8]
        let fd: Int32
        var port: UInt16 = 0
        switch n % 3 {
        case 0: fd = isakmp[client]; port = 500; data = Array("IKE_SA_INIT demo".utf8)
        case 1: fd = natt[client]; port = 4500; data = [0, 0, 0, 0] + Array("IKE_AUTH demo".utf8)   // RFC 3948 non-ESP marker
        default:
            fd = raw
            sequence &+= 1
            let esp = FrameBuilder.esp(spi: 0x5100_0000 | UInt32(client), sequence: sequence, payload: [UInt8](repeating: 0xee, count: 64))
            data = FrameBuilder.ipv4(.init(source: addresses[client], destination: vip), protocol: .esp, payload: esp)
        }
        var to = DemoClients.socketAddress(vip, port)
        let result = withUnsafePointer(to: &to) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { sendto(fd, data, data.count, 0, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        if result == data.count { sent += 1 }
        // Drain echoes or ICMP errors queued on the client sockets (never read otherwise).
        var buffer = [UInt8](repeating: 0, count: 2048)
        if fd != raw { while recv(fd, &buffer, buffer.count, Int32(MSG_DONTWAIT)) > 0 {} }
    }
}

/// A gateway's sinks: UDP 500 and 4500 on any address and a raw ESP socket, counted, so the
/// demo shows what each gateway received (and the gateway sends no ICMP unreachable back).
final class DemoGatewaySink: @unchecked Sendable {
    private let sockets: [Int32]
    private(set) var received = 0

    init() throws {
        let a = try DemoClients.udpSocket(IPv4Address(0), 500)
        let b = try DemoClients.udpSocket(IPv4Address(0), 4500)
        let esp = socket(AF_INET, Int32(SOCK_RAW.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 50)
        guard esp >= 0 else { throw SystemError("socket(esp)") }
        sockets = [a, b, esp]
    }

    deinit { sockets.forEach { close($0) } }

    func drain() {
        var buffer = [UInt8](repeating: 0, count: 65536)
        for fd in sockets { while recv(fd, &buffer, buffer.count, Int32(MSG_DONTWAIT)) > 0 { received += 1 } }
    }
}
