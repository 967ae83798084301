import Foundation
import SLBConfig
import SLBCore
import SLBWire
import Testing
@testable import Dataplane
#if canImport(Glibc)
import Glibc
#endif

/// `slb run`'s drop table with ingress devices: the prerouting table is unchanged (the
/// catch-all for every interface), and the same drops also sit at the capture interfaces'
/// ingress hook, where the kernel frees the frame after the packet sockets' taps but before
/// `ip_rcv`. Drop statements only, in both tables; the root half is in FarmIntegrationTests
/// (`userspaceProof`: both tables listed, nothing reaches the gateways while slb run is stopped).
@Suite("VIPDropTable ingress drops")
struct VIPDropTableTests {
    static let devices = VIPDropTable.IngressDevices(publicInterface: "brc", insideInterface: "brg")
    static let vservers = [
        VirtualServer(name: "IKE", address: TestFrames.vip, service: .udp(port: 500)),
        VirtualServer(name: "ESP", address: TestFrames.vip, service: .esp),
    ]

    @Test("dispatched: the prerouting table as before, the same VIP drops at the public interface's ingress")
    func dispatched() {
        let script = VIPDropTable.script(for: Self.vservers, ingress: Self.devices)
        #expect(script == """
            table ip vpnslb
            delete table ip vpnslb
            table netdev vpnslb
            delete table netdev vpnslb
            table ip vpnslb {
              chain prerouting {
                type filter hook prerouting priority raw; policy accept;
                ip daddr 203.0.113.100 udp dport 500 drop
                ip daddr 203.0.113.100 ip protocol icmp drop
                ip daddr 203.0.113.100 ip frag-off & 0x1fff != 0 drop
                ip daddr 203.0.113.100 ip protocol esp drop
              }
            }
            table netdev vpnslb {
              chain public {
                type filter hook ingress device "brc" priority filter; policy accept;
                ip daddr 203.0.113.100 udp dport 500 drop
                ip daddr 203.0.113.100 ip protocol icmp drop
                ip daddr 203.0.113.100 ip frag-off & 0x1fff != 0 drop
                ip daddr 203.0.113.100 ip protocol esp drop
              }
            }

            """)
        let prerouting = VIPDropTable.script(for: Self.vservers)
        let block = prerouting.split(separator: "\n").dropFirst(2).joined(separator: "\n")
        #expect(script.contains(block), "the prerouting table is the one without ingress devices")
        for verb in ["dnat", "snat", "fwd", "redirect", "masquerade"] { #expect(!script.contains(verb)) }
    }

    @Test("directed: reply drops in prerouting and at the inside interface's ingress, not at the public one")
    func directed() throws {
        let forwarder = ForwarderTests.directedForwarder(realPort: 4501)
        let script = VIPDropTable.script(for: forwarder.engine.configuration.vservers, replies: forwarder.replies,
                                         ingress: Self.devices)
        let chains = script.components(separatedBy: "  chain ")
        #expect(chains.count == 4, "prerouting, public, inside")
        let prerouting = try #require(chains.first { $0.hasPrefix("prerouting") })
        let publicChain = try #require(chains.first { $0.hasPrefix("public") })
        let insideChain = try #require(chains.first { $0.hasPrefix("inside") })
        #expect(publicChain.contains("device \"brc\"") && insideChain.contains("device \"brg\""))
        for rule in ["ip saddr 198.51.100.11 udp sport 4501 drop", "ip saddr 198.51.100.11 ip protocol esp drop"] {
            #expect(prerouting.contains(rule) && insideChain.contains(rule) && !publicChain.contains(rule), "\(rule)")
        }
        #expect(publicChain.contains("ip daddr 203.0.113.100 udp dport 500 drop") && !insideChain.contains("ip daddr"))
        for verb in ["dnat", "snat", "fwd", "redirect", "masquerade"] { #expect(!script.contains(verb)) }
    }

    @Test("interface names nft would need quoted for are left out: prerouting only",
          arguments: ["", "br\"c", "a b", "sixteen-chars-xx", "brc;flush"])
    func unusableNames(name: String) {
        let script = VIPDropTable.script(for: Self.vservers,
                                         ingress: .init(publicInterface: name, insideInterface: "brg"))
        #expect(script == VIPDropTable.script(for: Self.vservers))
        #expect(!script.contains("netdev"))
    }

    @Test("interface names as Linux makes them are used", arguments: ["eth0", "ens3f0.100", "veth-a_b", "bond0@x"])
    func usableNames(name: String) {
        let script = VIPDropTable.script(for: Self.vservers, ingress: .init(publicInterface: name, insideInterface: name))
        #expect(script.contains("hook ingress device \"\(name)\""))
    }

    @Test("a reload derives the same kind of table: the ingress drops follow the new vservers")
    func reloadKeepsIngress() throws {
        let start = CaptureRefreshTests.configuration(natT: false, directed: false)
        let next = CaptureRefreshTests.configuration(natT: true, directed: true)
        let engine = Engine(configuration: start)
        let forwarder = Forwarder(engine: engine, sourceMAC: ForwarderTests.insideMAC, batchLimit: 4)
        let rx = FakePacketIO(batchLimit: 4), tx = FakePacketIO(batchLimit: 4)
        let loop = ForwardingLoop(forwarder: forwarder, receive: rx, transmit: tx, prober: nil,
                                  neighbourDevice: "none", log: { _ in })
        let hook = CaptureRefreshTests.ReloadingHook(next: next)
        loop.hook = hook
        loop.capture = CaptureSet(configuration: start, ingress: Self.devices)
        loop.start()
        let deadline = Date().addingTimeInterval(3)
        while Date() < deadline && hook.iterations.load(ordering: .relaxed) < 5 { usleep(10_000) }
        loop.stop()
        try loop.wait()

        let expected = CaptureSet(configuration: next, ingress: Self.devices)
        #expect(loop.capture == expected)
        let table = try #require(loop.capture?.dropTable)
        #expect(table.contains("hook ingress device \"brc\"") && table.contains("hook ingress device \"brg\""))
        #expect(table.components(separatedBy: "udp dport 4500 drop").count == 3, "the new vserver in prerouting and at ingress")
    }
}
