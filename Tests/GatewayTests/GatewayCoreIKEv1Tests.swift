import CryptoOpenSSL
import ESP
@testable import Gateway
import GatewayShow
import IKE
import IPsecCrypto
import SLBWire
import Testing

/// The gateway core's IKEv1 path driven in memory by the project's `IKEv1Initiator`.
struct IKEv1InMemoryLab {
    static let vip = InMemoryLab.vip
    static let inside = InMemoryLab.inside
    static let psk = InMemoryLab.psk
    let crypto = OpenSSLCryptoProvider()
    var gateway: GatewayCore
    var now = MonotonicTime.seconds(1000)

    init(forceNATT: Bool = false, dpd: TimeSpan? = nil, quickMode: QuickModePolicy = .seeds, psks: PSKTable? = nil) {
        var table = PSKTable()
        table.defaultKey = Self.psk
        var config = GatewayConfiguration(virtualIP: Self.vip, preSharedKeys: psks ?? table,
                                          cookieSecret: CookieJar.Secret(version: 1, key: [UInt8](repeating: 7, count: 32)))
        config.forceUDPEncapsulation = forceNATT
        config.livenessInterval = dpd
        config.ikev1 = IKEv1GatewayOptions(quickMode: quickMode)
        gateway = GatewayCore(configuration: config, now: now)
    }

    func initiator(_ client: IPv4Address, psk: [UInt8] = psk,
                   policies: [ISAKMPPolicy] = [ISAKMPPolicy.seedPolicies[0]],
                   quickMode: QuickModePolicy = .seeds) -> IKEv1Initiator {
        var c = IKEv1InitiatorConfiguration(local: IKEEndpoint(client, 500), peer: IKEEndpoint(Self.vip, 500), psk: psk,
                                            policies: policies, quickMode: quickMode)
        c.quickModeIDs = (local: .ipv4(client), remote: .ipv4(Self.inside))
        return IKEv1Initiator(configuration: c, crypto: crypto)
    }

    /// Carries datagrams both ways until both are quiet; returns every initiator action and
    /// every gateway output seen.
    mutating func exchange(_ initiator: inout IKEv1Initiator, _ first: [IKEv1Action]) -> (actions: [IKEv1Action], outputs: [GatewayOutput]) {
        var pending = first
        var seen: [IKEv1Action] = []
        var outputs: [GatewayOutput] = []
        var rounds = 0
        while !pending.isEmpty, rounds < 20 {
            rounds += 1
            var next: [IKEv1Action] = []
            for action in pending {
                seen.append(action)
                guard case .send(let bytes, let to, let from) = action else { continue }
                var out: [GatewayOutput] = []
                gateway.receiveUDP(from.port == 500 ? bytes : markedIKEDatagram(bytes), from: from, to: to, now: now, into: &out)
                outputs += out
                next += deliver(out, to: &initiator)
            }
            pending = next
        }
        return (seen, outputs)
    }

    /// Hands the gateway's IKE datagrams to the initiator (marker stripped on 4500).
    func deliver(_ out: [GatewayOutput], to initiator: inout IKEv1Initiator) -> [IKEv1Action] {
        var next: [IKEv1Action] = []
        for o in out {
            guard case .udp(let reply, let src, let dst) = o else { continue }
            next += initiator.receive(src.port == 500 ? reply : Array(reply.dropFirst(4)), from: src, to: dst, now: now)
        }
        return next
    }

    /// Main mode + quick mode; the initiator's ESP pair.
    mutating func establish(_ initiator: inout IKEv1Initiator) -> IKEv1ChildSA? {
        var first = initiator.start(now: now)
        for _ in 0..<2 {
            let seen = exchange(&initiator, first).actions
            first = []
            if seen.contains(where: { if case .phase1Established = $0 { true } else { false } }) {
                first = initiator.startQuickMode(now: now)
            }
            if first.isEmpty { break }
        }
        return initiator.children.first
    }

    /// Seals one echo request from `client` into the tunnel and returns the gateway's output.
    mutating func ping(_ c: IKEv1ChildSA, from client: IPv4Address, outbound: inout OutboundSA,
                       payloadSize: Int = 8) throws -> [GatewayOutput] {
        let icmp = FrameBuilder.icmpEcho(request: true, identifier: 1, sequence: 1, payload: [UInt8](repeating: 0x61, count: payloadSize))
        let inner = FrameBuilder.ipv4(FrameBuilder.IPv4Fields(source: client, destination: Self.inside), protocol: .icmp, payload: icmp)
        let esp = try outbound.seal(inner, now: now, crypto: crypto)
        var out: [GatewayOutput] = []
        if c.child.udpEncapsulation {
            gateway.receiveUDP(esp, from: IKEEndpoint(client, 4500), to: IKEEndpoint(Self.vip, 4500), now: now, into: &out)
        } else {
            gateway.receiveRawESP(esp, from: client, now: now, into: &out)
        }
        return out
    }

    static func header(version: UInt8, exchange: UInt8 = 2, responderCookie: UInt64 = 0) -> [UInt8] {
        var h = [UInt8](repeating: 0, count: 28)
        for i in 0..<8 { h[i] = UInt8(i + 1) }
        for i in 0..<8 { h[8 + i] = UInt8(truncatingIfNeeded: responderCookie >> (56 - 8 * UInt64(i))) }
        h[17] = version
        h[18] = exchange
        h[27] = 28
        return h
    }
}

@Suite struct GatewayCoreIKEv1Tests {
    static let client = IPv4Address(192, 0, 2, 20)

    @Test func mainModeAndQuickModeBringUpAnESPPairThatAnswersPingOverRawESP() throws {
        var lab = IKEv1InMemoryLab()
        var initiator = lab.initiator(Self.client)
        let established = lab.establish(&initiator)
        let c = try #require(established)
        #expect(initiator.isEstablished)
        #expect(!c.child.udpEncapsulation, "no NAT: raw ESP")
        #expect(lab.gateway.inboundSPIs == [c.child.outboundSPI])
        #expect(lab.gateway.establishedISAKMPSACount == 1)

        var out = try c.child.outboundSA(now: lab.now)
        var inb = try c.child.inboundSA(now: lab.now)
        let outputs = try lab.ping(c, from: Self.client, outbound: &out)
        guard case .rawESP(let reply, let from, let to)? = outputs.first, outputs.count == 1 else {
            Issue.record("expected one raw ESP reply, got \(outputs)")
            return
        }
        #expect(from == IKEv1InMemoryLab.vip && to == Self.client)
        #expect(try inb.open(reply, now: lab.now, crypto: lab.crypto).payload[20] == ICMPMessage.echoReply)

        let snapshot = lab.gateway.snapshot(now: lab.now)
        #expect(snapshot.ikeSAs.isEmpty, "IKEv1 SAs are not IKEv2 rows")
        let isakmp = try #require(snapshot.isakmpSAs.first)
        #expect(isakmp.state == "QM_IDLE" && isakmp.destination == "192.0.2.20" && isakmp.source == "203.0.113.100")
        #expect(isakmp.ipsecSACount == 1 && isakmp.peerIdentity == "192.0.2.20" && !isakmp.natDetected)
        let row = try #require(snapshot.ipsecSAs.first)
        #expect(row.tunnelID == isakmp.connectionID)
        #expect(row.inboundSPI == c.child.outboundSPI && row.outboundSPI == c.child.inboundSPI)
        #expect(row.packetsDecrypted == 1 && row.echoRepliesSent == 1)
        #expect(row.remainingKilobytes == 4_607_999 && row.remainingSeconds == 3600, "quick mode's lifetime, not --esp-lifetime")
        #expect(GatewayShowText.isakmpSA(snapshot) == """
            dst             src             state            conn-id     slot
            192.0.2.20      203.0.113.100   QM_IDLE                1        0

            """)
        let events = lab.gateway.takeEvents()
        #expect(events.contains { if case .ikev1Event(let e) = $0 { e.message == "ISAKMP SA established" } else { false } })
        #expect(events.contains { if case .ikev1Event(let e) = $0 { e.message == "IPsec SA installed" } else { false } })
    }

    @Test func forcedNATTFloatsTo4500AndCarriesESPInUDP() throws {
        var lab = IKEv1InMemoryLab(forceNATT: true)
        var initiator = lab.initiator(Self.client)
        let established = lab.establish(&initiator)
        let c = try #require(established)
        #expect(c.child.udpEncapsulation)
        var out = try c.child.outboundSA(now: lab.now)
        let outputs = try lab.ping(c, from: Self.client, outbound: &out)
        guard case .udp(_, let from, let to)? = outputs.first else {
            Issue.record("expected ESP in UDP, got \(outputs)")
            return
        }
        #expect(from == IKEEndpoint(IKEv1InMemoryLab.vip, 4500) && to == IKEEndpoint(Self.client, 4500))
        #expect(lab.gateway.snapshot(now: lab.now).isakmpSAs.first?.remotePort == 4500)
    }

    @Test func rUThereIsAnsweredWithAnAck() throws {
        var lab = IKEv1InMemoryLab()
        var initiator = lab.initiator(Self.client)
        let established = lab.establish(&initiator)
        _ = try #require(established)
        let seen = lab.exchange(&initiator, initiator.probePeer(now: lab.now)).actions
        #expect(seen.contains { if case .peerAlive = $0 { true } else { false } })
    }

    @Test func periodicDPDFromTheGatewayDeletesADeadPeersSAs() throws {
        var lab = IKEv1InMemoryLab(dpd: .seconds(10))
        var initiator = lab.initiator(Self.client)
        let established = lab.establish(&initiator)
        _ = try #require(established)
        // The peer answers the first probe…
        lab.now = lab.now + .seconds(11)
        var out: [GatewayOutput] = []
        lab.gateway.handleTimers(now: lab.now, into: &out)
        #expect(out.count == 1, "one R-U-THERE after 10 s of silence")
        _ = lab.exchange(&initiator, lab.deliver(out, to: &initiator))
        #expect(lab.gateway.counters["ikev1.dpd.alive"] == 1)
        // …then goes silent: 1 + 5 probes, 2 s apart, then everything is deleted.
        var probes = 0
        for _ in 0..<40 {
            lab.now = lab.now + .seconds(1)
            out.removeAll()
            lab.gateway.handleTimers(now: lab.now, into: &out)
            probes += out.count
        }
        #expect(probes == 6)
        #expect(lab.gateway.counters["ikev1.dpd.dead"] == 1)
        #expect(lab.gateway.establishedISAKMPSACount == 0 && lab.gateway.childSACount == 0)
    }

    @Test func kilobyteLifetimeUsedUpDeletesTheESPPairAndTellsThePeer() throws {
        var quick = QuickModePolicy.seeds
        quick.lifetimeKilobytes = 1
        var lab = IKEv1InMemoryLab(quickMode: quick)
        var initiator = lab.initiator(Self.client)
        let established = lab.establish(&initiator)
        let c = try #require(established)
        #expect(c.lifetime.hardBytes == 1024, "RESPONDER-LIFETIME adopted by our initiator")
        var out = try c.child.outboundSA(now: lab.now, lifetime: .unlimited)
        _ = try lab.ping(c, from: Self.client, outbound: &out, payloadSize: 600)
        _ = try lab.ping(c, from: Self.client, outbound: &out, payloadSize: 600)
        var outputs: [GatewayOutput] = []
        lab.gateway.handleTimers(now: lab.now, into: &outputs)
        #expect(lab.gateway.childSACount == 0)
        #expect(lab.gateway.counters["esp.expired"] == 1)
        #expect(lab.gateway.establishedISAKMPSACount == 1, "phase 1 stays")
        let seen = lab.deliver(outputs, to: &initiator)
        #expect(seen.contains { if case .deleteChildSA(_, _, _, .deletedByPeer) = $0 { true } else { false } }, "\(seen)")
    }

    @Test func peerDeleteRemovesTheSAs() throws {
        var lab = IKEv1InMemoryLab()
        var initiator = lab.initiator(Self.client)
        let established = lab.establish(&initiator)
        _ = try #require(established)
        _ = lab.exchange(&initiator, initiator.deleteISAKMPSA(now: lab.now))
        #expect(lab.gateway.establishedISAKMPSACount == 0 && lab.gateway.childSACount == 0)
        #expect(lab.gateway.snapshot(now: lab.now).isakmpSAs.isEmpty)
    }

    @Test(arguments: [
        // (version octet, counter the gateway must raise)
        (UInt8(0x10), "ikev1.malformed"),
        (UInt8(0x20), "ike."),
    ])
    func versionOctetPicksTheProtocol(version: UInt8, counter: String) {
        var lab = IKEv1InMemoryLab()
        var bad = IKEv1InMemoryLab.header(version: version)
        bad[27] = 200  // length beyond the datagram
        var out: [GatewayOutput] = []
        lab.gateway.receiveUDP(bad, from: IKEEndpoint(Self.client, 500), to: IKEEndpoint(IKEv1InMemoryLab.vip, 500), now: lab.now, into: &out)
        let names = lab.gateway.counters.values.keys
        #expect(names.contains { $0.hasPrefix(counter) }, "\(names)")
        if version == 0x20 { #expect(!names.contains { $0.hasPrefix("ikev1.") }) }
        #expect(out.isEmpty)
    }

    @Test func garbageAndUnknownCookiesAreCountedNotAnswered() {
        var lab = IKEv1InMemoryLab()
        var out: [GatewayOutput] = []
        let from = IKEEndpoint(Self.client, 500), to = IKEEndpoint(IKEv1InMemoryLab.vip, 500)
        lab.gateway.receiveUDP(IKEv1InMemoryLab.header(version: 0x10, exchange: 5, responderCookie: 0xDEAD),
                               from: from, to: to, now: lab.now, into: &out)
        lab.gateway.receiveUDP([0x10] + [UInt8](repeating: 0x10, count: 40), from: from, to: to, now: lab.now, into: &out)
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<500 {
            var d = (0..<Int.random(in: 18...120, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
            d[17] = 0x10
            lab.gateway.receiveUDP(d, from: from, to: to, now: lab.now, into: &out)
        }
        #expect(lab.gateway.counters["ikev1.unknownCookies"] >= 1)
        #expect(lab.gateway.counters.values.filter { $0.key.hasPrefix("ikev1.") }.values.reduce(0, +) == 502)
        #expect(lab.gateway.establishedISAKMPSACount == 0)
        // Still serves a real peer afterwards.
        var initiator = lab.initiator(Self.client)
        let up_initiator = lab.establish(&initiator)
        #expect(up_initiator != nil)
    }

    @Test func aggressiveModeIsRefusedWithANotifyCountedAndLogged() {
        var lab = IKEv1InMemoryLab()
        var out: [GatewayOutput] = []
        // The project's MM1 relabelled as aggressive mode (exchange 4): a valid SA payload
        // in an exchange the gateway refuses by policy (it exposes the PSK hash).
        var initiator = lab.initiator(Self.client)
        guard case .send(var m, _, _)? = initiator.start(now: lab.now).first else {
            Issue.record("no MM1")
            return
        }
        m[18] = 4
        lab.gateway.receiveUDP(m, from: IKEEndpoint(Self.client, 500), to: IKEEndpoint(IKEv1InMemoryLab.vip, 500), now: lab.now, into: &out)
        #expect(out.count == 1, "NO-PROPOSAL-CHOSEN notify")
        #expect(lab.gateway.counters["ikev1.notSupported"] == 1)
        #expect(lab.gateway.takeEvents().contains { if case .ikev1Event(let e) = $0 { e.notice } else { false } })
        #expect(lab.gateway.snapshot(now: lab.now).isakmpSAs.isEmpty)
    }

    @Test func noIKEv1DropsVersionOneAndStillServesIKEv2() {
        var table = PSKTable()
        table.defaultKey = IKEv1InMemoryLab.psk
        var config = GatewayConfiguration(virtualIP: IKEv1InMemoryLab.vip, preSharedKeys: table,
                                          cookieSecret: CookieJar.Secret(version: 1, key: [UInt8](repeating: 7, count: 32)))
        config.ikev1 = IKEv1GatewayOptions(enabled: false)
        var v2 = InMemoryLab()
        v2.gateway = GatewayCore(configuration: config, now: v2.now)
        var v1 = IKEv1InMemoryLab()
        v1.gateway = v2.gateway
        var initiator = v1.initiator(Self.client)
        let up = v1.establish(&initiator)
        #expect(up == nil)
        #expect(v1.gateway.counters["ikev1.disabled"] >= 1)
        var ikev2 = v2.initiator(IPv4Address(192, 0, 2, 21))
        _ = v2.exchange(&ikev2, ikev2.start(now: v2.now))
        #expect(ikev2.isEstablished)
    }

    @Test func wrongPSKNeverEstablishes() {
        var lab = IKEv1InMemoryLab()
        var initiator = lab.initiator(Self.client, psk: Array("not-the-key".utf8))
        let up_initiator = lab.establish(&initiator)
        #expect(up_initiator == nil)
        #expect(lab.gateway.establishedISAKMPSACount == 0)
    }

    @Test func keyIsChosenByLongestPrefixOfThePeerAddress() throws {
        let table = try PSKFile.parse("""
            *               default-key
            192.0.2.0/24    net-key
            192.0.2.20      host-key
            192.0.2.128/25  upper-key
            """)
        let keys = table.ikev1Keys
        #expect(keys.key(for: IPv4Address(192, 0, 2, 20)) == Array("host-key".utf8))
        #expect(keys.key(for: IPv4Address(192, 0, 2, 21)) == Array("net-key".utf8))
        #expect(keys.key(for: IPv4Address(192, 0, 2, 200)) == Array("upper-key".utf8))
        #expect(keys.key(for: IPv4Address(198, 51, 100, 1)) == Array("default-key".utf8))

        // End to end: a peer in the /24 with the /24's key comes up; the default key fails.
        var lab = IKEv1InMemoryLab(psks: table)
        var good = lab.initiator(IPv4Address(192, 0, 2, 21), psk: Array("net-key".utf8))
        let up_good = lab.establish(&good)
        #expect(up_good != nil)
        var bad = lab.initiator(IPv4Address(192, 0, 2, 22), psk: Array("default-key".utf8))
        let up_bad = lab.establish(&bad)
        #expect(up_bad == nil)
    }

    @Test func prefixLinesIgnoreHostBitsAndMustBeUnique() throws {
        let table = try PSKFile.parse("192.0.2.77/24 k1\n")
        #expect(table.addressPrefixes.entries.first?.network.address == IPv4Address(192, 0, 2, 0))
        #expect(table.byIdentity.isEmpty && table.defaultKey == nil, "IKEv2 identities are untouched by prefix lines")
        #expect(throws: PSKFileError.self) { try PSKFile.parse("192.0.2.0/24 k1\n192.0.2.9/24 k2\n") }
    }

    @Test func snapshotsWithoutISAKMPRowsStillDecode() throws {
        let json = #"{"virtualIP":"203.0.113.100","uptimeSeconds":5,"ikeSAs":[],"ipsecSAs":[],"drops":[]}"#
        let snapshot = try GatewayControl.decode(Array(json.utf8))
        #expect(snapshot.isakmpSAs.isEmpty && snapshot.uptimeSeconds == 5)
    }

    @Test(arguments: ["192.0.2.0/33", "192.0.2/24", "192.0.2.0/", "x/8"])
    func badPrefixesAreRejected(_ selector: String) {
        #expect(throws: PSKFileError.self) { try PSKFile.parse("\(selector) key") }
    }

    @Test(arguments: [
        ("10 aes256 sha256 14", ISAKMPPolicy(priority: 10, encryption: .aesCBC, keyLength: 32, hash: .sha256, group: .modp2048)),
        ("1 3des md5 2 3600", ISAKMPPolicy(priority: 1, encryption: .tripleDESCBC, keyLength: 24, hash: .md5, group: .modp1024,
                                           lifetime: .seconds(3600))),
        ("15 aes sha256 31", ISAKMPPolicy(priority: 15, encryption: .aesCBC, keyLength: 16, hash: .sha256, group: .curve25519)),
        ("16 aes128 sha256 19", ISAKMPPolicy(priority: 16, encryption: .aesCBC, keyLength: 16, hash: .sha256, group: .ecp256)),
        ("17 aes256 sha384 20", ISAKMPPolicy(priority: 17, encryption: .aesCBC, keyLength: 32, hash: .sha384, group: .ecp384)),
    ])
    func policyOptionParses(_ text: String, _ expected: ISAKMPPolicy) {
        #expect(IKEv1GatewayOptions.parsePolicy(text) == expected)
    }

    @Test(arguments: ["10 des sha 2", "10 aes sha 21", "10 aes sha 24", "0 aes sha 2", "10 aes sha 2 10", "aes sha 2"])
    func badPolicyOptionsAreRejected(_ text: String) {
        #expect(IKEv1GatewayOptions.parsePolicy(text) == nil)
    }
}
