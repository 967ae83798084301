import Dataplane
import Foundation
import Lab
import SLBCore
import SLBWire
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Issue 3 "Done when", items 1–4: a farm of three gateways (weights 3,1,2) and 300 clients
/// through `slb run`, counted at the gateways, in dispatched and directed mode.
@Suite("slb run: 300 clients over three gateways (root, namespaces)", .serialized,
       .enabled(if: NetworkNamespace.isAvailable && SLBBinary.path != nil,
                "needs root, `ip netns` and a built .build/debug/slb"))
struct FarmIntegrationTests {
    static func config(predictor: String, directed: Bool) -> String {
        """
        ip slb probe GW-PING ping
         interval 1
         faildetect 3
        ip slb serverfarm VPN3
         predictor \(predictor)
        \(directed ? " nat server\n" : "") probe GW-PING
         real 198.51.100.11
          weight 3
          inservice
         real 198.51.100.12
          weight 1
          inservice
         real 198.51.100.13
          weight 2
          inservice
        ip slb vserver VPN3-ISAKMP
         virtual 203.0.113.100 udp isakmp
         serverfarm VPN3
         sticky 3600 group 7
         inservice
        ip slb vserver VPN3-NATT
         virtual 203.0.113.100 udp 4500
         serverfarm VPN3
         sticky 3600 group 7
         inservice
        ip slb vserver VPN3-ESP
         virtual 203.0.113.100 esp
         serverfarm VPN3
         sticky 3600 group 7
         inservice

        """
    }

    static let clientCount = 300

    @Test("every client's UDP/500, UDP/4500 and ESP reach exactly one gateway; 150/50/100 (roundrobin) or within one (leastconns); the SLB's table agrees; no UDP checksum errors; fragments in either order arrive whole; directed replies and ICMP errors come from the VIP",
          arguments: [("roundrobin", false, "packet-socket"), ("leastconns", false, "packet-socket"),
                      ("roundrobin", true, "packet-socket"), ("leastconns", true, "packet-socket"), ("roundrobin", true, "pcap")])
    func farm(predictor: String, directed: Bool, backend: String) throws {
        let lab = try LabFixture(gateways: 3)
        defer { lab.tearDown() }
        let plan = lab.plan
        let gateways = try plan.gatewayNumbers.map { n in try lab.inside(plan.gatewayNamespace(n)) { try FarmGateway(echo: directed) } }
        let addresses = labClients(FarmIntegrationTests.clientCount)
        let clients = try lab.inside(plan.clientNamespace) { try FarmClients(addresses) }
        let slb = try SLBRun(lab: lab, config: FarmIntegrationTests.config(predictor: predictor, directed: directed),
                             arguments: ["--backend", backend])
        defer { slb.finish() }
        try #require(slb.waitFor("slb.run.ready", seconds: 5), "slb run did not start: \(slb.log)")
        func drainAll() { gateways.forEach { $0.drain() }; clients.drain() }
        // The first probes make the kernel resolve the gateways' MACs (read each second).
        usleep(1_300_000)

        // Bounded traffic: 300 clients × (ISAKMP, NAT-T, ESP) in batches of 20, drained between.
        var sendFailures = 0
        for index in addresses.indices {
            if !clients.sendISAKMP(index, Array("IKE_SA_INIT \(addresses[index])".utf8)) { sendFailures += 1 }
            if !clients.sendNATT(index, Array("IKE_AUTH \(addresses[index])".utf8)) { sendFailures += 1 }
            if !clients.sendESP(index, spi: 0x1000_0000 | UInt32(index)) { sendFailures += 1 }
            if index % 20 == 19 { usleep(5_000); drainAll() }
        }
        #expect(sendFailures == 0)
        let expected = addresses.count * 3
        poll(seconds: 5) {
            drainAll()
            let received: Int = gateways.map(\.total).reduce(0, +)
            return received >= expected && (!directed || clients.replies.count >= expected)
        }

        // Counted at the gateways: each client on exactly one gateway, all three protocols there.
        var home: [IPv4Address: Int] = [:]
        for client in addresses {
            let seenAt = gateways.indices.filter { gateways[$0].clients.contains(client) }
            #expect(seenAt.count == 1, "\(client) seen at gateways \(seenAt.map { $0 + 1 })")
            guard seenAt.count == 1, let g = seenAt.first else { continue }
            home[client] = g
            let counts: [Int] = [gateways[g].udp500Sources[client] ?? 0, gateways[g].udp4500Sources[client] ?? 0,
                                 gateways[g].espSources[client] ?? 0]
            #expect(counts == [1, 1, 1], "\(client): ISAKMP/NAT-T/ESP counts at gw\(g + 1)")
        }
        let perGateway = gateways.map { $0.clients.count }
        if predictor == "roundrobin" {
            #expect(perGateway == [150, 50, 100], "IOS WRR 3,1,2 over 300 clients: \(perGateway)")
        } else {
            for (count, share) in zip(perGateway, [150, 50, 100]) {
                #expect(abs(count - share) <= 1, "weighted least connections: \(perGateway)")
            }
        }
        for n in plan.gatewayNumbers {
            #expect(try SLBRun.udpChecksumErrors(namespace: plan.gatewayNamespace(n)) == 0, "gw\(n) Udp InCsumErrors")
        }

        // The SLB's connection table agrees with what the gateways saw.
        let snapshot = try slb.snapshot()
        #expect(snapshot.connections.count == expected, "3 connections per client")
        var disagreements = 0
        for connection in snapshot.connections {
            guard let g = home[connection.client], plan.gatewayAddress(g + 1) == connection.real else { disagreements += 1; continue }
        }
        #expect(disagreements == 0, "connections whose real is not where the gateways saw the client")

        // Directed mode: every reply (UDP and ESP) comes back from the VIP and the virtual port.
        if directed {
            let fromVIP = clients.replies.filter { $0.source == LabAddressPlan.vip }
            #expect(fromVIP.count == clients.replies.count, "replies not from the VIP: \(clients.replies.filter { $0.source != LabAddressPlan.vip }.prefix(5))")
            #expect(clients.replies.filter { $0.ipProtocol == 17 }.count == addresses.count * 2)
            #expect(clients.replies.filter { $0.ipProtocol == 50 }.count == addresses.count)
            let wrongPort = clients.replies.filter { $0.ipProtocol == 17 && $0.port != 500 && $0.port != 4500 }
            #expect(wrongPort.isEmpty)
        }

        // A client's port unreachable about a datagram VIP:500 → client:500 goes to its gateway;
        // in directed mode quoting the gateway's own address (what it sent).
        let reporter = home[addresses[6]] ?? 0
        #expect(clients.sendPortUnreachable(6, vipPort: 500))
        poll(seconds: 3) { drainAll(); return !gateways[reporter].icmpErrors.isEmpty }
        let quotedSource = directed ? try #require(plan.gatewayAddress(reporter + 1)) : LabAddressPlan.vip
        let seen = gateways.map { $0.icmpErrors.map { "\($0.source) quoting \($0.quotedSource):\($0.quotedPort)" } }
        var expectedErrors: [[String]] = [[], [], []]
        expectedErrors[reporter] = ["\(addresses[6]) quoting \(quotedSource):500"]
        #expect(seen == expectedErrors, "ICMP error at the gateways")

        // ICMP echo to the VIP: the SLB answers while its vservers are OPERATIONAL.
        let pinger = try lab.inside(plan.clientNamespace) { try ICMPEcho(identifier: 0x5eb1) }
        #expect(try pinger.ping(LabAddressPlan.vip, timeout: .seconds(1)) != nil, "no echo reply from the VIP")

        // 3000-byte ISAKMP datagrams, fragmented by hand, in order and last fragment first:
        // whole at the client's gateway (which reassembles them).
        let before = clients.replies.count
        for (index, reversed) in [(0, false), (1, true), (2, false), (3, true)] {
            #expect(try clients.sendFragmentedISAKMP(index, size: 3000, reversed: reversed) == 3)
        }
        func arrivedWhole(_ index: Int) -> Bool {
            let g = home[addresses[index]] ?? 0
            let sizes: [Int] = gateways[g].udp500Sizes[addresses[index]] ?? []
            return sizes.contains(3000)
        }
        poll(seconds: 3) { drainAll(); return (0..<4).allSatisfy(arrivedWhole) }
        for index in 0..<4 {
            let g = home[addresses[index]] ?? 0
            #expect(arrivedWhole(index),
                    "3000-byte datagram from \(addresses[index]) not whole at gw\(g + 1): \(slb.log.suffix(1500))")
        }
        if directed {
            // The gateway's echo leaves it fragmented: the SLB translates every fragment.
            poll(seconds: 3) { drainAll(); return clients.replies.count >= before + 4 }
            let big = clients.replies.dropFirst(before).filter { $0.length == 3008 && $0.source == LabAddressPlan.vip }
            #expect(big.count == 4, "fragmented replies from the VIP: \(clients.replies.dropFirst(before).map(\.length))")
        }

        if directed {
            // The gateway's port unreachable for NAT-T reaches the client as the VIP's, quoting
            // VIP:4500 (RFC 5508 §4.2), so the client can match it to its socket.
            let g = home[addresses[5]] ?? 0
            gateways[g].closeNATT()
            _ = clients.sendNATT(5, Array("to a closed port".utf8))
            poll(seconds: 3) { drainAll(); return !clients.errors.isEmpty }
            let errors = clients.errors.map { "\($0.source) quoting \($0.quotedDestination):\($0.quotedPort)" }
            #expect(errors == ["\(LabAddressPlan.vip) quoting \(LabAddressPlan.vip):4500"], "\(errors)")
        }

        if predictor == "roundrobin" && !directed && backend == "packet-socket" { try userspaceProof(lab: lab, slb: slb, clients: clients, gateways: gateways, drain: drainAll) }
    }

    /// Item 4: the kernel does not forward (no NAT/forwarding statements in our table), and
    /// nothing reaches the gateways while `slb run` is stopped.
    func userspaceProof(lab: LabFixture, slb: SLBRun, clients: FarmClients, gateways: [FarmGateway], drain: () -> Void) throws {
        let runner = SystemCommandRunner()
        // Both tables: prerouting (every interface) and the capture interface's ingress.
        for family in [VIPDropTable.family, VIPDropTable.ingressFamily] {
            let listing = try runner.run(["ip", "netns", "exec", lab.plan.slbNamespace, "nft", "-j", "list", "table", family, "vpnslb"])
            #expect(listing.succeeded, "table \(family) vpnslb")
            let json = try JSONSerialization.jsonObject(with: Data(listing.output.utf8)) as? [String: Any]
            let items = json?["nftables"] as? [[String: Any]] ?? []
            let rules = items.compactMap { $0["rule"] as? [String: Any] }
            #expect(!rules.isEmpty)
            for rule in rules {
                for statement in rule["expr"] as? [[String: Any]] ?? [] {
                    #expect(Set(statement.keys).isSubset(of: ["match", "drop", "counter"]), "statement \(statement.keys)")
                }
            }
            for verb in ["dnat", "snat", "fwd", "redirect", "masquerade"] { #expect(!listing.output.contains("\"\(verb)\"")) }
        }

        drain()
        let base = gateways.map(\.total)
        let pid = slb.process.processIdentifier
        #expect(kill(pid, SIGSTOP) == 0)
        usleep(200_000)
        for index in 0..<10 { _ = clients.sendISAKMP(index, Array("while stopped".utf8)) }
        usleep(1_000_000)
        drain()
        #expect(gateways.map(\.total) == base, "gateways got traffic while slb run was stopped")
        #expect(kill(pid, SIGCONT) == 0)
        let before: Int = base.reduce(0, +)
        func total() -> Int { gateways.map(\.total).reduce(0, +) }
        poll(seconds: 3) { drain(); return total() >= before + 10 }
        #expect(total() == before + 10, "after SIGCONT the queued datagrams are forwarded")
    }
}
