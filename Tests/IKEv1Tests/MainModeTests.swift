import IKE
import IPsecCrypto
import SLBWire
import Testing

/// Main mode ladders (RFC 2409 §5): our initiator against our responder.
struct MainModeTests {
    @Test(arguments: ISAKMPPolicy.seedPolicies)
    func eachSeedPolicyEstablishes(policy: ISAKMPPolicy) throws {
        var lab = Ladder(initiator: initiatorConfiguration(policy: policy))
        lab.mainMode()
        // MM1 --> <-- MM2, MM3 --> <-- MM4, MM5 --> <-- MM6
        #expect(lab.wire.count == 6)
        #expect(lab.wire.map(\.toResponder) == [true, false, true, false, true, false])
        let encrypted = try lab.wire.map { try ISAKMPHeader.parse($0.bytes).isEncrypted }
        #expect(encrypted == [false, false, false, false, true, true])
        let i = try #require(lab.initiatorActions.established.first)
        let r = try #require(lab.responderActions.established.first)
        #expect(i.cookies == r.cookies)
        #expect(i.suite == r.suite)
        #expect(r.suite?.encryption == policy.encryption && r.suite?.keyLength == policy.keyLength)
        #expect(r.suite?.hash == policy.hash && r.suite?.group == policy.group)
        #expect(r.state == .qmIdle && r.peer == clientEndpoint && r.local == gatewayEndpoint)
        #expect(r.peerIdentity == .ipv4(clientAddress))
        #expect(r.peerSupportsDPD && i.peerSupportsDPD)
        #expect(lab.responder.establishedCount == 1)
        #expect(lab.responderActions.drops.isEmpty && lab.initiatorActions.drops.isEmpty)
    }

    /// ECP 256/384 (RFC 5903) and Curve25519 phase 1: KE sizes 64/96/32 octets, both ends
    /// derive the same keys (MM5/MM6 authenticate) and quick mode works under them.
    @Test(arguments: ISAKMPPolicy.ellipticCurvePolicies)
    func ellipticCurvePoliciesEstablish(policy: ISAKMPPolicy) throws {
        var lab = Ladder(initiator: initiatorConfiguration(policy: policy),
                         responder: responderConfiguration().with { $0.policies = ISAKMPPolicy.ellipticCurvePolicies })
        lab.mainMode()
        let ke = try #require(ISAKMPMessage.parse(lab.wire[2].bytes).payloads.compactMap { p -> [UInt8]? in
            if case .keyExchange(let d) = p { d } else { nil } }.first)
        #expect(ke.count == policy.group.publicValueLength)
        let r = try #require(lab.responderActions.established.first)
        #expect(r.suite?.group == policy.group && r.suite?.hash == policy.hash && r.suite?.keyLength == policy.keyLength)
        #expect(lab.initiatorActions.established.count == 1)
        lab.quickMode()
        #expect(lab.responderActions.installed.count == 1 && lab.initiatorActions.installed.count == 1)
        #expect(lab.responderActions.drops.isEmpty && lab.initiatorActions.drops.isEmpty)
    }

    /// IOS compares its policies in priority order: an initiator offering everything gets
    /// the responder's priority-1 policy.
    @Test func responderPicksItsHighestPriorityPolicy() throws {
        var config = initiatorConfiguration()
        config.policies = ISAKMPPolicy.seedPolicies.reversed()
        var lab = Ladder(initiator: config)
        lab.mainMode()
        let r = try #require(lab.responderActions.established.first)
        #expect(r.suite?.encryption == .tripleDESCBC && r.suite?.hash == .sha1 && r.suite?.group == .modp1024)
    }

    @Test func lifetimeIsTheShorterOfBoth() throws {
        var policy = ISAKMPPolicy.seedPolicies[0]
        policy.lifetime = .seconds(3600)
        var lab = Ladder(initiator: initiatorConfiguration(policy: policy))
        lab.mainMode()
        #expect(try #require(lab.responderActions.established.first).suite?.lifetime == .seconds(3600))
    }

    /// An 8-octet life duration of all ones must not wrap the clock: the policy's wins.
    @Test func hugeOfferedLifetimeIsClamped() throws {
        var responder = IKEv1Responder(configuration: responderConfiguration(), crypto: openSSL)
        let t = ISAKMPTransform(number: 1, transformID: IPsecDOI.keyIKE, attributes: [
            .integer(Phase1Attribute.encryptionAlgorithm, Phase1Attribute.encryption3DES),
            .integer(Phase1Attribute.hashAlgorithm, Phase1Attribute.hashSHA1),
            .integer(Phase1Attribute.authenticationMethod, Phase1Attribute.authPreSharedKey),
            .integer(Phase1Attribute.groupDescription, 2),
            .integer(Phase1Attribute.lifeType, ISAKMPLifeType.seconds),
            ISAKMPAttribute(type: Phase1Attribute.lifeDuration, value: .variable([UInt8](repeating: 0xFF, count: 8))),
        ])
        let mm1 = ISAKMPMessage.serialize(ISAKMPHeader(initiatorCookie: 0x1122, responderCookie: 0, nextPayload: 0, exchange: .identityProtection),
                                          [.securityAssociation(ISAKMPSecurityAssociation(proposals: [ISAKMPProposal(number: 1, protocolID: 1, transforms: [t])]))])
        let a = responder.receive(mm1, from: clientEndpoint, to: gatewayEndpoint, now: .seconds(1))
        #expect(a.sent.count == 1 && responder.count == 1)
        #expect(responder.isakmpSAs.first?.suite?.lifetime == .seconds(86400))
    }

    @Test func noMatchingPolicyIsRefusedWithNoProposalChosen() throws {
        let odd = ISAKMPPolicy(priority: 1, encryption: .aesCBC, keyLength: 24, hash: .sha1, group: .modp2048)
        var lab = Ladder(initiator: initiatorConfiguration(policy: odd))
        lab.mainMode()
        // MM1 --> <-- N(NO-PROPOSAL-CHOSEN)
        #expect(lab.wire.count == 2)
        #expect(plainNotifies(lab.wire[1].bytes) == [.noProposalChosen])
        #expect(lab.initiatorActions.failures == [.notified(.noProposalChosen)])
        #expect(lab.responder.count == 0)
    }

    @Test func wrongPSKNeverEstablishes() throws {
        var lab = Ladder(initiator: initiatorConfiguration(key: Array("not the key".utf8)))
        lab.mainMode()
        // MM5 --> is unreadable under the responder's keys: dropped, no MM6.
        #expect(lab.wire.count == 5)
        #expect(lab.responderActions.drops == [.authenticationFailed])
        #expect(lab.responderActions.established.isEmpty && lab.initiatorActions.established.isEmpty)
        // The initiator retransmits MM5 and gives up; the responder forgets the negotiation.
        var retransmitted = 0
        for s in stride(from: UInt64(101), through: 200, by: 1) {
            lab.now = .seconds(s)
            let a = lab.initiator.handleTimers(now: lab.now)
            retransmitted += a.sent.count
            #expect(a.installed.isEmpty)
            if a.failures == [.timeout] { break }
        }
        #expect(retransmitted >= 1)
        lab.now = .seconds(200)
        #expect(lab.responder.handleTimers(now: lab.now).deletedISAKMP == [.negotiationTimeout])
        #expect(lab.responder.count == 0)
    }

    @Test func peerWithoutPreSharedKeyIsDropped() {
        var responder = IKEv1Responder(configuration: IKEv1ResponderConfiguration(preSharedKeys: PreSharedKeyTable()), crypto: openSSL)
        var initiator = IKEv1Initiator(configuration: initiatorConfiguration(), crypto: openSSL)
        let mm1 = initiator.start(now: .seconds(1)).sent[0]
        let a = responder.receive(mm1, from: clientEndpoint, to: gatewayEndpoint, now: .seconds(1))
        #expect(a.drops == [.noPreSharedKey] && a.sent.isEmpty && responder.count == 0)
    }

    @Test func preSharedKeysMatchTheLongestPrefix() {
        var table = PreSharedKeyTable()
        table.add(Array("wide".utf8), for: IPv4Network(address: IPv4Address(192, 0, 2, 0), mask: IPv4Mask(prefixLength: 24)!))
        table.add(Array("host".utf8), for: IPv4Network(address: clientAddress, mask: .host))
        #expect(table.key(for: clientAddress) == Array("host".utf8))
        #expect(table.key(for: IPv4Address(192, 0, 2, 11)) == Array("wide".utf8))
        #expect(table.key(for: IPv4Address(198, 51, 100, 1)) == nil)
    }

    /// Aggressive mode (RFC 2409 §5.4 sends the PSK hash in the clear) is refused.
    @Test func aggressiveModeIsRefused() throws {
        var responder = IKEv1Responder(configuration: responderConfiguration(), crypto: openSSL)
        var initiator = IKEv1Initiator(configuration: initiatorConfiguration(), crypto: openSSL)
        let mm1 = try ISAKMPMessage.parse(initiator.start(now: .seconds(1)).sent[0])
        var h = mm1.header
        h.exchange = .aggressive
        let dh = try openSSL.makeKeyExchange(group: .modp1024)
        let am1 = ISAKMPMessage.serialize(h, mm1.payloads + [.keyExchange(dh.publicValue), .nonce(openSSL.randomBytes(count: 16)),
                                                              .identification(.ipv4(clientAddress))])
        let a = responder.receive(am1, from: clientEndpoint, to: gatewayEndpoint, now: .seconds(1))
        #expect(a.sent.count == 1)
        let answer = try ISAKMPMessage.parse(a.sent[0])
        #expect(answer.header.exchange == .informational)
        #expect(plainNotifies(a.sent[0]) == [.noProposalChosen])
        #expect(a.drops == [.notSupported] && responder.count == 0)
    }

    @Test func unknownExchangeIsRefused() throws {
        var responder = IKEv1Responder(configuration: responderConfiguration(), crypto: openSSL)
        let m = ISAKMPMessage.serialize(ISAKMPHeader(initiatorCookie: 7, responderCookie: 0, nextPayload: 0,
                                                     exchange: ISAKMPExchangeType(rawValue: 77)), [])
        let a = responder.receive(m, from: clientEndpoint, to: gatewayEndpoint, now: .seconds(1))
        #expect(plainNotifies(a.sent.first ?? []) == [.invalidExchangeType])
        #expect(responder.count == 0)
    }

    /// A retransmitted request (our reply was lost) gets the identical reply, no new state.
    @Test(arguments: [0, 2, 4])
    func duplicateRequestGetsTheSameReply(index: Int) throws {
        var lab = Ladder()
        lab.enqueue(fromInitiator: lab.initiator.start(now: lab.now))
        var request: Datagram?
        var firstReply: [UInt8] = []
        var step = 0
        while let d = lab.next() {
            lab.deliver(d)
            if step == index { request = d; firstReply = lab.queue.last?.bytes ?? [] }
            step += 1
        }
        let req = try #require(request)
        let again = lab.responder.receive(req.bytes, from: req.from, to: req.to, now: lab.now)
        #expect(again.sent == [firstReply])
        #expect(lab.responder.count == 1 && lab.responder.establishedCount == 1)
    }

    /// The initiator retransmits MM1 when MM2 is lost; the responder answers from its cache.
    @Test func lostReplyIsRecoveredByRetransmission() throws {
        var lab = Ladder()
        lab.enqueue(fromInitiator: lab.initiator.start(now: lab.now))
        let first = lab.next()
        let mm1 = try #require(first)
        lab.deliver(mm1)
        _ = lab.next()   // MM2 lost
        let schedule = try #require(lab.initiatorActions.schedules.first)
        lab.now = schedule
        lab.enqueue(fromInitiator: lab.initiator.handleTimers(now: lab.now))
        #expect(lab.queue.first?.bytes == mm1.bytes)
        lab.run()
        #expect(lab.initiator.isEstablished && lab.responder.establishedCount == 1 && lab.responder.count == 1)
    }

    /// RFC 3947: the NAT rewrites the initiator's address; both ends see it, the initiator
    /// floats to 4500, and the responder follows the new mapping.
    @Test func natTraversalDetectsAndFloats() throws {
        var lab = Ladder(initiator: initiatorConfiguration(local: privateClientEndpoint), behindNAT: true)
        lab.mainMode()
        let i = try #require(lab.initiatorActions.natDetections.first)
        #expect(i.0 == NATStatus(localBehindNAT: true, peerBehindNAT: false))
        #expect(i.1 == IKEEndpoint(privateClientEndpoint.address, 4500))
        let r = try #require(lab.responderActions.natDetections.first)
        #expect(r.0 == NATStatus(localBehindNAT: false, peerBehindNAT: true) && r.1 == nil)
        // MM5 and MM6 travel on 4500.
        #expect(lab.wire[4].to.port == 4500 && lab.wire[4].from == IKEEndpoint(clientAddress, 61001))
        #expect(lab.wire[5].from.port == 4500)
        let info = try #require(lab.responderActions.established.first)
        #expect(info.peer == IKEEndpoint(clientAddress, 61001) && info.nat.peerBehindNAT)
        lab.quickMode()
        let child = try #require(lab.responderActions.installed.first)
        #expect(child.child.udpEncapsulation && child.encapsulationMode == Phase2Attribute.encapsulationUDPTunnel)
    }

    @Test func noNATMeansNoFloat() throws {
        var lab = Ladder()
        lab.mainMode()
        #expect(lab.initiatorActions.natDetections.isEmpty && lab.responderActions.natDetections.isEmpty)
        #expect(lab.wire.allSatisfy { $0.to.port == 500 })
        lab.quickMode()
        #expect(lab.responderActions.installed.first?.child.udpEncapsulation == false)
    }

    /// The gateway fakes its own NAT-D so that peers encapsulate (spec §0.1).
    @Test func forcedEncapsulationMakesThePeerFloat() throws {
        var lab = Ladder(responder: responderConfiguration().with { $0.forceUDPEncapsulation = true })
        lab.mainMode()
        let i = try #require(lab.initiatorActions.natDetections.first)
        #expect(i.0 == NATStatus(localBehindNAT: false, peerBehindNAT: true))
        #expect(lab.wire[4].to.port == 4500)
        lab.quickMode()
        #expect(lab.responderActions.installed.first?.child.udpEncapsulation == true)
    }

    /// A directed-mode SLB rewrites the VIP to the real's address: with `virtualIP` the
    /// gateway's NAT-D and IDr still name the VIP, so no NAT is reported.
    @Test(arguments: [true, false])
    func natDiscoveryUsesTheVIP(configured: Bool) throws {
        let real = IKEEndpoint(IPv4Address(198, 51, 100, 11), 500)
        var config = responderConfiguration()
        if configured { config.virtualIP = vip }
        var responder = IKEv1Responder(configuration: config, crypto: openSSL)
        var initiator = IKEv1Initiator(configuration: initiatorConfiguration(), crypto: openSSL)
        var pending = initiator.start(now: .seconds(1)).sent
        var responderActions: [IKEv1Action] = []
        var initiatorActions: [IKEv1Action] = []
        while let request = pending.first {
            pending.removeFirst()
            let r = responder.receive(request, from: clientEndpoint, to: real, now: .seconds(1))
            responderActions += r
            for reply in r.sent {
                let i = initiator.receive(reply, from: gatewayEndpoint, to: clientEndpoint, now: .seconds(1))
                initiatorActions += i
                pending += i.sent
            }
        }
        let info = try #require(responderActions.established.first)
        #expect(info.nat.localBehindNAT == !configured)
        #expect(initiatorActions.natDetections.isEmpty == configured)
        #expect(initiator.info?.peerIdentity == .ipv4(configured ? vip : real.address))
    }

    /// A client that rebooted comes back with INITIAL-CONTACT: its old SAs go (IOS behaviour),
    /// another client behind the same NAT address (other identity) keeps its own.
    @Test func initialContactReplacesThePeersOldSAs() throws {
        var lab = Ladder()
        lab.mainMode()
        lab.quickMode()
        let old = try #require(lab.initiator.info).cookies
        // Another client with another identity from the same public address.
        var neighbour = IKEv1Initiator(configuration: initiatorConfiguration(local: IKEEndpoint(IPv4Address(198, 51, 100, 201), 500)), crypto: openSSL)
        var pending = neighbour.start(now: lab.now).sent
        while let m = pending.first {
            pending.removeFirst()
            for r in lab.responder.receive(m, from: IKEEndpoint(clientAddress, 1024), to: gatewayEndpoint, now: lab.now).sent {
                pending += neighbour.receive(r, from: gatewayEndpoint, to: IKEEndpoint(IPv4Address(198, 51, 100, 201), 500), now: lab.now).sent
            }
        }
        #expect(lab.responder.establishedCount == 2)
        // The first client reboots: a new initiator, same address and identity.
        var rebooted = Ladder()
        rebooted.responder = lab.responder
        rebooted.now = lab.now
        rebooted.mainMode()
        #expect(rebooted.responderActions.deletedISAKMP == [.replacedByInitialContact])
        #expect(rebooted.responderActions.deletedChildren.map(\.1) == [.replacedByInitialContact])
        #expect(rebooted.responder.establishedCount == 2)
        #expect(rebooted.responder.childSAs(of: old).isEmpty)
        #expect(!rebooted.responder.isakmpSAs.contains { $0.cookies == old })
    }

    @Test func halfOpenNegotiationTimesOut() {
        var lab = Ladder()
        lab.enqueue(fromInitiator: lab.initiator.start(now: lab.now))
        if let mm1 = lab.next() { lab.deliver(mm1) }
        #expect(lab.responder.count == 1)
        #expect(lab.responder.handleTimers(now: lab.now + .seconds(59)).deletedISAKMP.isEmpty)
        #expect(lab.responder.handleTimers(now: lab.now + .seconds(60)).deletedISAKMP == [.negotiationTimeout])
        #expect(lab.responder.count == 0)
    }

    /// Mode-Config / XAuth (Transaction exchange) after phase 1 gets ATTRIBUTES-NOT-SUPPORTED.
    @Test func transactionExchangeIsRefused() throws {
        var lab = Ladder()
        lab.mainMode()
        let info = try #require(lab.responderActions.established.first)
        let cfg = ISAKMPHeader(initiatorCookie: info.cookies.initiator, responderCookie: info.cookies.responder,
                               nextPayload: ISAKMPPayloadType.hash, exchange: .transaction,
                               flags: ISAKMPHeader.flagEncryption, messageID: 0x0102_0304)
        let bytes = cfg.serialize(bodyLength: 16) + [UInt8](repeating: 0xAB, count: 16)
        let a = lab.responder.receive(bytes, from: clientEndpoint, to: gatewayEndpoint, now: lab.now)
        #expect(a.sent.count == 1 && a.drops == [.notSupported])
        lab.enqueue(fromResponder: a)
        lab.run()
        #expect(lab.initiatorActions.failures == [.notified(.attributesNotSupported)])
    }
}
