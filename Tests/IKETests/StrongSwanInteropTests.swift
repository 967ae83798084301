#if os(Linux)
import Foundation
import Glibc
import IKE
import IPsecCrypto
import SLBWire
import Testing

/// Live interop with strongSwan's charon; runs only under `Interop/strongswan-interop.sh`,
/// which creates the namespace, starts charon and sets VPNSLB_STRONGSWAN_INTEROP.
@Suite("strongSwan live interop", .serialized,
       .enabled(if: ProcessInfo.processInfo.environment["VPNSLB_STRONGSWAN_INTEROP"] != nil))
struct StrongSwanInteropTests {
    static let work = ProcessInfo.processInfo.environment["VPNSLB_STRONGSWAN_INTEROP"] ?? ""
    static let psk = Array((ProcessInfo.processInfo.environment["VPNSLB_INTEROP_PSK"] ?? "").utf8)

    /// A UDP socket bound to `endpoint`, non-blocking reads through poll().
    final class UDPSocket {
        let fd: Int32
        let endpoint: IKEEndpoint

        init(_ endpoint: IKEEndpoint) throws {
            self.endpoint = endpoint
            fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
            guard fd >= 0 else { throw IKEError(.crypto, "socket: errno \(errno)") }
            var one: Int32 = 1
            setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
            var address = Self.socketAddress(endpoint)
            let rc = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: Glibc.sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            guard rc == 0 else { close(fd); throw IKEError(.crypto, "bind \(endpoint): errno \(errno)") }
        }

        deinit { close(fd) }

        static func socketAddress(_ e: IKEEndpoint) -> sockaddr_in {
            var a = sockaddr_in()
            a.sin_family = sa_family_t(AF_INET)
            a.sin_port = e.port.bigEndian
            a.sin_addr = in_addr(s_addr: e.address.value.bigEndian)
            return a
        }

        func receive() -> ([UInt8], IKEEndpoint)? {
            var buffer = [UInt8](repeating: 0, count: 65_536)
            var from = sockaddr_in()
            var length = socklen_t(MemoryLayout<sockaddr_in>.size)
            let n = buffer.withUnsafeMutableBytes { raw in
                withUnsafeMutablePointer(to: &from) {
                    $0.withMemoryRebound(to: Glibc.sockaddr.self, capacity: 1) {
                        recvfrom(fd, raw.baseAddress, raw.count, Int32(MSG_DONTWAIT), $0, &length)
                    }
                }
            }
            guard n > 0 else { return nil }
            return (Array(buffer.prefix(n)), IKEEndpoint(IPv4Address(UInt32(bigEndian: from.sin_addr.s_addr)), UInt16(bigEndian: from.sin_port)))
        }

        func send(_ bytes: [UInt8], to: IKEEndpoint) {
            var address = Self.socketAddress(to)
            _ = bytes.withUnsafeBytes { raw in
                withUnsafePointer(to: &address) {
                    $0.withMemoryRebound(to: Glibc.sockaddr.self, capacity: 1) {
                        sendto(fd, raw.baseAddress, raw.count, 0, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                    }
                }
            }
        }
    }

    static func monotonicNow() -> MonotonicTime {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return MonotonicTime(nanoseconds: UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec))
    }

    static func swanctl(_ arguments: [String]) throws -> (status: Int32, output: String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/sbin/swanctl")
        p.arguments = arguments + ["--uri", "unix://\(work)/charon.vici"]
        let pipe = Pipe()
        p.standardOutput = pipe
        p.standardError = pipe
        try p.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    /// A scenario: charon connection, how our responder is configured, the suites we expect.
    struct Scenario: CustomStringConvertible, Sendable {
        var connection: String
        var note: String
        var configure: @Sendable (inout IKEv2ResponderConfiguration) -> Void
        var ike: IKESuite
        var esp: ESPSuite
        var description: String { "\(connection) \(note)" }
    }

    static let cbc128 = IKESuite(encryption: .aesCBC, keyLength: 16, prf: .hmacSHA256, integrity: .hmacSHA256_128, dhGroup: .curve25519)
    static let gcm128ESP = ESPSuite(encryption: .aesGCM16, keyLength: 16, integrity: nil)

    static let scenarios: [Scenario] = [
        Scenario(connection: "interop", note: "defaults", configure: { _ in }, ike: cbc128, esp: gcm128ESP),
        Scenario(connection: "interop-gcm", note: "AES-GCM IKE SA, CBC ESP", configure: { _ in },
                 ike: IKESuite(encryption: .aesGCM16, keyLength: 16, prf: .hmacSHA256, integrity: nil, dhGroup: .curve25519),
                 esp: ESPSuite(encryption: .aesCBC, keyLength: 32, integrity: .hmacSHA256_128)),
        // <-- N(COOKIE) first: charon must retry with the cookie (§2.6).
        Scenario(connection: "interop", note: "COOKIE", configure: { $0.cookieThreshold = 0 }, ike: cbc128, esp: gcm128ESP),
        // <-- N(INVALID_KE_PAYLOAD(19)): charon must retry with ECP256 (§1.2).
        Scenario(connection: "interop", note: "INVALID_KE", configure: { $0.ike.dhGroups = [.ecp256] },
                 ike: IKESuite(encryption: .aesCBC, keyLength: 16, prf: .hmacSHA256, integrity: .hmacSHA256_128, dhGroup: .ecp256),
                 esp: gcm128ESP),
    ]

    @Test("charon initiates against our responder", arguments: scenarios)
    func charonEstablishesIKEAndChildSAWithOurResponder(_ scenario: Scenario) throws {
        let name = scenario.connection
        let vip = IPv4Address(203, 0, 113, 100)
        var config = IKEv2ResponderConfiguration(virtualIP: vip, defaultPSK: Self.psk, cookieSecret: farmSecret)
        config.child.localSelectors = [.host(IPv4Address(203, 0, 113, 1))]
        scenario.configure(&config)
        var responder = IKEv2Responder(configuration: config, crypto: openSSL)
        let sockets = [try UDPSocket(IKEEndpoint(vip, 500)), try UDPSocket(IKEEndpoint(vip, 4500))]

        // swanctl --initiate blocks until charon is done; run it beside our loop.
        let initiate = Process()
        initiate.executableURL = URL(fileURLWithPath: "/usr/sbin/swanctl")
        initiate.arguments = ["--initiate", "--uri", "unix://\(Self.work)/charon.vici", "--child", name, "--timeout", "15"]
        let pipe = Pipe()
        initiate.standardOutput = pipe
        initiate.standardError = pipe
        try initiate.run()

        var installed: [ChildSA] = []
        var established: [IKESAInfo] = []
        var received = 0
        let deadline = Self.monotonicNow() + .seconds(15)
        while Self.monotonicNow() < deadline, installed.isEmpty || initiate.isRunning {
            var fds = sockets.map { pollfd(fd: $0.fd, events: Int16(POLLIN), revents: 0) }
            _ = poll(&fds, nfds_t(fds.count), 100)
            for socket in sockets {
                while let (datagram, from) = socket.receive() {
                    var bytes = datagram
                    if socket.endpoint.port == 4500 {
                        // RFC 3948 §2.2: IKE on 4500 carries a 4-octet zero marker; skip ESP and keepalives.
                        guard bytes.count > 4, bytes.prefix(4).allSatisfy({ $0 == 0 }) else { continue }
                        bytes.removeFirst(4)
                    }
                    received += 1
                    for action in responder.receive(bytes, from: from, to: socket.endpoint, now: Self.monotonicNow()) {
                        switch action {
                        case .send(let out, let to, let local):
                            let s = sockets.first { $0.endpoint.port == local.port } ?? sockets[0]
                            s.send(local.port == 4500 ? [0, 0, 0, 0] + out : out, to: to)
                        case .installChildSA(let c, _): installed.append(c)
                        case .established(let info): established.append(info)
                        default: break
                        }
                    }
                }
            }
        }
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        initiate.waitUntilExit()
        print("strongSwan interop: \(received) datagrams; swanctl --initiate:\n\(output)")
        #expect(initiate.terminationStatus == 0)
        #expect(established.count == 1)
        #expect(established.first?.suite == scenario.ike)
        let child = try #require(installed.first)
        #expect(child.suite == scenario.esp)
        // charon's view of the same SAs: its outbound SPI is our inbound one.
        let list = try Self.swanctl(["--list-sas"])
        print(list.output)
        #expect(list.output.contains("ESTABLISHED"))
        #expect(list.output.contains("INSTALLED"))
        let ourInbound = String(child.inboundSPI, radix: 16)
        #expect(list.output.contains(String(repeating: "0", count: 8 - ourInbound.count) + ourInbound))
        // And the liveness check both ways: charon answers ours.
        let id = try #require(established.first).id
        var answered = false
        for action in responder.checkLiveness(of: id, now: Self.monotonicNow()) {
            if case .send(let out, let to, let local) = action {
                let s = sockets.first { $0.endpoint.port == local.port } ?? sockets[0]
                s.send(local.port == 4500 ? [0, 0, 0, 0] + out : out, to: to)
            }
        }
        let until = Self.monotonicNow() + .seconds(5)
        while !answered, Self.monotonicNow() < until {
            var fds = sockets.map { pollfd(fd: $0.fd, events: Int16(POLLIN), revents: 0) }
            _ = poll(&fds, nfds_t(fds.count), 100)
            for socket in sockets {
                while let (datagram, from) = socket.receive() {
                    var bytes = datagram
                    if socket.endpoint.port == 4500 { guard bytes.count > 4 else { continue }; bytes.removeFirst(4) }
                    let actions = responder.receive(bytes, from: from, to: socket.endpoint, now: Self.monotonicNow())
                    if (try? IKEMessage.parse(bytes))?.header.isResponse == true, actions.drops.isEmpty { answered = true }
                }
            }
        }
        #expect(answered)

        // ESP both ways with the CHILD_SA keys: charon pings the service address through its
        // tunnel; we decrypt each echo request and encrypt the reply (ESP-in-UDP, RFC 3948).
        var inbound = try child.inboundSA(now: Self.monotonicNow())
        var outbound = try child.outboundSA(now: Self.monotonicNow())
        let ping = Process()
        ping.executableURL = URL(fileURLWithPath: "/bin/ping")
        ping.arguments = ["-c", "3", "-i", "0.2", "-W", "2", "-I", "192.0.2.130", "203.0.113.1"]
        let pingOutput = Pipe()
        ping.standardOutput = pingOutput
        ping.standardError = pingOutput
        try ping.run()
        var echoed = 0
        let pingDeadline = Self.monotonicNow() + .seconds(10)
        while ping.isRunning, Self.monotonicNow() < pingDeadline {
            var fds = [pollfd(fd: sockets[1].fd, events: Int16(POLLIN), revents: 0)]
            _ = poll(&fds, 1, 100)
            while let (datagram, from) = sockets[1].receive() {
                // Non-ESP marker → IKE (ignored here); 0xFF → NAT keepalive; else ESP.
                guard datagram.count > 8, !datagram.prefix(4).allSatisfy({ $0 == 0 }) else { continue }
                let now = Self.monotonicNow()
                guard let inner = try? inbound.open(datagram, now: now, crypto: openSSL),
                      let reply = Self.echoReply(to: inner.payload),
                      let packet = try? outbound.seal(reply, now: now, crypto: openSSL) else { continue }
                sockets[1].send(packet, to: from)
                echoed += 1
            }
        }
        ping.waitUntilExit()
        let pingText = String(decoding: pingOutput.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        print("strongSwan interop ping through the tunnel:\n\(pingText)")
        #expect(echoed == 3)
        #expect(ping.terminationStatus == 0)
        #expect(pingText.contains("3 received"))

        // charon drives CREATE_CHILD_SA (Child rekey, IKE rekey) and DELETE against us.
        func drive(_ arguments: [String], until done: ([IKEAction]) -> Bool) throws -> [IKEAction] {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/usr/sbin/swanctl")
            p.arguments = arguments + ["--uri", "unix://\(Self.work)/charon.vici"]
            p.standardOutput = FileHandle.nullDevice
            p.standardError = FileHandle.nullDevice
            try p.run()
            var actions: [IKEAction] = []
            let until = Self.monotonicNow() + .seconds(10)
            while Self.monotonicNow() < until, p.isRunning || !done(actions) {
                var fds = sockets.map { pollfd(fd: $0.fd, events: Int16(POLLIN), revents: 0) }
                _ = poll(&fds, nfds_t(fds.count), 100)
                for socket in sockets {
                    while let (datagram, from) = socket.receive() {
                        var bytes = datagram
                        if socket.endpoint.port == 4500 {
                            guard bytes.count > 4, bytes.prefix(4).allSatisfy({ $0 == 0 }) else { continue }
                            bytes.removeFirst(4)
                        }
                        let out = responder.receive(bytes, from: from, to: socket.endpoint, now: Self.monotonicNow())
                        actions += out
                        for case .send(let b, let to, let local) in out {
                            let s = sockets.first { $0.endpoint.port == local.port } ?? sockets[0]
                            s.send(local.port == 4500 ? [0, 0, 0, 0] + b : b, to: to)
                        }
                    }
                }
            }
            p.waitUntilExit()
            return actions
        }
        let childRekey = try drive(["--rekey", "--child", name]) { !$0.installed.isEmpty && !$0.deletedChildren.isEmpty }
        #expect(childRekey.installed.count == 1)
        #expect(childRekey.deletedChildren == [child.inboundSPI])      // charon deleted the old one (§2.8)
        let ikeRekey = try drive(["--rekey", "--ike", name]) { actions in
            actions.contains { if case .rekeyedIKESA = $0 { true } else { false } } && !actions.deletedIKESAs.isEmpty
        }
        #expect(ikeRekey.deletedIKESAs == [id])
        #expect(responder.establishedCount == 1 && responder.establishedSAs.first?.id != id)
        let newID = try #require(responder.establishedSAs.first).id
        #expect(responder.childSAs(of: newID).count == 1)               // the Child SA moved
        let terminate = try drive(["--terminate", "--ike", name]) { !$0.deletedIKESAs.isEmpty }
        #expect(terminate.deletedIKESAs == [newID])
        #expect(responder.establishedCount == 0)
        print("strongSwan interop: Child rekey, IKE rekey and terminate handled")
    }

    /// Our initiator (the project's client) against charon as the gateway: CP address, ESP
    /// echo through charon's tunnel, Child and IKE rekeys, delete.
    @Test func ourInitiatorAgainstCharon() throws {
        let ourAddress = IPv4Address(198, 51, 100, 10)
        let charon = IKEEndpoint(IPv4Address(192, 0, 2, 10), 5500)
        var config = IKEv2InitiatorConfiguration(local: IKEEndpoint(ourAddress, 500), peer: charon,
                                                 identity: .fqdn("our-client.vpnslb.example"), psk: Self.psk)
        config.peerIdentity = .fqdn("gateway.vpnslb.example")
        config.peerNATTraversalPort = 5501
        config.requestVirtualAddress = true
        config.child.remoteSelectors = [.host(IPv4Address(192, 0, 2, 130))]
        var initiator = IKEv2Initiator(configuration: config, crypto: openSSL)
        let sockets = [try UDPSocket(IKEEndpoint(ourAddress, 500)), try UDPSocket(IKEEndpoint(ourAddress, 4500))]
        var espReceived: [[UInt8]] = []

        func perform(_ actions: [IKEAction]) {
            for case .send(let b, let to, let local) in actions {
                let s = sockets.first { $0.endpoint.port == local.port } ?? sockets[0]
                // RFC 3948 §2.2 as strongSwan applies it: a marker unless a port is 500.
                s.send(local.port != 500 && to.port != 500 ? [0, 0, 0, 0] + b : b, to: to)
            }
        }
        func serve(seconds: UInt64, until done: ([IKEAction]) -> Bool) -> [IKEAction] {
            var all: [IKEAction] = []
            let until = Self.monotonicNow() + .seconds(seconds)
            while Self.monotonicNow() < until, !done(all) {
                var fds = sockets.map { pollfd(fd: $0.fd, events: Int16(POLLIN), revents: 0) }
                _ = poll(&fds, nfds_t(fds.count), 100)
                for socket in sockets {
                    while let (datagram, from) = socket.receive() {
                        var bytes = datagram
                        if socket.endpoint.port == 4500 {
                            guard bytes.count > 4 else { continue }
                            guard bytes.prefix(4).allSatisfy({ $0 == 0 }) else { espReceived.append(bytes); continue }
                            bytes.removeFirst(4)
                        }
                        let out = initiator.receive(bytes, from: from, now: Self.monotonicNow())
                        all += out
                        perform(out)
                    }
                }
            }
            return all
        }

        // IKE_SA_INIT -->  <-- IKE_SA_INIT  IKE_AUTH -->  <-- IKE_AUTH
        perform(initiator.start(now: Self.monotonicNow()))
        let setup = serve(seconds: 10) { !$0.established.isEmpty || !$0.failures.isEmpty }
        #expect(setup.failures.isEmpty)
        let info = try #require(initiator.ikeSA)
        #expect(info.virtualAddress == IPv4Address(198, 51, 100, 200))      // CP from charon's pool
        #expect(info.udpEncapsulation && info.peer.port == 5501)
        let child = try #require(setup.installed.first)
        #expect(child.localSelectors == [.host(IPv4Address(198, 51, 100, 200))])
        print("our initiator vs charon: \(info.suite), \(child.suite)")

        // ESP: echo request from our virtual address to charon's inner address, and back.
        var outbound = try child.outboundSA(now: Self.monotonicNow())
        var inbound = try child.inboundSA(now: Self.monotonicNow())
        let request = Self.echoRequest(from: IPv4Address(198, 51, 100, 200), to: IPv4Address(192, 0, 2, 130), id: 0x4242)
        sockets[1].send(try outbound.seal(request, now: Self.monotonicNow(), crypto: openSSL), to: info.peer)
        _ = serve(seconds: 5) { _ in !espReceived.isEmpty }
        let reply = try inbound.open(try #require(espReceived.first), now: Self.monotonicNow(), crypto: openSSL)
        #expect(reply.payload.count == request.count)
        #expect(Array(reply.payload[12..<16]) == [192, 0, 2, 130] && reply.payload[20] == 0)   // ICMP echo reply

        // CREATE_CHILD_SA (Child rekey with PFS, charon wants X25519) -->  <--  D(old) -->  <--
        perform(initiator.rekeyChildSA(inboundSPI: child.inboundSPI, pfs: .curve25519, now: Self.monotonicNow()))
        let childRekey = serve(seconds: 10) { !$0.deletedChildren.isEmpty || !$0.failures.isEmpty }
        #expect(childRekey.failures.isEmpty)
        #expect(childRekey.installed.count == 1 && childRekey.deletedChildren == [child.inboundSPI])
        #expect(childRekey.installed.first?.suite.dhGroup == .curve25519)
        // The rekeyed Child SA carries traffic too.
        let rekeyedChild = try #require(childRekey.installed.first)
        var outbound2 = try rekeyedChild.outboundSA(now: Self.monotonicNow())
        var inbound2 = try rekeyedChild.inboundSA(now: Self.monotonicNow())
        espReceived = []
        sockets[1].send(try outbound2.seal(request, now: Self.monotonicNow(), crypto: openSSL), to: info.peer)
        _ = serve(seconds: 5) { _ in !espReceived.isEmpty }
        let reply2 = try inbound2.open(try #require(espReceived.first), now: Self.monotonicNow(), crypto: openSSL)
        #expect(reply2.payload[20] == 0)
        // CREATE_CHILD_SA (IKE rekey) -->  <--  INFORMATIONAL D(IKE old) -->  <--
        perform(initiator.rekeyIKESA(now: Self.monotonicNow()))
        let ikeRekey = serve(seconds: 10) { !$0.deletedIKESAs.isEmpty || !$0.failures.isEmpty }
        #expect(ikeRekey.failures.isEmpty)
        #expect(ikeRekey.deletedIKESAs == [info.id])
        #expect(initiator.ikeSA.map { $0.id != info.id } == true)
        // Liveness on the new SA, then delete it: with window 1 the delete is only sent once
        // charon has answered the liveness check, so the delete's success proves both.
        perform(initiator.checkLiveness(now: Self.monotonicNow()))
        #expect(serve(seconds: 1) { _ in false }.failures.isEmpty)
        perform(initiator.delete(now: Self.monotonicNow()))
        let gone = serve(seconds: 5) { !$0.deletedIKESAs.isEmpty }
        #expect(gone.deletedIKESAs.count == 1)
        #expect(!initiator.isEstablished)
        let list = try Self.swanctl(["--list-sas"])
        #expect(!list.output.contains("gateway:"))
        print("our initiator vs charon: CP, ESP echo, Child rekey, IKE rekey, liveness and delete done")
    }

    /// An ICMP echo request (RFC 792) with valid IPv4 and ICMP checksums.
    static func echoRequest(from: IPv4Address, to: IPv4Address, id: UInt16) -> [UInt8] {
        var p: [UInt8] = [0x45, 0, 0, 84, 0, 1, 0x40, 0, 64, 1, 0, 0]
        p += from.value.bigEndianBytesForTest + to.value.bigEndianBytesForTest
        p += [8, 0, 0, 0, UInt8(id >> 8), UInt8(id & 0xFF), 0, 1] + [UInt8](repeating: 0x61, count: 56)
        return withChecksums(p)
    }

    /// An ICMP echo reply for an IPv4 echo request (RFC 792).
    static func echoReply(to request: [UInt8]) -> [UInt8]? {
        guard request.count >= 28, request[0] >> 4 == 4, request[9] == 1 else { return nil }
        let ihl = Int(request[0] & 0x0F) * 4
        guard ihl >= 20, request.count >= ihl + 8, request[ihl] == 8 else { return nil }
        var p = request
        p.replaceSubrange(12..<16, with: request[16..<20])
        p.replaceSubrange(16..<20, with: request[12..<16])
        p[8] = 64
        p[ihl] = 0
        return withChecksums(p)
    }

    /// Recomputes the IPv4 header and ICMP checksums (RFC 1071).
    static func withChecksums(_ packet: [UInt8]) -> [UInt8] {
        var p = packet
        let ihl = Int(p[0] & 0x0F) * 4
        func checksum(_ bytes: ArraySlice<UInt8>) -> UInt16 {
            var sum: UInt32 = 0
            var i = bytes.startIndex
            while i < bytes.endIndex {
                sum += UInt32(bytes[i]) << 8 | (i + 1 < bytes.endIndex ? UInt32(bytes[i + 1]) : 0)
                i += 2
            }
            while sum >> 16 != 0 { sum = (sum & 0xFFFF) + (sum >> 16) }
            return ~UInt16(sum)
        }
        p[ihl + 2] = 0; p[ihl + 3] = 0
        let icmp = checksum(p[ihl...])
        p[ihl + 2] = UInt8(icmp >> 8); p[ihl + 3] = UInt8(icmp & 0xFF)
        p[10] = 0; p[11] = 0
        let ip = checksum(p[0..<ihl])
        p[10] = UInt8(ip >> 8); p[11] = UInt8(ip & 0xFF)
        return p
    }
}
#endif
