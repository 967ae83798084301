import Testing
import SLBWire

/// Katran-style packet tables: {input frame, rewrite, expected output frame}. Every expected
/// frame is built from scratch by `FrameBuilder` (full checksums), so each row also proves
/// incremental checksum update == full recomputation for that packet.
struct RewriteCase: Sendable, CustomTestStringConvertible {
    enum Operation: Sendable {
        case dispatched(MACAddress, MACAddress)
        case dispatchedTTL(MACAddress, MACAddress)
        case directed(IPv4Address, UInt16?)
        case reverse(IPv4Address, UInt16?)
    }
    let name: String
    let input: [UInt8]
    let operation: Operation
    /// Either the output frame or a drop reason (frame must stay unchanged).
    let expected: Result<[UInt8], PacketDropReason>
    var testDescription: String { name }
}

/// Applies one table operation the way the dataplane does: parse, then rewrite in place.
func apply(_ operation: RewriteCase.Operation, to frame: inout [UInt8]) -> PacketDropReason? {
    guard var packet = PacketView.parse(frame).packet else { return .parseMismatch }
    switch operation {
    case .dispatched(let destination, let source):
        return PacketRewrite.setMACs(in: &frame, destination: destination, source: source) ? nil : .parseMismatch
    case .dispatchedTTL(let destination, let source):
        if let reason = PacketRewrite.decrementTTL(in: &frame, packet: &packet) { return reason }
        return PacketRewrite.setMACs(in: &frame, destination: destination, source: source) ? nil : .parseMismatch
    case .directed(let address, let port):
        return PacketRewrite.rewriteDestination(in: &frame, packet: &packet, address: address, port: port)
    case .reverse(let address, let port):
        return PacketRewrite.rewriteSource(in: &frame, packet: &packet, address: address, port: port)
    }
}

@Suite struct PacketRewriteTests {
    static let cases: [RewriteCase] = {
        let ike = Lab.ikeHeader
        let espBody = Array(repeating: UInt8(0x5A), count: 48)
        func udp(_ link: FrameBuilder.Link = Lab.toSLB, _ ip: FrameBuilder.IPv4Fields = Lab.ip(), _ sport: UInt16 = 500,
                 _ dport: UInt16 = 500, _ payload: [UInt8] = ike, checksum: Bool = true) -> [UInt8] {
            FrameBuilder.udpFrame(link, ip, sourcePort: sport, destinationPort: dport, payload: payload, checksum: checksum)
        }
        let natTESP = FrameBuilder.esp(spi: 0xC0FF_EE01, sequence: 7, payload: Array(repeating: 0xAB, count: 40))
        let fragmentsToVIP = Lab.bigISAKMPFragments
        let fragmentsToReal: [[UInt8]] = {
            let payload = ike + [UInt8](repeating: 0xEE, count: 3000 - 28 - 8 - 20)
            // The pseudo-header uses the real's address; the checksum covers the whole datagram.
            let segment = FrameBuilder.udp(source: Lab.client, destination: Lab.real1, sourcePort: 500,
                                           destinationPort: 500, payload: payload)
            let datagram = FrameBuilder.ipv4(Lab.ip(Lab.client, Lab.real1, id: 0xBEEF), protocol: .udp, payload: segment)
            guard case .success(let fragments) = IPv4Fragmenter.fragment(datagram, mtu: 1500) else { return [] }
            return fragments.map { FrameBuilder.ethernet(Lab.toSLB, etherType: .ipv4, payload: $0) }
        }()
        var rows: [RewriteCase] = [
            RewriteCase(name: "dispatched: only the MACs change", input: Lab.isakmpFrame,
                        operation: .dispatched(Lab.real1MAC, Lab.slbInsideMAC), expected: .success(udp(Lab.toReal1))),
            RewriteCase(name: "dispatched + TTL 64 → 63", input: Lab.isakmpFrame,
                        operation: .dispatchedTTL(Lab.real1MAC, Lab.slbInsideMAC),
                        expected: .success(udp(Lab.toReal1, Lab.ip(ttl: 63)))),
            RewriteCase(name: "TTL 2 → 1 still forwarded", input: udp(Lab.toSLB, Lab.ip(ttl: 2)),
                        operation: .dispatchedTTL(Lab.real1MAC, Lab.slbInsideMAC),
                        expected: .success(udp(Lab.toReal1, Lab.ip(ttl: 1)))),
            RewriteCase(name: "TTL 1 is dropped (RFC 1812 §5.3.1)", input: udp(Lab.toSLB, Lab.ip(ttl: 1)),
                        operation: .dispatchedTTL(Lab.real1MAC, Lab.slbInsideMAC), expected: .failure(.ttlExpired)),
            RewriteCase(name: "TTL 0 is dropped", input: udp(Lab.toSLB, Lab.ip(ttl: 0)),
                        operation: .dispatchedTTL(Lab.real1MAC, Lab.slbInsideMAC), expected: .failure(.ttlExpired)),
            RewriteCase(name: "directed ISAKMP: dst IP, IP + UDP checksums", input: Lab.isakmpFrame,
                        operation: .directed(Lab.real1, nil), expected: .success(udp(Lab.toSLB, Lab.ip(Lab.client, Lab.real1)))),
            RewriteCase(name: "directed with real port 1500", input: Lab.isakmpFrame,
                        operation: .directed(Lab.real1, 1500),
                        expected: .success(udp(Lab.toSLB, Lab.ip(Lab.client, Lab.real1), 500, 1500))),
            RewriteCase(name: "directed zero UDP checksum stays zero", input: udp(checksum: false),
                        operation: .directed(Lab.real2, 1500),
                        expected: .success(udp(Lab.toSLB, Lab.ip(Lab.client, Lab.real2), 500, 1500, checksum: false))),
            RewriteCase(name: "directed NAT-T ESP-in-UDP", input: Lab.natTESPFrame,
                        operation: .directed(Lab.real2, nil),
                        expected: .success(udp(Lab.toSLB, Lab.ip(Lab.client, Lab.real2), 4500, 4500, natTESP))),
            RewriteCase(name: "directed raw ESP: no L4 checksum", input: Lab.espFrame,
                        operation: .directed(Lab.real1, nil),
                        expected: .success(FrameBuilder.espFrame(Lab.toSLB, Lab.ip(Lab.client, Lab.real1), spi: 0xC0FF_EE02,
                                                                 sequence: 1, payload: espBody))),
            RewriteCase(name: "directed ICMP echo: ICMP checksum untouched", input: Lab.pingFrame,
                        operation: .directed(Lab.real1, nil),
                        expected: .success(FrameBuilder.icmpEchoFrame(Lab.toSLB, Lab.ip(Lab.client, Lab.real1), request: true,
                                                                      identifier: 0x4242, sequence: 3, payload: Array(0..<32)))),
            RewriteCase(name: "reverse: reply real → client leaves as VIP", input: udp(Lab.toSLB, Lab.ip(Lab.real1, Lab.client)),
                        operation: .reverse(Lab.vip, nil), expected: .success(udp(Lab.toSLB, Lab.ip(Lab.vip, Lab.client)))),
            RewriteCase(name: "reverse with port 1500 → 500", input: udp(Lab.toSLB, Lab.ip(Lab.real1, Lab.client), 1500, 500),
                        operation: .reverse(Lab.vip, 500), expected: .success(udp(Lab.toSLB, Lab.ip(Lab.vip, Lab.client)))),
            RewriteCase(name: "reverse ESP", input: FrameBuilder.espFrame(Lab.toSLB, Lab.ip(Lab.real1, Lab.client), spi: 9,
                                                                          sequence: 2, payload: espBody),
                        operation: .reverse(Lab.vip, nil),
                        expected: .success(FrameBuilder.espFrame(Lab.toSLB, Lab.ip(Lab.vip, Lab.client), spi: 9, sequence: 2,
                                                                 payload: espBody))),
        ]
        for (index, (input, output)) in zip(fragmentsToVIP, fragmentsToReal).enumerated() {
            rows.append(RewriteCase(name: "directed fragment \(index) of a 3000-byte ISAKMP datagram", input: input,
                                    operation: .directed(Lab.real1, nil), expected: .success(output)))
        }
        return rows
    }()

    @Test(arguments: cases)
    func rewritesMatchTheTable(_ c: RewriteCase) {
        var frame = c.input
        let drop = apply(c.operation, to: &frame)
        switch c.expected {
        case .success(let expected):
            #expect(drop == nil)
            #expect(hexString(frame) == hexString(expected))
            #expect(PacketView.parse(frame, verifyIPChecksum: true).packet != nil)
        case .failure(let reason):
            #expect(drop == reason)
            #expect(frame == c.input)
        }
    }

    @Test func tcpDirectedWithPort() throws {
        var frame = Lab.tcpFrame
        var packet = try #require(PacketView.parse(frame).packet)
        #expect(PacketRewrite.rewriteDestination(in: &frame, packet: &packet, address: Lab.real1, port: 8443) == nil)
        let reparsed = try #require(PacketView.parse(frame, verifyIPChecksum: true).packet)
        #expect(reparsed.destination == Lab.real1 && reparsed.destinationPort == 8443)
        #expect(reparsed == packet)
        var sum = InternetChecksum()
        sum.addPseudoHeader(source: reparsed.source, destination: reparsed.destination, protocol: .tcp,
                            length: UInt16(reparsed.ip.payloadLength))
        sum.add(Array(frame[reparsed.transportOffset..<reparsed.ipEnd]))
        #expect(sum.verifies)
    }

    /// The rewrites keep the caller's `ParsedPacket` equal to a fresh parse of the new bytes.
    @Test(arguments: cases.filter { if case .success = $0.expected { true } else { false } })
    func parsedPacketTracksTheRewrite(_ c: RewriteCase) throws {
        var frame = c.input
        var packet = try #require(PacketView.parse(frame).packet)
        switch c.operation {
        case .dispatched, .dispatchedTTL:
            _ = PacketRewrite.decrementTTL(in: &frame, packet: &packet)
        case .directed(let address, let port):
            _ = PacketRewrite.rewriteDestination(in: &frame, packet: &packet, address: address, port: port)
        case .reverse(let address, let port):
            _ = PacketRewrite.rewriteSource(in: &frame, packet: &packet, address: address, port: port)
        }
        #expect(PacketView.parse(frame).packet == packet)
    }

    /// Random packets: TTL decrement + directed rewrite, incrementally, equal the same
    /// packet built from scratch with full checksums.
    @Test func incrementalEqualsFullRecomputeOnRandomPackets() {
        var rng = SplitMix64(seed: 0x5EED)
        func randomAddress() -> IPv4Address { IPv4Address(UInt32.random(in: 0...UInt32.max, using: &rng)) }
        for _ in 0..<3000 {
            let source = randomAddress()
            let destination = randomAddress()
            let newDestination = randomAddress()
            let sourcePort = UInt16.random(in: 0...UInt16.max, using: &rng)
            let destinationPort = UInt16.random(in: 0...UInt16.max, using: &rng)
            let newPort: UInt16? = Bool.random(using: &rng) ? UInt16.random(in: 0...UInt16.max, using: &rng) : nil
            let ttl = UInt8.random(in: 2...255, using: &rng)
            let id = UInt16.random(in: 0...UInt16.max, using: &rng)
            let withChecksum = Int.random(in: 0..<8, using: &rng) != 0
            let payload = (0..<Int.random(in: 0...120, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
            var frame = FrameBuilder.udpFrame(Lab.toSLB, Lab.ip(source, destination, id: id, ttl: ttl), sourcePort: sourcePort,
                                              destinationPort: destinationPort, payload: payload, checksum: withChecksum)
            let expected = FrameBuilder.udpFrame(Lab.toSLB, Lab.ip(source, newDestination, id: id, ttl: ttl - 1),
                                                 sourcePort: sourcePort, destinationPort: newPort ?? destinationPort,
                                                 payload: payload, checksum: withChecksum)
            guard var packet = PacketView.parse(frame).packet else { Issue.record("random frame did not parse"); return }
            #expect(PacketRewrite.decrementTTL(in: &frame, packet: &packet) == nil)
            #expect(PacketRewrite.rewriteDestination(in: &frame, packet: &packet, address: newDestination, port: newPort) == nil)
            if frame != expected {
                Issue.record("mismatch \(source) → \(destination) ⇒ \(newDestination) port \(String(describing: newPort))")
                return
            }
            #expect(recomputedIPChecksum(frame, ipOffset: 14) == packet.ip.checksum)
            if withChecksum { #expect(recomputedUDPChecksum(frame, packet: packet) == { if case .udp(let u) = packet.transport { u.checksum } else { 0 } }()) }
        }
    }

    @Test func rewriteRefusesAStaleParse() throws {
        var frame = Lab.isakmpFrame
        var packet = try #require(PacketView.parse(frame).packet)
        var short = Array(frame[0..<30])
        #expect(PacketRewrite.rewriteDestination(in: &short, packet: &packet, address: Lab.real1) == .parseMismatch)
        #expect(PacketRewrite.decrementTTL(in: &short, packet: &packet) == .parseMismatch)
        #expect(PacketRewrite.rewriteDestination(in: &frame, packet: &packet, address: Lab.real1) == nil)
        var tiny: [UInt8] = [1, 2, 3]
        #expect(!PacketRewrite.setMACs(in: &tiny, destination: Lab.real1MAC))
    }
}
