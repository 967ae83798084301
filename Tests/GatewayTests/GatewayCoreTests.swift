import CryptoOpenSSL
import ESP
@testable import Gateway
import GatewayShow
import IKE
import IPsecCrypto
import SLBWire
import Testing

/// The gateway core driven in memory by the project's initiator: no sockets, no clock.
struct InMemoryLab {
    static let vip = IPv4Address(203, 0, 113, 100)
    static let inside = IPv4Address(203, 0, 113, 1)
    static let psk = Array("lab-psk-0123456789".utf8)
    let crypto = OpenSSLCryptoProvider()
    var gateway: GatewayCore
    var now = MonotonicTime.seconds(1000)

    init(forceNATT: Bool = false, liveness: TimeSpan? = nil, espLifetime: ESPLifetime? = nil,
         ikeLifetime: TimeSpan? = GatewayConfiguration.defaultIKELifetime) {
        var table = PSKTable()
        table.defaultKey = Self.psk
        var config = GatewayConfiguration(virtualIP: Self.vip, preSharedKeys: table,
                                          cookieSecret: CookieJar.Secret(version: 1, key: [UInt8](repeating: 7, count: 32)))
        config.forceUDPEncapsulation = forceNATT
        config.livenessInterval = liveness
        if let espLifetime { config.espLifetime = espLifetime }
        config.ikeLifetime = ikeLifetime
        gateway = GatewayCore(configuration: config, now: now)
    }

    func initiator(_ client: IPv4Address, psk: [UInt8] = psk, remote: [TrafficSelector] = [.host(inside)]) -> IKEv2Initiator {
        var c = IKEv2InitiatorConfiguration(local: IKEEndpoint(client, 500), peer: IKEEndpoint(Self.vip, 500),
                                            identity: .ipv4(client.wireBytes), psk: psk,
                                            child: ChildSAPolicy(localSelectors: [.host(client)], remoteSelectors: remote))
        c.peerIdentity = .ipv4(Self.vip.wireBytes)
        return IKEv2Initiator(configuration: c, crypto: crypto)
    }

    /// Carries datagrams between the initiator and the gateway until both are quiet.
    mutating func exchange(_ initiator: inout IKEv2Initiator, _ first: [IKEAction]) -> [IKEAction] {
        var pending = first
        var seen: [IKEAction] = []
        var rounds = 0
        while !pending.isEmpty, rounds < 20 {
            rounds += 1
            var next: [IKEAction] = []
            for action in pending {
                seen.append(action)
                guard case .send(let bytes, let to, let from) = action else { continue }
                var out: [GatewayOutput] = []
                let payload = from.port == 500 ? bytes : markedIKEDatagram(bytes)
                gateway.receiveUDP(payload, from: from, to: to, now: now, into: &out)
                for o in out {
                    guard case .udp(let reply, let src, _) = o else { continue }
                    let ike = src.port == 500 ? reply : Array(reply.dropFirst(4))
                    next += initiator.receive(ike, from: src, now: now)
                }
            }
            pending = next
        }
        return seen
    }

    /// Hands the gateway's own requests (timer-driven) to the initiator and carries the
    /// rest of the conversation.
    mutating func deliver(_ outputs: [GatewayOutput], to initiator: inout IKEv2Initiator) -> [IKEAction] {
        var seen: [IKEAction] = []
        for o in outputs {
            guard case .udp(let datagram, let src, _) = o else { continue }
            let ike = src.port == 500 ? datagram : Array(datagram.dropFirst(4))
            seen += exchange(&initiator, initiator.receive(ike, from: src, now: now))
        }
        return seen
    }

    /// One echo request through `child` (the initiator's view); true if the gateway answered.
    mutating func ping(through child: ChildSA, from client: IPv4Address) throws -> Bool {
        let transform = try ESPTransform(encryption: child.suite.encryption, keyLength: child.suite.keyLength, integrity: child.suite.integrity)
        var out = try OutboundSA(spi: child.outboundSPI, transform: transform,
                                 keyMaterial: child.outboundKeys.encryption + child.outboundKeys.integrity, now: now)
        var inb = try InboundSA(spi: child.inboundSPI, transform: transform,
                                keyMaterial: child.inboundKeys.encryption + child.inboundKeys.integrity, now: now)
        let esp = try out.seal(InnerTrafficTests.echo(from: client, to: Self.inside), now: now, crypto: crypto)
        var outputs: [GatewayOutput] = []
        gateway.receiveRawESP(esp, from: client, now: now, into: &outputs)
        guard case .rawESP(let reply, _, _)? = outputs.first else { return false }
        return (try? inb.open(reply, now: now, crypto: crypto)) != nil
    }
}

@Suite struct GatewayCoreTests {
    @Test func tunnelComesUpAndPingIsAnsweredOverRawESP() throws {
        var lab = InMemoryLab()
        let client = IPv4Address(192, 0, 2, 10)
        var initiator = lab.initiator(client)
        _ = lab.exchange(&initiator, initiator.start(now: lab.now))
        #expect(initiator.isEstablished)
        let child = try #require(initiator.childSAs.first)
        #expect(!child.udpEncapsulation, "no NAT: raw ESP")
        #expect(lab.gateway.inboundSPIs == [child.outboundSPI])

        let transform = try ESPTransform(encryption: child.suite.encryption, keyLength: child.suite.keyLength, integrity: child.suite.integrity)
        var out = try OutboundSA(spi: child.outboundSPI, transform: transform,
                                 keyMaterial: child.outboundKeys.encryption + child.outboundKeys.integrity, now: lab.now)
        var inb = try InboundSA(spi: child.inboundSPI, transform: transform,
                                keyMaterial: child.inboundKeys.encryption + child.inboundKeys.integrity, now: lab.now)
        let ping = InnerTrafficTests.echo(from: client, to: InMemoryLab.inside)
        let esp = try out.seal(ping, now: lab.now, crypto: lab.crypto)
        var outputs: [GatewayOutput] = []
        lab.gateway.receiveRawESP(esp, from: client, now: lab.now, into: &outputs)
        #expect(outputs.count == 1)
        guard case .rawESP(let reply, let from, let to) = outputs.first else {
            Issue.record("expected raw ESP, got \(outputs)")
            return
        }
        #expect(from == InMemoryLab.vip && to == client)
        let inner = try inb.open(reply, now: lab.now, crypto: lab.crypto)
        #expect(inner.payload[20] == ICMPMessage.echoReply)

        // A second, non-ICMP inner packet is counted, not answered.
        let udp = FrameBuilder.ipv4(FrameBuilder.IPv4Fields(source: client, destination: InMemoryLab.inside), protocol: .udp,
                                    payload: FrameBuilder.udp(source: client, destination: InMemoryLab.inside, sourcePort: 9,
                                                              destinationPort: 9, payload: [1, 2, 3]))
        outputs.removeAll()
        lab.gateway.receiveRawESP(try out.seal(udp, now: lab.now, crypto: lab.crypto), from: client, now: lab.now, into: &outputs)
        #expect(outputs.isEmpty)

        let snapshot = lab.gateway.snapshot(now: lab.now)
        #expect(snapshot.ikeSAs.count == 1)
        let events = lab.gateway.takeEvents()
        #expect(events.count == 2, "\(events)")
        #expect(events.contains(.childInstalled(inboundSPI: child.outboundSPI, outboundSPI: child.inboundSPI,
                                                udpEncapsulation: false, ike: try #require(initiator.ikeSA?.id))))
        #expect(lab.gateway.takeEvents().isEmpty)
        let row = try #require(snapshot.ipsecSAs.first)
        #expect(row.inboundSPI == child.outboundSPI && row.outboundSPI == child.inboundSPI)
        #expect(row.packetsDecrypted == 2 && row.packetsEncrypted == 1)
        #expect(row.echoRepliesSent == 1 && row.innerOtherPackets == 1)
        #expect(row.remoteUDPPort == nil)
    }

    @Test func forcedNATTMovesTheSAToUDP4500AndRepliesFromThere() throws {
        var lab = InMemoryLab(forceNATT: true)
        let client = IPv4Address(192, 0, 2, 11)
        var initiator = lab.initiator(client)
        let seen = lab.exchange(&initiator, initiator.start(now: lab.now))
        #expect(initiator.isEstablished)
        let child = try #require(initiator.childSAs.first)
        #expect(child.udpEncapsulation)
        // IKE_AUTH went to 4500 after the float (RFC 7296 §2.23).
        #expect(seen.contains { if case .send(_, let to, _) = $0 { to.port == 4500 } else { false } })
        let row = try #require(lab.gateway.snapshot(now: lab.now).ikeSAs.first)
        #expect(row.localPort == 4500 && row.natDetected)

        let transform = try ESPTransform(encryption: child.suite.encryption, keyLength: child.suite.keyLength, integrity: child.suite.integrity)
        var out = try OutboundSA(spi: child.outboundSPI, transform: transform,
                                 keyMaterial: child.outboundKeys.encryption + child.outboundKeys.integrity, now: lab.now)
        let esp = try out.seal(InnerTrafficTests.echo(from: client, to: InMemoryLab.inside), now: lab.now, crypto: lab.crypto)
        var outputs: [GatewayOutput] = []
        lab.gateway.receiveUDP(esp, from: IKEEndpoint(client, 4500), to: IKEEndpoint(InMemoryLab.vip, 4500), now: lab.now, into: &outputs)
        guard case .udp(let reply, let from, let to) = outputs.first else {
            Issue.record("expected ESP-in-UDP, got \(outputs)")
            return
        }
        #expect(from == IKEEndpoint(InMemoryLab.vip, 4500) && to == IKEEndpoint(client, 4500))
        #expect(Array(reply.prefix(4)) != nonESPMarker, "ESP, not IKE")
    }

    @Test func wrongPSKEstablishesNothing() {
        var lab = InMemoryLab()
        var initiator = lab.initiator(IPv4Address(192, 0, 2, 12), psk: Array("wrong".utf8))
        _ = lab.exchange(&initiator, initiator.start(now: lab.now))
        #expect(!initiator.isEstablished)
        #expect(lab.gateway.establishedIKESACount == 0 && lab.gateway.childSACount == 0)
    }

    /// Bad input on every entry point is a counted drop, never a crash or an answer.
    static let garbage: [(String, [UInt8])] = {
        let zeros28 = [UInt8](repeating: 0, count: 28)
        let ff200 = [UInt8](repeating: 0xFF, count: 200)
        let markedJunk: [UInt8] = [0, 0, 0, 0] + [UInt8](repeating: 0x11, count: 40)
        let unknownSPI: [UInt8] = [0x12, 0x34, 0x56, 0x78, 0, 0, 0, 1] + [UInt8](repeating: 0, count: 64)
        var cases: [(String, [UInt8])] = []
        cases.append(("udp500", []))
        cases.append(("udp500", [0xAB, 0xAB, 0xAB]))
        cases.append(("udp500", zeros28))
        cases.append(("udp500", ff200))
        cases.append(("udp4500", []))
        cases.append(("udp4500", [0x01]))
        cases.append(("udp4500", [0xFF]))
        cases.append(("udp4500", [0, 0, 0, 0, 1, 2]))
        cases.append(("udp4500", markedJunk))
        cases.append(("udp4500", unknownSPI))
        cases.append(("esp", []))
        cases.append(("esp", [0, 0, 1]))
        cases.append(("esp", unknownSPI))
        return cases
    }()

    @Test(arguments: garbage)
    func garbageIsACountedDrop(entry: String, bytes: [UInt8]) {
        var lab = InMemoryLab()
        let peer = IPv4Address(192, 0, 2, 66)
        var outputs: [GatewayOutput] = []
        switch entry {
        case "udp500":
            lab.gateway.receiveUDP(bytes, from: IKEEndpoint(peer, 500), to: IKEEndpoint(InMemoryLab.vip, 500), now: lab.now, into: &outputs)
        case "udp4500":
            lab.gateway.receiveUDP(bytes, from: IKEEndpoint(peer, 4500), to: IKEEndpoint(InMemoryLab.vip, 4500), now: lab.now, into: &outputs)
        default:
            lab.gateway.receiveRawESP(bytes, from: peer, now: lab.now, into: &outputs)
        }
        #expect(outputs.isEmpty)
        let total = lab.gateway.counters.values.values.reduce(0, +)
        #expect(total == 1, "exactly one counter moved: \(lab.gateway.counters.values)")
    }

    /// Truncated ESP and a tampered ICV on a live SA count against that SA.
    @Test func damagedESPOnALiveSACountsAsReceiveError() throws {
        var lab = InMemoryLab()
        let client = IPv4Address(192, 0, 2, 13)
        var initiator = lab.initiator(client)
        _ = lab.exchange(&initiator, initiator.start(now: lab.now))
        let child = try #require(initiator.childSAs.first)
        let transform = try ESPTransform(encryption: child.suite.encryption, keyLength: child.suite.keyLength, integrity: child.suite.integrity)
        var out = try OutboundSA(spi: child.outboundSPI, transform: transform,
                                 keyMaterial: child.outboundKeys.encryption + child.outboundKeys.integrity, now: lab.now)
        var esp = try out.seal(InnerTrafficTests.echo(from: client, to: InMemoryLab.inside), now: lab.now, crypto: lab.crypto)
        var outputs: [GatewayOutput] = []
        lab.gateway.receiveRawESP(Array(esp.prefix(12)), from: client, now: lab.now, into: &outputs)
        esp[esp.count - 1] ^= 1
        lab.gateway.receiveRawESP(esp, from: client, now: lab.now, into: &outputs)
        #expect(outputs.isEmpty)
        let row = try #require(lab.gateway.snapshot(now: lab.now).ipsecSAs.first)
        #expect(row.receiveErrors == 1, "the ICV failure; the truncated packet is dropped before SA lookup")
        #expect(row.packetsDecrypted == 0)
        #expect(lab.gateway.counters["esp.truncated"] == 1 && lab.gateway.counters["esp.icvMismatch"] == 1)
    }

    @Test func defaultChildLifetimeRekeysAfterStrongSwansDefaultRekey() {
        let l = InMemoryLab().gateway.configuration.ikev2ChildLifetime
        #expect(l.hardTime == .seconds(3960) && l.softTime == .milliseconds(3_712_500))
        #expect(l.hardBytes == 4_608_000 * 1024 && l.softBytes == 4_320_000 * 1024)
    }

    /// Soft lifetime (15/16 of the hard one) without a rekey from the peer: the gateway
    /// sends CREATE_CHILD_SA {N(REKEY_SA)…}, installs the new pair, deletes the old one,
    /// and the tunnel keeps answering on the new SAs.
    @Test func softLifetimeMakesTheGatewayRekey() throws {
        var lab = InMemoryLab(espLifetime: ESPLifetime(hardTime: .seconds(160)))
        let client = IPv4Address(192, 0, 2, 17)
        var initiator = lab.initiator(client)
        _ = lab.exchange(&initiator, initiator.start(now: lab.now))
        let first = try #require(initiator.childSAs.first)
        let start = lab.now
        var outputs: [GatewayOutput] = []
        lab.gateway.handleTimers(now: start + .seconds(149), into: &outputs)
        #expect(outputs.isEmpty)
        lab.now = start + .seconds(150)
        lab.gateway.handleTimers(now: lab.now, into: &outputs)
        #expect(outputs.count == 1, "one CREATE_CHILD_SA request")
        #expect(lab.gateway.counters["esp.rekeyStarted"] == 1)
        #expect(lab.gateway.takeEvents().contains(.childRekeyStarted(inboundSPI: first.outboundSPI)))
        _ = lab.deliver(outputs, to: &initiator)
        let second = try #require(initiator.childSAs.first)
        #expect(initiator.childSAs.count == 1 && second.inboundSPI != first.inboundSPI)
        #expect(lab.gateway.inboundSPIs == [second.outboundSPI])
        #expect(try lab.ping(through: second, from: client))
        #expect(try !lab.ping(through: first, from: client), "the old SA is gone")
        outputs = []
        lab.now = start + .seconds(200)
        lab.gateway.handleTimers(now: lab.now, into: &outputs)
        #expect(outputs.isEmpty, "the new SA is young; the old one left no timer behind")
        #expect(lab.gateway.counters["esp.expired"] == 0)
    }

    /// A client that restarted (new IKE SA with INITIAL_CONTACT, same identity and address)
    /// replaces its stale tunnel: one IKE SA and one ESP pair remain, and the old inbound
    /// SPI no longer decrypts.
    @Test func reconnectWithInitialContactReplacesTheStaleTunnel() throws {
        var lab = InMemoryLab()
        let client = IPv4Address(192, 0, 2, 20)
        var first = lab.initiator(client)
        _ = lab.exchange(&first, first.start(now: lab.now))
        let stale = try #require(first.childSAs.first)
        lab.now = lab.now + .seconds(5)
        var second = lab.initiator(client)
        _ = lab.exchange(&second, second.start(now: lab.now))
        let fresh = try #require(second.childSAs.first)
        #expect(lab.gateway.establishedIKESACount == 1)
        #expect(lab.gateway.inboundSPIs == [fresh.outboundSPI])
        #expect(try lab.ping(through: fresh, from: client))
        #expect(try !lab.ping(through: stale, from: client))
        let snapshot = lab.gateway.snapshot(now: lab.now)
        #expect(snapshot.ikeSAs.map(\.tunnelID) == [2])
    }

    /// `--ike-lifetime`: an IKE SA the peer did not rekey is deleted with D(IKE) (with its
    /// Child SAs) once it is that old; a peer's rekey restarts the clock; show prints it.
    @Test func ikeLifetimeDeletesAnUnrekeyedIKESA() throws {
        var lab = InMemoryLab(ikeLifetime: .seconds(100))
        var initiator = lab.initiator(IPv4Address(192, 0, 2, 18))
        let start = lab.now
        _ = lab.exchange(&initiator, initiator.start(now: lab.now))
        lab.now = start + .seconds(60)
        _ = lab.exchange(&initiator, initiator.rekeyIKESA(now: lab.now))
        var outputs: [GatewayOutput] = []
        lab.gateway.handleTimers(now: start + .seconds(159), into: &outputs)
        #expect(outputs.isEmpty, "the rekey at 60 s restarted the lifetime")
        let text = IKEv2SATable.render(lab.gateway.snapshot(now: start + .seconds(159)))
        #expect(text.contains("Life/Active Time: 100/99 sec"), "\(text)")
        lab.now = start + .seconds(160)
        lab.gateway.handleTimers(now: lab.now, into: &outputs)
        #expect(outputs.count == 1, "INFORMATIONAL D(IKE)")
        #expect(lab.gateway.counters["ike.expired"] == 1)
        lab.gateway.handleTimers(now: lab.now + .seconds(1), into: &outputs)
        #expect(outputs.count == 1, "sent once")
        _ = lab.deliver(outputs, to: &initiator)
        #expect(!initiator.isEstablished)
        #expect(lab.gateway.establishedIKESACount == 0 && lab.gateway.childSACount == 0)
        #expect(lab.gateway.takeEvents().contains { if case .ikeExpired = $0 { true } else { false } })
    }

    @Test func noIKELifetimePrintsNone() throws {
        var lab = InMemoryLab(ikeLifetime: nil)
        var initiator = lab.initiator(IPv4Address(192, 0, 2, 19))
        _ = lab.exchange(&initiator, initiator.start(now: lab.now))
        var outputs: [GatewayOutput] = []
        lab.gateway.handleTimers(now: lab.now + .seconds(1_000_000), into: &outputs)
        #expect(lab.gateway.establishedIKESACount == 1)
        #expect(IKEv2SATable.render(lab.gateway.snapshot(now: lab.now)).contains("Life/Active Time: none/0 sec"))
    }

    /// Hard lifetime reached (here soft = hard, so no rekey first): the pair goes and the
    /// peer gets an INFORMATIONAL D(ESP), so it does not keep sending into nothing; the IKE
    /// SA stays.
    @Test func hardLifetimeDeletesTheSAAndTellsThePeer() throws {
        var lab = InMemoryLab(espLifetime: ESPLifetime(softTime: .seconds(3960), hardTime: .seconds(3960)))
        var initiator = lab.initiator(IPv4Address(192, 0, 2, 14))
        _ = lab.exchange(&initiator, initiator.start(now: lab.now))
        let child = try #require(initiator.childSAs.first)
        _ = lab.gateway.takeEvents()
        var outputs: [GatewayOutput] = []
        lab.gateway.handleTimers(now: lab.now + .seconds(3959), into: &outputs)
        #expect(lab.gateway.childSACount == 1 && outputs.isEmpty)
        lab.now = lab.now + .seconds(3961)
        lab.gateway.handleTimers(now: lab.now, into: &outputs)
        #expect(lab.gateway.childSACount == 0)
        #expect(lab.gateway.counters["esp.expired"] == 1)
        #expect(outputs.count == 1, "INFORMATIONAL D(ESP)")
        let seen = lab.deliver(outputs, to: &initiator)
        let deleted = seen.compactMap { if case .deleteChildSA(let i, _, _) = $0 { i } else { nil } }
        #expect(deleted == [child.inboundSPI], "the client removed its half")
        #expect(initiator.childSAs.isEmpty && initiator.isEstablished)
        #expect(lab.gateway.establishedIKESACount == 1)
        #expect(lab.gateway.takeEvents() == [.childExpired(inboundSPI: child.outboundSPI)], "one event, not a second 'deleted'")
    }

    /// CREATE_CHILD_SA rekeys from the client: the gateway installs the new Child SA, drops
    /// the old one, and an IKE SA rekey keeps the tunnel (and its Child SA) under the new SPIs.
    @Test func childAndIKERekeysFromThePeerMoveTheSAs() throws {
        var lab = InMemoryLab()
        var initiator = lab.initiator(IPv4Address(192, 0, 2, 15))
        _ = lab.exchange(&initiator, initiator.start(now: lab.now))
        let first = try #require(initiator.childSAs.first)
        lab.now = lab.now + .seconds(60)
        _ = lab.exchange(&initiator, initiator.rekeyChildSA(inboundSPI: first.inboundSPI, now: lab.now))
        let second = try #require(initiator.childSAs.first)
        #expect(initiator.childSAs.count == 1 && second.inboundSPI != first.inboundSPI)
        #expect(lab.gateway.inboundSPIs == [second.outboundSPI])

        let oldIKE = try #require(initiator.ikeSA?.id)
        lab.now = lab.now + .seconds(60)
        _ = lab.exchange(&initiator, initiator.rekeyIKESA(now: lab.now))
        let newIKE = try #require(initiator.ikeSA?.id)
        #expect(newIKE != oldIKE)
        let snapshot = lab.gateway.snapshot(now: lab.now)
        #expect(snapshot.ikeSAs.count == 1)
        #expect(snapshot.ikeSAs.first?.localSPI == ShowNames.hex64(newIKE.spiR))
        #expect(snapshot.ikeSAs.first?.tunnelID == 1, "the tunnel keeps its number across the rekey")
        #expect(snapshot.ipsecSAs.map(\.inboundSPI) == [second.outboundSPI])
        #expect(snapshot.ipsecSAs.first?.tunnelID == 1)
    }

    /// With `--dpd`, a peer that stops answering is found dead and its SAs are removed.
    @Test func deadPeerIsDetectedAndItsSAsRemoved() throws {
        var lab = InMemoryLab(liveness: .seconds(10))
        var initiator = lab.initiator(IPv4Address(192, 0, 2, 16))
        _ = lab.exchange(&initiator, initiator.start(now: lab.now))
        #expect(lab.gateway.childSACount == 1)
        var checks = 0
        // The client is gone: nothing answers. Walk the clock through the retransmissions.
        for _ in 0..<600 {
            lab.now = lab.now + .seconds(1)
            var out: [GatewayOutput] = []
            lab.gateway.handleTimers(now: lab.now, into: &out)
            checks += out.count
            if lab.gateway.establishedIKESACount == 0 { break }
        }
        #expect(checks >= 2, "a liveness check and its retransmissions were sent")
        #expect(lab.gateway.establishedIKESACount == 0)
        #expect(lab.gateway.childSACount == 0)
    }

    /// With a 0.0.0.0/0 TSr the gateway also answers pings to its own tunnel-side address
    /// (the VIP), counts traffic to other inside hosts, and refuses inner sources outside TSi.
    @Test(arguments: [
        (InMemoryLab.vip, "echo"),
        (InMemoryLab.inside, "echo"),
        (IPv4Address(203, 0, 113, 50), "other"),
    ])
    func innerDestinations(destination: IPv4Address, expected: String) throws {
        var lab = InMemoryLab()
        let client = IPv4Address(192, 0, 2, 17)
        var initiator = lab.initiator(client, remote: [.anyIPv4])
        _ = lab.exchange(&initiator, initiator.start(now: lab.now))
        let child = try #require(initiator.childSAs.first)
        let transform = try ESPTransform(encryption: child.suite.encryption, keyLength: child.suite.keyLength, integrity: child.suite.integrity)
        var out = try OutboundSA(spi: child.outboundSPI, transform: transform,
                                 keyMaterial: child.outboundKeys.encryption + child.outboundKeys.integrity, now: lab.now)
        var outputs: [GatewayOutput] = []
        let ping = InnerTrafficTests.echo(from: client, to: destination)
        lab.gateway.receiveRawESP(try out.seal(ping, now: lab.now, crypto: lab.crypto), from: client, now: lab.now, into: &outputs)
        let row = try #require(lab.gateway.snapshot(now: lab.now).ipsecSAs.first)
        #expect(outputs.count == (expected == "echo" ? 1 : 0))
        #expect(row.echoRepliesSent == (expected == "echo" ? 1 : 0))
        #expect(row.innerOtherPackets == (expected == "other" ? 1 : 0))

        let spoofed = InnerTrafficTests.echo(from: IPv4Address(192, 0, 2, 99), to: destination)
        lab.gateway.receiveRawESP(try out.seal(spoofed, now: lab.now, crypto: lab.crypto), from: client, now: lab.now, into: &outputs)
        #expect(lab.gateway.counters["inner.selectorMismatch"] == 1, "RFC 4301 §5.2: source outside TSi")
    }
}
