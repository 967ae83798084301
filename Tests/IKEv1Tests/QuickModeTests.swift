import ESP
import IKE
import IPsecCrypto
import SLBWire
import Testing

/// Quick mode ladders (RFC 2409 §5.5) and the ESP SAs they produce.
struct QuickModeTests {
    static let pfsGroups: [DHGroup?] = [nil, .modp1024, .modp1536, .modp2048, .ecp256, .ecp384, .curve25519]

    @Test(arguments: pfsGroups)
    func quickModeInstallsMatchingSAs(pfs: DHGroup?) throws {
        var qm = QuickModePolicy.seeds
        qm.pfsGroup = pfs
        var lab = Ladder(initiator: initiatorConfiguration(quickMode: qm))
        lab.mainMode()
        let before = lab.wire.count
        lab.quickMode()
        // QM1 --> <-- QM2, QM3 -->
        #expect(lab.wire.count == before + 3)
        let qmHeaders = try lab.wire.suffix(3).map { try ISAKMPHeader.parse($0.bytes) }
        #expect(qmHeaders.allSatisfy { $0.exchange == .quickMode && $0.isEncrypted && $0.messageID == qmHeaders[0].messageID })
        let i = try #require(lab.initiatorActions.installed.first).child
        let r = try #require(lab.responderActions.installed.first).child
        #expect(i.inboundSPI == r.outboundSPI && i.outboundSPI == r.inboundSPI)
        #expect(i.inboundKeys == r.outboundKeys && i.outboundKeys == r.inboundKeys)
        #expect(i.inboundKeys != i.outboundKeys)
        #expect(i.suite == r.suite && r.suite.dhGroup == pfs)
        // The seeds' first transform set: esp-3des esp-md5-hmac.
        #expect(r.suite.encryption == .tripleDESCBC && r.suite.integrity == .hmacMD5_96)
        #expect(r.inboundKeys.encryption.count == 24 && r.inboundKeys.integrity.count == 16)
        // Without client IDs the selectors are the ISAKMP peers (§5.5).
        #expect(r.remoteSelectors == [.host(clientAddress)] && r.localSelectors == [.host(vip)])
        #expect(lab.responderActions.drops.isEmpty && lab.initiatorActions.drops.isEmpty)
        #expect(lab.responder.childSAs(of: try #require(lab.initiator.info).cookies).count == 1)
    }

    @Test(arguments: [IPsecTransformSet.esp3desMD5, .esp3desSHA, .espAES128SHA, .espAES256SHA256, .espAES128SHA256, .espAES256SHA])
    func eachTransformSetGivesAWorkingESPPair(set: IPsecTransformSet) throws {
        var lab = Ladder(initiator: initiatorConfiguration(quickMode: QuickModePolicy(transformSets: [set])),
                         responder: responderConfiguration(quickMode: QuickModePolicy(transformSets: [set])))
        lab.mainMode()
        lab.quickMode()
        let client = try #require(lab.initiatorActions.installed.first)
        let gateway = try #require(lab.responderActions.installed.first)
        #expect(gateway.child.suite.encryption == set.encryption && gateway.child.suite.keyLength == set.keyLength)
        #expect(gateway.child.suite.integrity == set.integrity)
        #expect(gateway.lifetime.hardTime == .seconds(3600) && gateway.lifetime.hardBytes == 4_608_000 * 1024)

        // ESP round trip with the SAs both sides derived (RFC 4303).
        let inner: [UInt8] = [0x45, 0, 0, 28, 0, 1, 0, 0, 64, 1, 0, 0, 192, 0, 2, 10, 203, 0, 113, 1, 8, 0, 0xf7, 0xff, 0, 0, 0, 0]
        var clientOut = try client.child.outboundSA(now: lab.now, lifetime: client.lifetime)
        var gatewayIn = try gateway.child.inboundSA(now: lab.now, lifetime: gateway.lifetime)
        var gatewayOut = try gateway.child.outboundSA(now: lab.now, lifetime: gateway.lifetime)
        var clientIn = try client.child.inboundSA(now: lab.now, lifetime: client.lifetime)
        let packet = try clientOut.seal(inner, now: lab.now, crypto: openSSL)
        #expect(try gatewayIn.open(packet, now: lab.now, crypto: openSSL).payload == inner)
        let reply = try gatewayOut.seal(inner, now: lab.now, crypto: openSSL)
        #expect(try clientIn.open(reply, now: lab.now, crypto: openSSL).payload == inner)
        // Replay of the same packet is refused by the window.
        #expect(throws: ESPError.self) { try gatewayIn.open(packet, now: lab.now, crypto: openSSL) }
    }

    @Test func clientIdentitiesAreEchoedAndBecomeSelectors() throws {
        var config = initiatorConfiguration()
        let clientNet = IPv4Network(address: IPv4Address(198, 51, 100, 128), mask: IPv4Mask(prefixLength: 25)!)
        let serviceNet = IPv4Network(address: IPv4Address(203, 0, 113, 0), mask: IPv4Mask(prefixLength: 24)!)
        config.quickModeIDs = (.ipv4(clientNet), .ipv4(serviceNet))
        var lab = Ladder(initiator: config)
        lab.mainMode()
        lab.quickMode()
        let r = try #require(lab.responderActions.installed.first).child
        #expect(r.remoteSelectors == [TrafficSelector(ipv4: IPv4Address(198, 51, 100, 128), IPv4Address(198, 51, 100, 255))])
        #expect(r.localSelectors == [TrafficSelector(ipv4: IPv4Address(203, 0, 113, 0), IPv4Address(203, 0, 113, 255))])
        let i = try #require(lab.initiatorActions.installed.first).child
        #expect(i.localSelectors == r.remoteSelectors && i.remoteSelectors == r.localSelectors)
    }

    @Test func responderRequiringPFSRefusesAProposalWithout() throws {
        var required = QuickModePolicy.seeds
        required.pfsGroup = .modp2048
        var lab = Ladder(responder: responderConfiguration(quickMode: required))
        lab.mainMode()
        lab.quickMode()
        #expect(lab.responderActions.installed.isEmpty && lab.initiatorActions.installed.isEmpty)
        #expect(lab.initiatorActions.failures == [.notified(.noProposalChosen)])
        // Phase 1 survives a refused quick mode.
        #expect(lab.responder.establishedCount == 1)
    }

    @Test func twoQuickModesGiveTwoPairs() throws {
        var lab = Ladder()
        lab.mainMode()
        lab.quickMode()
        lab.quickMode()
        let spis = lab.responderActions.installed.map(\.child.inboundSPI)
        #expect(spis.count == 2 && Set(spis).count == 2)
    }

    @Test func duplicateQM1GetsTheSameQM2() throws {
        var lab = Ladder()
        lab.mainMode()
        lab.enqueue(fromInitiator: lab.initiator.startQuickMode(now: lab.now))
        let next = lab.next()
        let qm1 = try #require(next)
        lab.deliver(qm1)
        let qm2 = try #require(lab.queue.first)
        let again = lab.responder.receive(qm1.bytes, from: qm1.from, to: qm1.to, now: lab.now)
        #expect(again.sent == [qm2.bytes])
        lab.run()
        #expect(lab.responderActions.installed.count == 1 && lab.initiatorActions.installed.count == 1)
    }

    /// QM3 lost: the responder resends QM2, the initiator answers with its cached QM3.
    @Test func lostQM3IsRecoveredByQM2Retransmission() throws {
        var lab = Ladder()
        lab.mainMode()
        lab.enqueue(fromInitiator: lab.initiator.startQuickMode(now: lab.now))
        let qm1 = lab.next()
        lab.deliver(try #require(qm1))
        let qm2 = lab.next()
        lab.deliver(try #require(qm2))
        _ = lab.next()   // QM3 lost
        #expect(lab.initiatorActions.installed.count == 1 && lab.responderActions.installed.isEmpty)
        let wake = try #require(lab.responderActions.schedules.last)
        lab.now = wake
        let resent = lab.responder.handleTimers(now: lab.now)
        #expect(resent.sent == [qm2?.bytes ?? []])
        lab.enqueue(fromResponder: resent)
        lab.run()
        #expect(lab.responderActions.installed.count == 1 && lab.initiatorActions.installed.count == 1)
        #expect(lab.responderActions.installed.first?.child.inboundSPI == lab.initiatorActions.installed.first?.child.outboundSPI)
    }

    /// An initiator that vanishes after QM2 costs the responder nothing after the retries.
    @Test func abandonedQuickModeIsForgotten() throws {
        var lab = Ladder()
        lab.mainMode()
        lab.enqueue(fromInitiator: lab.initiator.startQuickMode(now: lab.now))
        let qm1 = lab.next()
        lab.deliver(try #require(qm1))
        var resends = 0
        var gaveUp = false
        for s in stride(from: UInt64(1), through: 400, by: 1) {
            let a = lab.responder.handleTimers(now: lab.now + .seconds(s))
            resends += a.sent.count
            if a.failures == [.timeout] { gaveUp = true; break }
        }
        #expect(gaveUp && resends == RetransmissionPolicy().retransmissions)
        #expect(lab.responderActions.installed.isEmpty && lab.responder.establishedCount == 1)
    }

    // MARK: DELETE (RFC 2408 §3.15, RFC 2409 §5.7)

    @Test func deletingAChildSATellsThePeer() throws {
        var lab = Ladder()
        lab.mainMode()
        lab.quickMode()
        let child = try #require(lab.initiatorActions.installed.first).child
        lab.enqueue(fromInitiator: lab.initiator.deleteChildSA(inboundSPI: child.inboundSPI, now: lab.now))
        lab.run()
        let deleted = lab.responderActions.deletedChildren
        #expect(deleted.count == 1 && deleted.first?.0 == child.outboundSPI && deleted.first?.1 == .deletedByPeer)
        #expect(lab.responder.childSAs(of: try #require(lab.initiator.info).cookies).isEmpty)
        #expect(lab.responder.establishedCount == 1)
    }

    @Test func deletingTheISAKMPSADeletesEverything() throws {
        var lab = Ladder()
        lab.mainMode()
        lab.quickMode()
        lab.enqueue(fromInitiator: lab.initiator.deleteISAKMPSA(now: lab.now))
        lab.run()
        #expect(lab.responderActions.deletedChildren.map(\.1) == [.deletedByPeer])
        #expect(lab.responderActions.deletedISAKMP == [.deletedByPeer])
        #expect(lab.responder.count == 0)
        #expect(lab.initiatorActions.deletedISAKMP == [.deletedLocally])
    }

    @Test func gatewayClearDeletesOnBothSides() throws {
        var lab = Ladder()
        lab.mainMode()
        lab.quickMode()
        let cookies = try #require(lab.initiator.info).cookies
        lab.enqueue(fromResponder: lab.responder.deleteISAKMPSA(cookies, now: lab.now))
        lab.run()
        #expect(lab.initiatorActions.deletedISAKMP == [.deletedByPeer])
        #expect(lab.initiatorActions.deletedChildren.count == 1)
        #expect(lab.responder.count == 0)
    }

    // MARK: lifetimes

    /// The gateway's shorter phase-2 lifetime reaches the client as RESPONDER-LIFETIME.
    @Test func shorterResponderLifetimeIsAnnouncedAndAdopted() throws {
        var short = QuickModePolicy.seeds
        short.lifetime = .seconds(1800)
        short.lifetimeKilobytes = 100_000
        var lab = Ladder(responder: responderConfiguration(quickMode: short))
        lab.mainMode()
        lab.quickMode()
        let gateway = try #require(lab.responderActions.installed.first)
        let client = try #require(lab.initiatorActions.installed.first)
        #expect(gateway.lifetime.hardTime == .seconds(1800) && client.lifetime.hardTime == .seconds(1800))
        #expect(gateway.lifetime.hardBytes == 100_000 * 1024 && client.lifetime.hardBytes == 100_000 * 1024)
        // Same lifetimes on both sides: no notify.
        var same = Ladder()
        same.mainMode()
        same.quickMode()
        #expect(same.initiatorActions.installed.first?.lifetime.hardTime == .seconds(3600))
    }

    @Test func phase2LifetimeExpiryDeletesAndTellsThePeer() throws {
        var lab = Ladder()
        lab.mainMode()
        lab.quickMode()
        lab.now = lab.now + .seconds(3600)
        lab.enqueue(fromResponder: lab.responder.handleTimers(now: lab.now))
        lab.run()
        #expect(lab.responderActions.deletedChildren.map(\.1) == [.expired])
        #expect(lab.initiatorActions.deletedChildren.map(\.1) == [.deletedByPeer])
        #expect(lab.responder.establishedCount == 1)
    }

    /// A kilobyte phase-1 lifetime counts the SA's own ISAKMP traffic (RFC 2409 App. A): the
    /// SA ends in the quick mode that takes the octets on the wire past 3 KB.
    @Test func phase1KilobyteLifetimeIsEnforced() throws {
        var policy = ISAKMPPolicy.seedPolicies[0]
        policy.lifetimeKilobytes = 3
        var lab = Ladder(initiator: initiatorConfiguration(policy: policy))
        lab.mainMode()
        #expect(lab.responderActions.established.first?.suite?.lifetimeKilobytes == 3)
        var octetsBefore = 0
        while lab.responderActions.deletedISAKMP.isEmpty, lab.wire.count < 100 {
            octetsBefore = lab.wire.dropFirst(2).reduce(0) { $0 + $1.bytes.count }
            lab.quickMode()
        }
        #expect(lab.responderActions.deletedISAKMP == [.expired])
        // MM1/MM2 belong to no SA yet; everything else counts.
        let counted = lab.wire.dropFirst(2).filter { (try? ISAKMPHeader.parse($0.bytes))?.exchange != .informational }
        #expect(counted.reduce(0) { $0 + $1.bytes.count } >= 3 * 1024)
        #expect(octetsBefore < 3 * 1024)
        #expect(lab.responder.count == 0 && lab.initiatorActions.deletedISAKMP == [.deletedByPeer])
    }

    @Test func phase1LifetimeExpiryDeletesTheSA() throws {
        var policy = ISAKMPPolicy.seedPolicies[0]
        policy.lifetime = .seconds(600)
        var lab = Ladder(initiator: initiatorConfiguration(policy: policy))
        lab.mainMode()
        lab.quickMode()
        #expect(lab.responderActions.schedules.last.map { $0 <= lab.now + .seconds(600) } == true)
        lab.now = lab.now + .seconds(600)
        lab.enqueue(fromResponder: lab.responder.handleTimers(now: lab.now))
        lab.run()
        #expect(lab.responderActions.deletedISAKMP == [.expired])
        #expect(lab.initiatorActions.deletedISAKMP == [.deletedByPeer])
        #expect(lab.responder.count == 0)
    }

    /// The peer rekeyed phase 1 (a second main mode, no INITIAL-CONTACT) and, as strongSwan
    /// and IOS do, keeps using the ESP SAs made under the first. When the first ISAKMP SA
    /// expires, its ESP SAs move to the new one instead of being deleted (RFC 2409: phase 2
    /// is independent of phase 1); they end at their own lifetime, with a DELETE sent under
    /// the new SA.
    @Test func phase1ExpiryHandsTheESPSAsToThePeersNewISAKMPSA() throws {
        var policy = ISAKMPPolicy.seedPolicies[0]
        policy.lifetime = .seconds(600)
        var lab = Ladder(initiator: initiatorConfiguration(policy: policy))
        lab.mainMode()
        lab.quickMode()
        let first = try #require(lab.responderActions.established.first).cookies
        let child = try #require(lab.responderActions.installed.first).child
        var rekey = initiatorConfiguration(policy: policy)
        rekey.sendInitialContact = false
        let oldInitiator = lab.initiator
        lab.initiator = IKEv1Initiator(configuration: rekey, crypto: openSSL)
        lab.now = lab.now + .seconds(300)
        lab.mainMode()
        let second = try #require(lab.responderActions.established.last).cookies
        #expect(second != first && lab.responder.establishedCount == 2, "no INITIAL-CONTACT: the first SA stays")

        lab.now = lab.now + .seconds(300)
        let expiry = lab.responder.handleTimers(now: lab.now)
        let moved = expiry.compactMap { if case .childSAsMoved(let spis, let from, let to, _) = $0 { (spis, from, to) } else { nil } }
        #expect(moved.count == 1 && moved.first?.0 == [child.inboundSPI] && moved.first?.1 == first && moved.first?.2 == second)
        #expect(expiry.deletedChildren.isEmpty, "the ESP SA is not deleted with its ISAKMP SA")
        #expect(expiry.deletedISAKMP == [.expired])
        #expect(lab.responder.establishedCount == 1)
        #expect(lab.responder.childSAs(of: second).map(\.child.inboundSPI) == [child.inboundSPI])
        #expect(lab.responder.childSAs(of: second).first?.isakmp == second)
        _ = oldInitiator

        // Its own (quick mode) lifetime, 3600 s from QM: deleted through the new SA.
        lab.now = lab.now + .seconds(3000)
        let later = lab.responder.handleTimers(now: lab.now)
        #expect(later.deletedChildren.map(\.0) == [child.inboundSPI])
        #expect(later.compactMap { if case .deleteChildSA(_, _, let c, _) = $0 { c } else { nil } } == [second])
        #expect(later.contains { if case .send = $0 { true } else { false } }, "a DELETE goes to the peer")
    }

    /// Without a newer SA of the same peer, phase-1 expiry still deletes everything (the peer
    /// has to start over anyway).
    @Test func phase1ExpiryWithoutASuccessorDeletesTheESPSAs() throws {
        var policy = ISAKMPPolicy.seedPolicies[0]
        policy.lifetime = .seconds(600)
        var lab = Ladder(initiator: initiatorConfiguration(policy: policy))
        lab.mainMode()
        lab.quickMode()
        lab.now = lab.now + .seconds(600)
        let expiry = lab.responder.handleTimers(now: lab.now)
        #expect(expiry.deletedChildren.count == 1 && expiry.deletedISAKMP == [.expired])
        #expect(!expiry.contains { if case .childSAsMoved = $0 { true } else { false } })
    }
}
