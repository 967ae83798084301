import Dataplane
import Foundation
import Lab
import Runtime
import SLBCore
import SLBShow
import SLBWire
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Clients and gateway sinks on one UDP port of the VIP, for one lab.
final class PortTraffic {
    let lab: RuntimeLab
    let port: UInt16
    var sinks: [GatewaySink] = []
    var clients: [IPv4Address: IKEClient] = [:]

    init(lab: RuntimeLab, port: UInt16) throws {
        self.lab = lab
        self.port = port
        for n in lab.plan.gatewayNumbers {
            sinks.append(try lab.inside(lab.plan.gatewayNamespace(n)) { try GatewaySink(port: port) })
        }
    }

    func client(_ host: UInt8) throws -> IKEClient {
        let address = IPv4Address(192, 0, 2, host)
        if let existing = clients[address] { return existing }
        let port = port
        let made = try lab.inside(lab.plan.clientNamespace) { try IKEClient(source: address, port: port) }
        clients[address] = made
        return made
    }

    /// One datagram from each host; where each arrived (gateway numbers), waiting up to
    /// `seconds` for all of them (a round that expects nothing waits the whole time).
    func round(_ hosts: [UInt8], seconds: Double = 3) throws -> [IPv4Address: Set<Int>] {
        for host in hosts { try client(host).send() }
        var seen: [IPv4Address: Set<Int>] = [:]
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            for (i, sink) in sinks.enumerated() { for source in sink.drain() { seen[source, default: []].insert(i + 1) } }
            if seen.count >= hosts.count { break }
            usleep(20_000)
        }
        return seen
    }
}

/// A reload changes what `slb run` captures without a restart: the packet socket's BPF program
/// is swapped on the live socket and the nft drop table replaced in one transaction.
@Suite("reload rebuilds the capture filter and the nft table (root)", .serialized,
       .enabled(if: NetworkNamespace.isAvailable && SLBBinary.path != nil,
                "needs root, `ip netns` and a built .build/debug/slb: reload capture lab tests skipped"))
struct ReloadCaptureTests {
    static func config(natT: Bool) -> String {
        var text = """
            ip slb probe GW-PING ping
             interval 1
             faildetect 2
            ip slb serverfarm VPN
             probe GW-PING
             real 198.51.100.11
              inservice
             real 198.51.100.12
              inservice
            ip slb vserver VPN-ISAKMP
             virtual 203.0.113.100 udp isakmp
             serverfarm VPN
             sticky 3600 group 7
             inservice

            """
        if natT {
            text += """
                ip slb vserver VPN-NATT
                 virtual 203.0.113.100 udp 4500
                 serverfarm VPN
                 sticky 3600 group 7
                 inservice

                """
        }
        return text
    }

    func nftRules(_ lab: RuntimeLab) throws -> String {
        try SystemCommandRunner().run(["ip", "netns", "exec", lab.plan.slbNamespace, "nft", "list", "table", "ip", "vpnslb"]).output
    }

    @Test("a reload adding a NAT-T vserver (udp 4500) makes 4500 traffic reach the gateways; removing it stops it; no restart",
          arguments: ["packet-socket", "pcap"])
    func natTByReload(backend: String) throws {
        let lab = try RuntimeLab(gateways: 2)
        defer { lab.tearDown() }
        let config = lab.directory.appendingPathComponent("farm.cfg")
        try Self.config(natT: false).write(to: config, atomically: true, encoding: .utf8)
        let ike = try PortTraffic(lab: lab, port: 500)
        let natT = try PortTraffic(lab: lab, port: 4500)
        let control = lab.directory.appendingPathComponent("slb.sock").path
        let slb = try SLBProcess(lab: lab, arguments: [config.path, "--for", "60", "--control", control, "--backend", backend],
                                 logName: "slb-\(backend).log")
        defer { _ = slb.terminate() }
        try #require(slb.waitFor("slb.run.ready", seconds: 5), "slb run did not start: \(slb.log)")
        usleep(1_300_000)   // first probes resolve the gateways' MACs
        let pid = slb.process.processIdentifier

        let hosts = Array(UInt8(20)...UInt8(27))
        let home = try ike.round(hosts).mapValues { $0.first ?? 0 }
        try #require(home.count == hosts.count, "udp 500 not forwarded: \(slb.log)")
        #expect(try ike.round(hosts).mapValues { $0.first ?? 0 } == home)
        // Before the reload nothing captures udp 4500: the SLB's kernel has no route to the VIP.
        #expect(try natT.round(hosts, seconds: 0.7).isEmpty)
        #expect(try !nftRules(lab).contains("udp dport 4500"))

        try Self.config(natT: true).write(to: config, atomically: true, encoding: .utf8)
        let added = try ControlRequest.reload(file: nil).send(to: control, timeoutMilliseconds: 5000)
        #expect(added.ok, "\(added.text)")
        #expect(!added.text.contains("restart"), "\(added.text)")
        #expect(slb.waitFor("slb.capture.updated changed=filter,nft ", seconds: 2), "\(slb.log)")
        if let line = slb.log.split(separator: "\n").first(where: { $0.hasPrefix("slb.capture.updated") }) {
            print("reload capture (\(backend)): \(line.split(separator: " ").prefix(3).joined(separator: " "))")
        }
        let nat = try natT.round(hosts)
        #expect(nat.count == hosts.count, "udp 4500 after the reload: \(nat) \(slb.log)")
        // Sticky group 7 spans both vservers: each client's NAT-T goes where its IKE went.
        #expect(nat.mapValues { $0.first ?? 0 } == home)
        #expect(try nftRules(lab).contains("udp dport 4500"))
        let vservers = try ShowJSON.decode(ShowDocument.self,
                                           from: try ControlRequest.show(["vservers", "--json"]).send(to: control, timeoutMilliseconds: 5000).text)
        #expect(vservers.vservers?.contains { $0.name == "VPN-NATT" } == true)

        try Self.config(natT: false).write(to: config, atomically: true, encoding: .utf8)
        let removed = try ControlRequest.reload(file: nil).send(to: control, timeoutMilliseconds: 5000)
        #expect(removed.ok, "\(removed.text)")
        usleep(300_000)
        #expect(try natT.round(hosts, seconds: 0.7).isEmpty, "udp 4500 still forwarded after its vserver was removed")
        #expect(try !nftRules(lab).contains("udp dport 4500"))
        #expect(try ike.round(hosts).mapValues { $0.first ?? 0 } == home, "udp 500 clients moved")
        #expect(slb.process.processIdentifier == pid && slb.process.isRunning)
        #expect(slb.terminate() == 0, "\(slb.log)")
        #expect(!slb.log.contains("slb.capture.error"), "\(slb.log)")
    }
}

/// A gateway's UDP socket on any address: echoes each datagram to its sender (from the
/// gateway's own address, as a directed-mode real answers).
final class EchoSocket {
    let descriptor: Int32

    init(port: UInt16) throws {
        descriptor = socket(AF_INET, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
        guard descriptor >= 0 else { throw SystemError("socket") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        let status = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard status == 0 else { throw SystemError("bind(udp \(port))") }
    }

    deinit { close(descriptor) }

    /// Echoes what is waiting; returns the datagrams' destination-independent sources.
    @discardableResult
    func pump() -> [IPv4Address] {
        var sources: [IPv4Address] = []
        var buffer = [UInt8](repeating: 0, count: 2048)
        while true {
            var from = sockaddr_in()
            var length = socklen_t(MemoryLayout<sockaddr_in>.size)
            let count = withUnsafeMutablePointer(to: &from) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { recvfrom(descriptor, &buffer, buffer.count, 0, $0, &length) }
            }
            guard count > 0 else { return sources }
            sources.append(IPv4Address(UInt32(bigEndian: from.sin_addr.s_addr)))
            _ = withUnsafePointer(to: &from) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { sendto(descriptor, buffer, count, 0, $0, length) }
            }
        }
    }
}

/// The source (address, port) of a datagram waiting on `descriptor`, without blocking.
func receivedFrom(_ descriptor: Int32) -> (IPv4Address, UInt16)? {
    var buffer = [UInt8](repeating: 0, count: 2048)
    var from = sockaddr_in()
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let count = withUnsafeMutablePointer(to: &from) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { recvfrom(descriptor, &buffer, buffer.count, Int32(MSG_DONTWAIT), $0, &length) }
    }
    guard count > 0 else { return nil }
    return (IPv4Address(UInt32(bigEndian: from.sin_addr.s_addr)), UInt16(bigEndian: from.sin_port))
}

extension ReloadCaptureTests {
    static let directedFarm = """
        ip slb serverfarm NATT-DIRECT
         nat server
         probe GW-PING
         real 198.51.100.12
          inservice
        ip slb vserver VPN-NATT
         virtual 203.0.113.100 udp 4500
         serverfarm NATT-DIRECT
         inservice

        """

    @Test("a reload adding a directed-mode (nat server) farm: its real's replies are captured and leave from the VIP")
    func directedByReload() throws {
        let lab = try RuntimeLab(gateways: 2)
        defer { lab.tearDown() }
        let config = lab.directory.appendingPathComponent("farm.cfg")
        try Self.config(natT: false).write(to: config, atomically: true, encoding: .utf8)
        let echo = try lab.inside(lab.plan.gatewayNamespace(2)) { try EchoSocket(port: 4500) }
        let client = try lab.inside(lab.plan.clientNamespace) { try IKEClient(source: IPv4Address(192, 0, 2, 30), port: 4500) }
        let control = lab.directory.appendingPathComponent("slb.sock").path
        let slb = try SLBProcess(lab: lab, arguments: [config.path, "--for", "60", "--control", control], logName: "slb.log")
        defer { _ = slb.terminate() }
        try #require(slb.waitFor("slb.run.ready", seconds: 5), "slb run did not start: \(slb.log)")
        #expect(!slb.log.contains("reply-filter="), "dispatched only at start")

        try (Self.config(natT: false) + Self.directedFarm).write(to: config, atomically: true, encoding: .utf8)
        let reload = try ControlRequest.reload(file: nil).send(to: control, timeoutMilliseconds: 5000)
        #expect(reload.ok, "\(reload.text)")
        #expect(slb.waitFor("slb.capture.updated changed=filter,reply-filter,nft ", seconds: 2), "\(slb.log)")
        usleep(1_300_000)   // the new real's first probe resolves its MAC
        let nft = try SystemCommandRunner().run(["ip", "netns", "exec", lab.plan.slbNamespace, "nft", "list", "table", "ip", "vpnslb"]).output
        #expect(nft.contains("ip saddr 198.51.100.12 udp sport 4500 drop"), "\(nft)")

        var echoed: [IPv4Address] = []
        var reply: (IPv4Address, UInt16)?
        let deadline = Date().addingTimeInterval(3)
        var nextSend = Date.distantPast
        while Date() < deadline && reply == nil {
            if Date() >= nextSend {
                client.send()
                nextSend = Date().addingTimeInterval(0.5)
            }
            echoed += echo.pump()
            reply = receivedFrom(client.descriptor)
            usleep(20_000)
        }
        #expect(echoed.contains(IPv4Address(192, 0, 2, 30)), "the directed real got nothing: \(slb.log)")
        #expect(reply?.0 == LabAddressPlan.vip && reply?.1 == 4500,
                "the real's reply must come back from VIP:4500: \(String(describing: reply)) \(slb.log)")
        #expect(slb.terminate() == 0, "\(slb.log)")
        #expect(!slb.log.contains("slb.capture.error"), "\(slb.log)")
    }
}
