#if canImport(Glibc)
import Glibc
#endif
import ESP
import Foundation
import IKE
import IPsecCrypto
import SLBWire
import Testing

/// Our IKEv1 machines against a live strongSwan 5.9.8, over real UDP sockets in network
/// namespaces that `Fixtures/strongswan/run-live-interop` creates (root only). Skipped unless
/// that script sets VPNSLB_IKEV1_LIVE to `responder` (strongSwan initiates to us and pings
/// 203.0.113.1 through the tunnel; we answer the echo over ESP) or `initiator` (we initiate to
/// strongSwan and ping 203.0.113.1 through it).
struct LiveInteropTests {
    static let mode = ProcessInfo.processInfo.environment["VPNSLB_IKEV1_LIVE"]
    static let seconds = UInt64(ProcessInfo.processInfo.environment["VPNSLB_IKEV1_LIVE_SECONDS"] ?? "") ?? 20
    static let innerClient = IPv4Address(192, 0, 2, 130)
    static let innerService = IPv4Address(203, 0, 113, 1)
    static let livePSK = Array("vpnslb-ikev1-fixture-psk".utf8)

    /// A bound, non-blocking UDP socket (test scaffolding; the product's sockets live at the edge).
    final class UDPSocket {
        let fd: Int32
        let local: IKEEndpoint
        init?(_ local: IKEEndpoint) {
            let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
            guard fd >= 0 else { return nil }
            var one: Int32 = 1
            setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
            var sa = Self.address(local)
            let ok = withUnsafePointer(to: &sa) {
                $0.withMemoryRebound(to: Glibc.sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            guard ok == 0 else { close(fd); return nil }
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
            self.fd = fd
            self.local = local
        }
        deinit { close(fd) }

        static func address(_ e: IKEEndpoint) -> sockaddr_in {
            var sa = sockaddr_in()
            sa.sin_family = sa_family_t(AF_INET)
            sa.sin_port = e.port.bigEndian
            sa.sin_addr.s_addr = e.address.value.bigEndian
            return sa
        }

        func send(_ bytes: [UInt8], to: IKEEndpoint) {
            var sa = Self.address(to)
            _ = bytes.withUnsafeBytes { buf in
                withUnsafePointer(to: &sa) {
                    $0.withMemoryRebound(to: Glibc.sockaddr.self, capacity: 1) {
                        sendto(fd, buf.baseAddress, buf.count, 0, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                    }
                }
            }
        }

        func receive() -> ([UInt8], IKEEndpoint)? {
            var buffer = [UInt8](repeating: 0, count: 65536)
            var sa = sockaddr_in()
            var len = socklen_t(MemoryLayout<sockaddr_in>.size)
            let n = buffer.withUnsafeMutableBytes { buf in
                withUnsafeMutablePointer(to: &sa) {
                    $0.withMemoryRebound(to: Glibc.sockaddr.self, capacity: 1) { recvfrom(fd, buf.baseAddress, buf.count, 0, $0, &len) }
                }
            }
            guard n >= 0 else { return nil }
            return (Array(buffer.prefix(n)), IKEEndpoint(IPv4Address(UInt32(bigEndian: sa.sin_addr.s_addr)), UInt16(bigEndian: sa.sin_port)))
        }
    }

    static func now() -> MonotonicTime {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return MonotonicTime(nanoseconds: UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec))
    }

    /// RFC 1071 checksum.
    static func checksum(_ b: ArraySlice<UInt8>) -> UInt16 {
        var sum: UInt32 = 0
        var i = b.startIndex
        while i < b.endIndex {
            sum += UInt32(b[i]) << 8 | (i + 1 < b.endIndex ? UInt32(b[i + 1]) : 0)
            i += 2
        }
        while sum >> 16 != 0 { sum = (sum & 0xFFFF) + (sum >> 16) }
        return ~UInt16(sum)
    }

    /// An IPv4 ICMP echo (request or reply) from `src` to `dst`.
    static func icmpEcho(type: UInt8, src: IPv4Address, dst: IPv4Address, id: UInt16, seq: UInt16, data: [UInt8]) -> [UInt8] {
        var icmp: [UInt8] = [type, 0, 0, 0, UInt8(id >> 8), UInt8(id & 0xFF), UInt8(seq >> 8), UInt8(seq & 0xFF)] + data
        let c = checksum(icmp[...])
        icmp[2] = UInt8(c >> 8); icmp[3] = UInt8(c & 0xFF)
        let total = 20 + icmp.count
        var ip: [UInt8] = [0x45, 0, UInt8(total >> 8), UInt8(total & 0xFF), 0, 1, 0x40, 0, 64, 1, 0, 0]
        for a in [src.value, dst.value] { ip += [UInt8(a >> 24), UInt8(a >> 16 & 0xFF), UInt8(a >> 8 & 0xFF), UInt8(a & 0xFF)] }
        let h = checksum(ip[...])
        ip[10] = UInt8(h >> 8); ip[11] = UInt8(h & 0xFF)
        return ip + icmp
    }

    /// Parses an inner IPv4 ICMP echo: (type, src, dst, id, seq, data).
    static func parseEcho(_ p: [UInt8]) -> (UInt8, IPv4Address, IPv4Address, UInt16, UInt16, [UInt8])? {
        guard p.count >= 28, p[0] >> 4 == 4, p[9] == 1 else { return nil }
        let ihl = Int(p[0] & 0x0F) * 4
        guard p.count >= ihl + 8 else { return nil }
        func u32(_ i: Int) -> UInt32 { p[i..<i + 4].reduce(0) { $0 << 8 | UInt32($1) } }
        let id = UInt16(p[ihl + 4]) << 8 | UInt16(p[ihl + 5])
        let seq = UInt16(p[ihl + 6]) << 8 | UInt16(p[ihl + 7])
        return (p[ihl], IPv4Address(u32(12)), IPv4Address(u32(16)), id, seq, Array(p[(ihl + 8)...]))
    }

    /// The edge loop a gateway would run, minimised: sockets on 500/4500, IKE to the machine,
    /// ESP to the installed SAs, ICMP echo answered or counted.
    final class Edge {
        var ike500: UDPSocket
        var ike4500: UDPSocket
        var inbound: [UInt32: InboundSA] = [:]
        var outbound: [UInt32: (OutboundSA, IKEv1ChildSA)] = [:]
        var peerESP: IKEEndpoint?
        var log: [String] = []
        var established = 0, installed = 0, echoRequestsAnswered = 0, echoRepliesReceived = 0

        init?(local: IPv4Address) {
            guard let a = UDPSocket(IKEEndpoint(local, 500)), let b = UDPSocket(IKEEndpoint(local, 4500)) else { return nil }
            ike500 = a
            ike4500 = b
        }

        func perform(_ actions: [IKEv1Action], now: MonotonicTime) -> MonotonicTime? {
            var wake: MonotonicTime?
            for a in actions {
                switch a {
                case .send(let bytes, let to, let from):
                    if from.port == 4500 { ike4500.send(markedIKEDatagram(bytes), to: to) } else { ike500.send(bytes, to: to) }
                    peerESP = to.port == 500 ? peerESP : to
                case .installChildSA(let c):
                    installed += 1
                    if let i = try? c.child.inboundSA(now: now, lifetime: c.lifetime), let o = try? c.child.outboundSA(now: now, lifetime: c.lifetime) {
                        inbound[c.child.inboundSPI] = i
                        outbound[c.child.outboundSPI] = (o, c)
                    }
                    log.append("install \(String(c.child.inboundSPI, radix: 16))/\(String(c.child.outboundSPI, radix: 16)) \(c.child.suite) udp=\(c.child.udpEncapsulation)")
                case .phase1Established(let info):
                    established += 1
                    log.append("phase 1 \(info.suite.map { "\($0)" } ?? "") peer \(info.peer) nat \(info.nat)")
                case .schedule(let t):
                    wake = t
                case .deleteChildSA(let i, let o, _, let r):
                    inbound[i] = nil
                    outbound[o] = nil
                    log.append("delete child \(r)")
                default:
                    log.append("\(a)")
                }
            }
            return wake
        }

        /// Sends an inner packet through the (first) outbound SA.
        func sendInner(_ packet: [UInt8], now: MonotonicTime) {
            guard let first = outbound.values.first, let peer = peerESP else { return }
            var sa = first.0
            guard let esp = try? sa.seal(packet, now: now, crypto: openSSL) else { return }
            let c = first.1
            outbound[sa.spi] = (sa, c)
            ike4500.send(esp, to: peer)
        }

        /// One ESP-in-UDP packet from the peer.
        func receiveESP(_ packet: [UInt8], from: IKEEndpoint, now: MonotonicTime) {
            guard packet.count >= 8 else { return }
            let spi = packet.prefix(4).reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
            guard var sa = inbound[spi], let opened = try? sa.open(packet, now: now, crypto: openSSL) else {
                log.append("ESP dropped (spi \(String(spi, radix: 16)))")
                return
            }
            inbound[spi] = sa
            peerESP = from
            guard let (type, src, dst, id, seq, data) = LiveInteropTests.parseEcho(opened.payload) else { return }
            if type == 8 {
                echoRequestsAnswered += 1
                sendInner(LiveInteropTests.icmpEcho(type: 0, src: dst, dst: src, id: id, seq: seq, data: data), now: now)
            } else if type == 0 {
                echoRepliesReceived += 1
            }
        }

        /// Polls both sockets for up to 100 ms; returns (datagram, from, arrived on 4500).
        func poll() -> [([UInt8], IKEEndpoint, Bool)] {
            var fds = [pollfd(fd: ike500.fd, events: Int16(POLLIN), revents: 0), pollfd(fd: ike4500.fd, events: Int16(POLLIN), revents: 0)]
            guard Glibc.poll(&fds, 2, 100) > 0 else { return [] }
            var out: [([UInt8], IKEEndpoint, Bool)] = []
            while let (b, from) = ike500.receive() { out.append((b, from, false)) }
            while let (b, from) = ike4500.receive() { out.append((b, from, true)) }
            return out
        }
    }

    @Test(.enabled(if: mode == "responder"))
    func strongSwanInitiatesToOurResponder() throws {
        var config = IKEv1ResponderConfiguration(preSharedKeys: PreSharedKeyTable([(IPv4Network(address: clientAddress, mask: .host), Self.livePSK)]),
                                                 dpd: DPDPolicy(interval: .seconds(5), periodic: true))
        config.virtualIP = vip
        var responder = IKEv1Responder(configuration: config, crypto: openSSL)
        let edge = try #require(Edge(local: vip))
        let end = Self.now() + .seconds(Self.seconds)
        var wake: MonotonicTime?
        while Self.now() < end {
            for (bytes, from, on4500) in edge.poll() {
                let now = Self.now()
                let port: UInt16 = on4500 ? 4500 : 500
                if on4500 {
                    switch classifyNATTDatagram(bytes) {
                    case .ike(let ike): wake = edge.perform(responder.receive(Array(ike), from: from, to: IKEEndpoint(vip, port), now: now), now: now) ?? wake
                    case .esp: edge.receiveESP(bytes, from: from, now: now)
                    case .keepalive, .invalid: break
                    }
                } else {
                    wake = edge.perform(responder.receive(bytes, from: from, to: IKEEndpoint(vip, port), now: now), now: now) ?? wake
                }
            }
            if let t = wake, Self.now() >= t { wake = edge.perform(responder.handleTimers(now: Self.now()), now: Self.now()) }
        }
        print("live responder:\n  " + edge.log.joined(separator: "\n  "))
        print(ISAKMPSATable.render(responder.snapshot()))
        #expect(edge.established >= 1 && edge.installed >= 1)
        #expect(edge.echoRequestsAnswered >= 1)
        #expect(edge.log.allSatisfy { !$0.contains("ESP dropped") })
        // strongSwan's terminate: its DELETEs remove the child and the ISAKMP SA here.
        #expect(edge.log.contains("delete child deletedByPeer"))
        #expect(edge.log.contains { $0.hasPrefix("deleteISAKMPSA") && $0.contains("deletedByPeer") })
        #expect(responder.count == 0)
    }

    @Test(.enabled(if: mode == "initiator"))
    func ourInitiatorToStrongSwan() throws {
        var config = IKEv1InitiatorConfiguration(local: clientEndpoint, peer: gatewayEndpoint, psk: Self.livePSK,
                                                 policies: [ISAKMPPolicy.seedPolicies[0]],
                                                 quickMode: QuickModePolicy(transformSets: [.espAES128SHA], pfsGroup: .modp1024))
        config.quickModeIDs = (.ipv4(IPv4Network(address: Self.innerClient, mask: .host)), .ipv4(IPv4Network(address: Self.innerService, mask: .host)))
        var initiator = IKEv1Initiator(configuration: config, crypto: openSSL)
        let edge = try #require(Edge(local: clientAddress))
        var wake = edge.perform(initiator.start(now: Self.now()), now: Self.now())
        let end = Self.now() + .seconds(Self.seconds)
        var quickModeStarted = false
        var pings: UInt16 = 0
        var nextPing = Self.now()
        var deleted = false
        while Self.now() < end {
            for (bytes, from, on4500) in edge.poll() {
                let now = Self.now()
                let local = IKEEndpoint(clientAddress, on4500 ? 4500 : 500)
                if on4500 {
                    switch classifyNATTDatagram(bytes) {
                    case .ike(let ike): wake = edge.perform(initiator.receive(Array(ike), from: from, to: local, now: now), now: now) ?? wake
                    case .esp: edge.receiveESP(bytes, from: from, now: now)
                    case .keepalive, .invalid: break
                    }
                } else {
                    wake = edge.perform(initiator.receive(bytes, from: from, to: local, now: now), now: now) ?? wake
                }
            }
            let now = Self.now()
            if initiator.isEstablished, !quickModeStarted {
                quickModeStarted = true
                wake = edge.perform(initiator.startQuickMode(now: now), now: now) ?? wake
                nextPing = now + .seconds(1)
                // DPD toward strongSwan as well.
                wake = edge.perform(initiator.probePeer(now: now), now: now) ?? wake
            }
            if !edge.outbound.isEmpty, pings < 5, now >= nextPing {
                pings += 1
                nextPing = now + .seconds(1)
                edge.sendInner(Self.icmpEcho(type: 8, src: Self.innerClient, dst: Self.innerService, id: 0x1234, seq: pings,
                                             data: Array("vpnslb".utf8)), now: now)
            }
            if edge.echoRepliesReceived >= 3, !deleted {
                deleted = true
                wake = edge.perform(initiator.deleteISAKMPSA(now: now), now: now) ?? wake
            }
            if let t = wake, now >= t { wake = edge.perform(initiator.handleTimers(now: now), now: now) }
        }
        print("live initiator:\n  " + edge.log.joined(separator: "\n  "))
        #expect(edge.established == 1 && edge.installed == 1)
        // Up to 5 echoes, one a second; the first may beat strongSwan's route through its TUN.
        #expect(edge.echoRepliesReceived >= 3)
        #expect(edge.log.contains { $0.contains("peerAlive") })
        #expect(deleted && edge.log.contains { $0.contains("deletedLocally") })
    }
}
