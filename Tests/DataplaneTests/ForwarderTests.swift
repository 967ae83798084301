import SLBConfig
import SLBCore
import SLBWire
import Testing
@testable import Dataplane

/// The forwarding path as a packet table: frame in → frame out (or a counted drop).
@Suite("Forwarder (dispatched and directed mode) over the in-memory PacketIO")
struct ForwarderTests {
    static let gw1 = IPv4Address(198, 51, 100, 11)
    static let gw2 = IPv4Address(198, 51, 100, 12)
    static let gw1MAC = MACAddress(0x02, 0x53, 0x4c, 0x02, 0x01, 0x02)
    static let gw2MAC = MACAddress(0x02, 0x53, 0x4c, 0x02, 0x02, 0x02)
    static let insideMAC = MACAddress(0x02, 0x53, 0x4c, 0x02, 0x00, 0x00)

    static func engine(nat: NATMode = .none) -> Engine {
        let farm = ServerFarm(name: "VPN", nat: nat, reals: [RealServer(address: gw1, weight: 1, inService: true),
                                                             RealServer(address: gw2, weight: 1, inService: true)])
        let sticky = StickySettings(seconds: 60, group: 1)
        let vip = TestFrames.vip
        return Engine(configuration: SLBConfiguration(farms: [farm], vservers: [
            VirtualServer(name: "IKE", address: vip, service: .udp(port: 500), farm: "VPN", sticky: sticky, inService: true),
            VirtualServer(name: "NATT", address: vip, service: .udp(port: 4500), farm: "VPN", sticky: sticky, inService: true),
            VirtualServer(name: "ESP", address: vip, service: .esp, farm: "VPN", sticky: sticky, inService: true),
        ]))
    }

    /// Runs frames through a forwarder; returns what was transmitted.
    static func forward(_ frames: [([UInt8], ChecksumState)], forwarder: Forwarder) throws -> [[UInt8]] {
        let rx = FakePacketIO(batchLimit: 4)
        let tx = FakePacketIO(batchLimit: 4)
        for (frame, state) in frames { rx.inject(frame, checksum: state) }
        while try rx.receive({ try forwarder.process($0, now: .seconds(10), transmit: tx) }) > 0 {}
        try forwarder.sendReleasedFragments(now: .seconds(10), transmit: tx)
        return tx.takeTransmitted()
    }

    static func resolved(_ engine: Engine) -> Forwarder {
        let forwarder = Forwarder(engine: engine, sourceMAC: insideMAC, batchLimit: 4)
        forwarder.updateNeighbours([gw1: gw1MAC, gw2: gw2MAC])
        return forwarder
    }

    static func destinationMAC(_ frame: [UInt8]) -> MACAddress {
        MACAddress(frame[0], frame[1], frame[2], frame[3], frame[4], frame[5])
    }

    @Test("a client's IKE, NAT-T and ESP go to one real: MACs rewritten, TTL − 1, IP checksum patched, payload intact")
    func dispatched() throws {
        let forwarder = ForwarderTests.resolved(ForwarderTests.engine())
        let input = [TestFrames.udp(port: 500, id: 1), TestFrames.udp(sourcePort: 4500, port: 4500, id: 2), TestFrames.esp(id: 3)]
        let output = try ForwarderTests.forward(input.map { ($0, .complete) }, forwarder: forwarder)
        #expect(output.count == 3)
        let real = ForwarderTests.destinationMAC(output[0])
        #expect([ForwarderTests.gw1MAC, ForwarderTests.gw2MAC].contains(real))
        for (sent, original) in zip(output, input) {
            #expect(ForwarderTests.destinationMAC(sent) == real, "sticky group keeps the client on one real")
            #expect(Array(sent[6..<12]) == [0x02, 0x53, 0x4c, 0x02, 0x00, 0x00])
            #expect(sent[22] == original[22] - 1)
            #expect(PacketView.parse(sent, verifyIPChecksum: true).packet != nil, "IP header checksum still valid")
            #expect(sent[34...] == original[34...], "transport header and payload untouched")
        }
        #expect(forwarder.counters.forwarded == 3)
    }

    @Test("a partial (offloaded) UDP checksum is completed before forwarding")
    func partialChecksum() throws {
        let forwarder = ForwarderTests.resolved(ForwarderTests.engine())
        let partial = TestFrames.udp(port: 500, id: 4, data: Array("SA_INIT".utf8), partial: true)
        let output = try ForwarderTests.forward([(partial, .partial)], forwarder: forwarder)
        let sent = try #require(output.first)
        #expect(TestFrames.udpChecksumIsValid(sent) == true)
        #expect(forwarder.counters.checksumsCompleted == 1)
    }

    @Test("counted drops", arguments: [
        ("TTL 1 on arrival", TestFrames.udp(port: 500, id: 5, ttl: 1), "ttlExpired"),
        ("no vserver for udp/53", TestFrames.udp(port: 53, id: 6), "passed"),
        ("not IPv4", TestFrames.arpRequest(for: TestFrames.vip), "malformed"),
        ("Ethernet broadcast", TestFrames.udp(port: 500, id: 10, destinationMAC: [0xff, 0xff, 0xff, 0xff, 0xff, 0xff]), "notUnicast"),
        ("Ethernet multicast", TestFrames.udp(port: 500, id: 11, destinationMAC: [0x01, 0x00, 0x5e, 0x00, 0x00, 0x01]), "notUnicast"),
    ])
    func drops(name: String, frame: [UInt8], counter: String) throws {
        let forwarder = ForwarderTests.resolved(ForwarderTests.engine())
        #expect(try ForwarderTests.forward([(frame, .complete)], forwarder: forwarder).isEmpty, "\(name)")
        let counters = forwarder.counters
        let value: UInt64 = switch counter {
        case "ttlExpired": counters.ttlExpired
        case "passed": counters.passed
        case "notUnicast": counters.notUnicast
        default: counters.malformed
        }
        #expect(value == 1)
        #expect(counters.forwarded == 0)
    }

    @Test("a real whose MAC is unknown: counted drop, marked for resolution, forwarded once resolved")
    func unresolvedNeighbour() throws {
        let forwarder = Forwarder(engine: ForwarderTests.engine(), sourceMAC: ForwarderTests.insideMAC, batchLimit: 4)
        #expect(try ForwarderTests.forward([(TestFrames.udp(port: 500, id: 7), .complete)], forwarder: forwarder).isEmpty)
        #expect(forwarder.counters.noNeighbour == 1)
        #expect(forwarder.unresolved.count == 1)
        forwarder.updateNeighbours([ForwarderTests.gw1: ForwarderTests.gw1MAC, ForwarderTests.gw2: ForwarderTests.gw2MAC])
        #expect(forwarder.unresolved.isEmpty)
        #expect(try ForwarderTests.forward([(TestFrames.udp(port: 500, id: 8), .complete)], forwarder: forwarder).count == 1)
    }

    static let publicMAC = MACAddress(0x02, 0x53, 0x4c, 0x01, 0x00, 0x00)

    static func directedForwarder(realPort: UInt16? = nil) -> Forwarder {
        let farm = ServerFarm(name: "VPN", nat: .server, reals: [RealServer(address: gw1, port: realPort, weight: 1, inService: true)])
        let sticky = StickySettings(seconds: 60, group: 1)
        let engine = Engine(configuration: SLBConfiguration(farms: [farm], vservers: [
            VirtualServer(name: "IKE", address: TestFrames.vip, service: .udp(port: 500), farm: "VPN", sticky: sticky, inService: true),
            VirtualServer(name: "ESP", address: TestFrames.vip, service: .esp, farm: "VPN", sticky: sticky, inService: true),
        ]))
        let forwarder = Forwarder(engine: engine, sourceMAC: insideMAC, batchLimit: 4, publicMAC: publicMAC)
        forwarder.updateNeighbours([gw1: gw1MAC])
        return forwarder
    }

    static func replies(_ frames: [[UInt8]], forwarder: Forwarder) throws -> [[UInt8]] {
        let inside = FakePacketIO(batchLimit: 4)
        let public_ = FakePacketIO(batchLimit: 4)
        for frame in frames { inside.inject(frame, checksum: .complete) }
        while try inside.receive({ try forwarder.processReplies($0, now: .seconds(10), transmit: public_) }) > 0 {}
        return public_.takeTransmitted()
    }

    @Test("directed mode: destination VIP → real (and port), IP and UDP checksums valid, ESP too",
          arguments: [nil, 4501] as [UInt16?])
    func directed(realPort: UInt16?) throws {
        let forwarder = ForwarderTests.directedForwarder(realPort: realPort)
        let output = try ForwarderTests.forward([(TestFrames.udp(port: 500, id: 9, partial: true), .partial),
                                                 (TestFrames.esp(id: 10), .complete)], forwarder: forwarder)
        #expect(output.count == 2)
        for frame in output {
            let packet = try #require(PacketView.parse(frame, verifyIPChecksum: true).packet)
            #expect(packet.destination == ForwarderTests.gw1)
            #expect(packet.source == TestFrames.client)
            #expect(ForwarderTests.destinationMAC(frame) == ForwarderTests.gw1MAC)
        }
        let udp = try #require(PacketView.parse(output[0]).packet)
        #expect(udp.destinationPort == (realPort ?? 500))
        #expect(TestFrames.udpChecksumIsValid(output[0]) == true)
        #expect(forwarder.counters.directed == 2)
    }

    @Test("directed mode replies: source real → VIP (and virtual port), to the client's learned MAC, checksums valid; unmatched dropped",
          arguments: [nil, 4501] as [UInt16?])
    func directedReplies(realPort: UInt16?) throws {
        let forwarder = ForwarderTests.directedForwarder(realPort: realPort)
        // The client's first packet teaches the forwarder its MAC.
        _ = try ForwarderTests.forward([(TestFrames.udp(port: 500, id: 1), .complete)], forwarder: forwarder)
        let fromReal = TestFrames.udp(source: ForwarderTests.gw1, sourcePort: realPort ?? 500, destination: TestFrames.client,
                                      port: 500, id: 2, data: Array("IKE_SA_INIT response".utf8),
                                      sourceMAC: Array([0x02, 0x53, 0x4c, 0x02, 0x01, 0x02]), destinationMAC: Array([0x02, 0x53, 0x4c, 0x02, 0x00, 0x00]))
        var esp = TestFrames.ipv4(protocol: 50, source: ForwarderTests.gw1, destination: TestFrames.client, id: 3,
                                  payload: [0, 0, 0x10, 0x01, 0, 0, 0, 1] + [UInt8](repeating: 0xee, count: 16))
        esp[0..<6] = [0x02, 0x53, 0x4c, 0x02, 0x00, 0x00]
        let stray = TestFrames.udp(source: ForwarderTests.gw1, sourcePort: 53, destination: TestFrames.client, port: 500, id: 4)
        let output = try ForwarderTests.replies([fromReal, esp, stray], forwarder: forwarder)
        #expect(output.count == 2)
        for frame in output {
            let packet = try #require(PacketView.parse(frame, verifyIPChecksum: true).packet)
            #expect(packet.source == TestFrames.vip)
            #expect(packet.destination == TestFrames.client)
            #expect(Array(frame[0..<6]) == TestFrames.clientMAC)
            #expect(Array(frame[6..<12]) == TestFrames.slbPublicMAC)
        }
        #expect(PacketView.parse(output[0]).packet?.sourcePort == 500)
        #expect(TestFrames.udpChecksumIsValid(output[0]) == true)
        #expect(forwarder.counters.repliesUnmatched == 1)
        #expect(forwarder.counters.repliesForwarded == 2)
    }

    @Test("ICMP echo to the VIP is answered while its vserver is OPERATIONAL, from the VIP, checksums valid")
    func echo() throws {
        let forwarder = ForwarderTests.directedForwarder()
        forwarder.updateAnsweringVIPs(now: .seconds(10))
        let request = TestFrames.ipv4(protocol: 1, id: 5, payload: TestFrames.icmpEcho(type: 8))
        #expect(try ForwarderTests.forward([(request, .complete)], forwarder: forwarder).isEmpty)
        let public_ = FakePacketIO(batchLimit: 4)
        try forwarder.sendAnswers(transmit: public_)
        let reply = try #require(public_.takeTransmitted().first)
        let packet = try #require(PacketView.parse(reply, verifyIPChecksum: true).packet)
        #expect(packet.source == TestFrames.vip && packet.destination == TestFrames.client)
        #expect(reply[packet.transportOffset] == 0)
        #expect(InternetChecksum.checksum(Array(reply[packet.transportOffset...])) == 0, "ICMP checksum verifies")
        #expect(Array(reply[0..<6]) == TestFrames.clientMAC)
        #expect(forwarder.counters.echoAnswered == 1)

        // No in-service vserver on the VIP: silence.
        let farm = ServerFarm(name: "VPN", reals: [RealServer(address: ForwarderTests.gw1, inService: true)])
        let idle = Forwarder(engine: Engine(configuration: SLBConfiguration(farms: [farm], vservers: [
            VirtualServer(name: "IKE", address: TestFrames.vip, service: .udp(port: 500), farm: "VPN", inService: false)])),
                             sourceMAC: ForwarderTests.insideMAC, batchLimit: 4, publicMAC: ForwarderTests.publicMAC)
        idle.updateAnsweringVIPs(now: .seconds(10))
        _ = try ForwarderTests.forward([(request, .complete)], forwarder: idle)
        try idle.sendAnswers(transmit: public_)
        #expect(public_.takeTransmitted().isEmpty)
        #expect(idle.counters.echoIgnored == 1)
    }

    @Test("an ICMP error about a known connection goes to its real (directed: quoted source VIP → real); unknown ones are dropped")
    func icmpError() throws {
        let forwarder = ForwarderTests.directedForwarder()
        _ = try ForwarderTests.forward([(TestFrames.udp(port: 500, id: 1), .complete)], forwarder: forwarder)
        // The client says port unreachable about a datagram VIP:500 → client:500.
        let quoted = Array(TestFrames.udp(source: TestFrames.vip, destination: TestFrames.client, port: 500, id: 9)[14...])
        let error = TestFrames.ipv4(protocol: 1, id: 6, payload: TestFrames.icmpError(quoting: Array(quoted.prefix(28))))
        let output = try ForwarderTests.forward([(error, .complete)], forwarder: forwarder)
        let sent = try #require(output.first)
        let packet = try #require(PacketView.parse(sent, verifyIPChecksum: true).packet)
        #expect(packet.destination == ForwarderTests.gw1)
        guard case .icmp(let icmp) = packet.transport, case .error(let quote) = icmp.body else {
            Issue.record("not an ICMP error"); return
        }
        #expect(quote.source == ForwarderTests.gw1)
        #expect(InternetChecksum.checksum(Array(sent[packet.transportOffset..<packet.ipEnd])) == 0)
        let unknown = Array(TestFrames.udp(source: TestFrames.vip, sourcePort: 4500, destination: TestFrames.client, port: 4500, id: 9)[14...])
        let stray = TestFrames.ipv4(protocol: 1, id: 7, payload: TestFrames.icmpError(quoting: Array(unknown.prefix(28))))
        #expect(try ForwarderTests.forward([(stray, .complete)], forwarder: forwarder).isEmpty)
        #expect(forwarder.counters.icmpErrorsForwarded == 1 && forwarder.counters.icmpErrorsUnmatched == 1)
    }

    @Test("directed mode: a real's port unreachable about a client's datagram goes back as the VIP's, quoting VIP:500",
          arguments: [nil, 4501] as [UInt16?])
    func directedReplyError(realPort: UInt16?) throws {
        let forwarder = ForwarderTests.directedForwarder(realPort: realPort)
        _ = try ForwarderTests.forward([(TestFrames.udp(port: 500, id: 1), .complete)], forwarder: forwarder)
        // What the real received: client:500 → real:(realPort ?? 500).
        let received = Array(TestFrames.udp(source: TestFrames.client, destination: ForwarderTests.gw1, port: realPort ?? 500, id: 2)[14...])
        let error = TestFrames.ipv4(protocol: 1, source: ForwarderTests.gw1, destination: TestFrames.client, id: 3,
                                    payload: TestFrames.icmpError(quoting: Array(received.prefix(28))),
                                    sourceMAC: [0x02, 0x53, 0x4c, 0x02, 0x01, 0x02], destinationMAC: [0x02, 0x53, 0x4c, 0x02, 0x00, 0x00])
        let filter = try BPFProgram(compiling: try #require(ReplyFilter.expression(for: forwarder.replies)))
        #expect(filter.matches(error), "the reply filter admits the real's ICMP error")
        let output = try ForwarderTests.replies([error], forwarder: forwarder)
        let sent = try #require(output.first)
        let packet = try #require(PacketView.parse(sent, verifyIPChecksum: true).packet)
        #expect(packet.source == TestFrames.vip && packet.destination == TestFrames.client)
        guard case .icmp(let icmp) = packet.transport, case .error(let quote) = icmp.body else {
            Issue.record("not an ICMP error"); return
        }
        #expect(quote.destination == TestFrames.vip && quote.destinationPort == 500 && quote.source == TestFrames.client)
        #expect(InternetChecksum.checksum(Array(sent[packet.transportOffset..<packet.ipEnd])) == 0, "ICMP checksum verifies")
        // The probes' echo replies from the real are not captured.
        let echoReply = TestFrames.ipv4(protocol: 1, source: ForwarderTests.gw1, destination: IPv4Address(198, 51, 100, 1), id: 4,
                                        payload: TestFrames.icmpEcho(type: 0))
        #expect(!filter.matches(echoReply))
    }

    @Test("directed reply map and filter: per real and port, ESP, fragments; drop rules only")
    func replyFilter() throws {
        let forwarder = ForwarderTests.directedForwarder(realPort: 4501)
        let expression = try #require(ReplyFilter.expression(for: forwarder.replies))
        #expect(expression == "ip and src host 198.51.100.11 and (udp src port 4501 or ip proto 50 or (icmp and \(ReplyFilter.icmpErrorTest)) or ip[6:2] & 0x1fff != 0)")
        _ = try BPFProgram(compiling: expression)
        let script = VIPDropTable.script(for: forwarder.engine.configuration.vservers, replies: forwarder.replies)
        #expect(script.contains("ip saddr 198.51.100.11 udp sport 4501 drop"))
        #expect(script.contains("ip saddr 198.51.100.11 ip protocol esp drop"))
        for verb in ["dnat", "snat", "fwd", "redirect", "masquerade"] { #expect(!script.contains(verb)) }
    }

    @Test("a later fragment that arrives first is held, then follows its first fragment to the same real")
    func fragments() throws {
        let forwarder = ForwarderTests.resolved(ForwarderTests.engine())
        let udpHeader = TestFrames.be16(500) + TestFrames.be16(500) + TestFrames.be16(8 + 40) + [0, 0]
        let first = TestFrames.ipv4(protocol: 17, id: 77, payload: udpHeader + [UInt8](repeating: 1, count: 16), moreFragments: true)
        let later = TestFrames.ipv4(protocol: 17, id: 77, payload: [UInt8](repeating: 2, count: 24), fragmentOffset: 3)
        let held = try ForwarderTests.forward([(later, .complete)], forwarder: forwarder)
        #expect(held.isEmpty && forwarder.counters.fragmentsHeld == 1)
        let output = try ForwarderTests.forward([(first, .complete)], forwarder: forwarder)
        #expect(output.count == 2)
        #expect(output.compactMap(TestFrames.ipID) == [77, 77])
        #expect(Set(output.map(ForwarderTests.destinationMAC)).count == 1)
        // A further later fragment finds the recorded decision directly.
        let again = try ForwarderTests.forward([(later, .complete)], forwarder: forwarder)
        #expect(again.map(ForwarderTests.destinationMAC) == [ForwarderTests.destinationMAC(output[0])])
    }

    @Test("neighbour table: complete entries on the device only")
    func neighbourParse() {
        let text = """
        IP address       HW type     Flags       HW address            Mask     Device
        198.51.100.11    0x1         0x2         02:53:4c:02:01:02     *        brg
        198.51.100.12    0x1         0x0         00:00:00:00:00:00     *        brg
        192.0.2.10       0x1         0x2         02:53:4c:01:00:02     *        brc
        198.51.100.13    0x1         0x6         02:53:4c:02:03:02     *        brg
        garbage line
        """
        let table = NeighbourTable.parse(text, device: "brg")
        #expect(table == [ForwarderTests.gw1: ForwarderTests.gw1MAC,
                          IPv4Address(198, 51, 100, 13): MACAddress(0x02, 0x53, 0x4c, 0x02, 0x03, 0x02)])
    }

    @Test("nftables drop table: drop rules only, one per VIP service plus later fragments")
    func dropTable() {
        let vip = TestFrames.vip
        let script = VIPDropTable.script(for: [
            VirtualServer(name: "IKE", address: vip, service: .udp(port: 500)),
            VirtualServer(name: "ESP", address: vip, service: .esp),
        ])
        #expect(script == """
            table ip vpnslb
            delete table ip vpnslb
            table ip vpnslb {
              chain prerouting {
                type filter hook prerouting priority raw; policy accept;
                ip daddr 203.0.113.100 udp dport 500 drop
                ip daddr 203.0.113.100 ip protocol icmp drop
                ip daddr 203.0.113.100 ip frag-off & 0x1fff != 0 drop
                ip daddr 203.0.113.100 ip protocol esp drop
              }
            }

            """)
        for verb in ["dnat", "snat", "fwd", "redirect", "masquerade"] { #expect(!script.contains(verb)) }
    }
}
