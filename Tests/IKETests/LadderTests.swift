import IKE
import IPsecCrypto
import SLBWire
import Testing

/// One IKE and ESP algorithm set, as an initiator would configure it.
struct AlgorithmSet: CustomStringConvertible, Sendable {
    var name: String
    var ike: ProposalPolicy
    var group: DHGroup
    var esp: ProposalPolicy
    var description: String { name }

    static func make(_ name: String, _ cipher: CipherChoice, _ prf: PRFAlgorithm, _ integ: IntegrityAlgorithm?, _ group: DHGroup) -> AlgorithmSet {
        let i = integ.map { [$0] } ?? []
        return AlgorithmSet(name: name,
                            ike: ProposalPolicy(ciphers: [cipher], prfs: [prf], integrity: i, dhGroups: [group]),
                            group: group,
                            esp: ProposalPolicy(ciphers: [cipher], prfs: [], integrity: i, dhGroups: [group]))
    }

    /// AES-CBC-128/256 × HMAC-SHA1/SHA2-256 × MODP2048/ECP256/X25519, then AES-GCM-16-128/256
    /// with each group, plus ECP384 with SHA2-512.
    static let all: [AlgorithmSet] = {
        var sets: [AlgorithmSet] = []
        let groups: [(String, DHGroup)] = [("MODP2048", .modp2048), ("ECP256", .ecp256), ("X25519", .curve25519)]
        for bits in [128, 256] {
            for (hashName, prf, integ) in [("SHA1", PRFAlgorithm.hmacSHA1, IntegrityAlgorithm.hmacSHA1_96),
                                           ("SHA256", .hmacSHA256, .hmacSHA256_128)] {
                for (groupName, group) in groups {
                    sets.append(make("AES-CBC-\(bits)/\(hashName)/\(groupName)", CipherChoice(.aesCBC, bits), prf, integ, group))
                }
            }
        }
        for bits in [128, 256] {
            for (groupName, group) in groups {
                sets.append(make("AES-GCM-16-\(bits)/SHA256/\(groupName)", CipherChoice(.aesGCM16, bits), .hmacSHA256, nil, group))
            }
        }
        sets.append(make("AES-GCM-16-256/SHA512/ECP384", CipherChoice(.aesGCM16, 256), .hmacSHA512, nil, .ecp384))
        return sets
    }()
}

/// Both ends derived the same Child SA, mirrored.
func expectMirrored(_ i: ChildSA, _ r: ChildSA, sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(i.inboundSPI == r.outboundSPI, sourceLocation: sourceLocation)
    #expect(i.outboundSPI == r.inboundSPI, sourceLocation: sourceLocation)
    #expect(i.inboundKeys == r.outboundKeys, sourceLocation: sourceLocation)
    #expect(i.outboundKeys == r.inboundKeys, sourceLocation: sourceLocation)
    #expect(i.suite == r.suite, sourceLocation: sourceLocation)
    #expect(i.inboundKeys != i.outboundKeys, sourceLocation: sourceLocation)
}

@Suite("IKEv2 ladders: initiator against responder")
struct LadderTests {
    @Test("IKE_SA_INIT + IKE_AUTH establish for each algorithm set", arguments: AlgorithmSet.all)
    func establish(_ set: AlgorithmSet) throws {
        var lab = Ladder(initiator: initiatorConfiguration(ike: set.ike, group: set.group, esp: set.esp))
        // IKE_SA_INIT -->  <-- IKE_SA_INIT   IKE_AUTH -->  <-- IKE_AUTH
        lab.establish()
        #expect(lab.wire.count == 4)
        #expect(lab.initiator.isEstablished)
        #expect(lab.responderActions.established.count == 1)
        let info = try #require(lab.initiator.ikeSA)
        #expect(info.suite.dhGroup == set.group)
        #expect(info.peerIdentity == .ipv4([203, 0, 113, 100]))          // IDr = the VIP by default
        let ci = try #require(lab.initiatorActions.installed.first)
        let cr = try #require(lab.responderActions.installed.first)
        expectMirrored(ci, cr)
        #expect(cr.localSelectors == [.host(IPv4Address(203, 0, 113, 1))])  // TSr narrowed to the service address
        #expect(!cr.udpEncapsulation)                                       // honest NAT-D: no NAT here
        #expect(lab.responder.establishedCount == 1 && lab.responder.halfOpenCount == 0)
        // Every message of the ladder parses, and the protected ones carry only SK.
        for (n, m) in lab.wire.enumerated() {
            let parsed = try IKEMessage.parse(m.bytes)
            if n >= 2 { #expect(parsed.payloads.map(\.type) == [.encrypted]) }
        }
    }

    @Test func initAnswerCarriesOnlyWhatWeImplement() throws {
        var lab = Ladder()
        lab.establish()
        // <-- IKE_SA_INIT {SA, KE, Nr, N(NATD_S), N(NATD_D)}: no MOBIKE, fragmentation, redirect
        // or multiple-auth announcements (spec §1.4 step 7).
        let initResponse = try IKEMessage.parse(lab.wire[1].bytes)
        #expect(initResponse.payloads.map(\.type) == [.securityAssociation, .keyExchange, .nonce, .notify, .notify])
        #expect(initResponse.payloads.notifies.map(\.type) == [.natDetectionSourceIP, .natDetectionDestinationIP])
        #expect(lab.initiator.isEstablished)
    }

    @Test func virtualAddressFromThePool() throws {
        var config = initiatorConfiguration()
        config.requestVirtualAddress = true
        var lab = Ladder(initiator: config)
        lab.establish()
        let info = try #require(lab.initiator.ikeSA)
        #expect(info.virtualAddress == IPv4Address(198, 51, 100, 129))
        let cr = try #require(lab.responderActions.installed.first)
        #expect(cr.remoteSelectors == [.host(IPv4Address(198, 51, 100, 129))])   // TSi narrowed to the address (§2.9)
        #expect(lab.responder.establishedSAs.first?.virtualAddress == IPv4Address(198, 51, 100, 129))
    }

    @Test func addressPoolExhaustedGivesInternalAddressFailure() throws {
        var rc = responderConfiguration()
        rc.addressPool = nil
        var config = initiatorConfiguration()
        config.requestVirtualAddress = true
        var lab = Ladder(initiator: config, responder: rc)
        lab.establish()
        #expect(lab.initiator.isEstablished)        // the IKE SA survives (§1.2)
        #expect(lab.initiatorActions.installed.isEmpty)
        #expect(lab.responderActions.installed.isEmpty)
    }

    @Test func wrongPSKIsAuthenticationFailed() {
        var config = initiatorConfiguration()
        config.psk = Array("wrong".utf8)
        var lab = Ladder(initiator: config)
        lab.establish()
        #expect(lab.initiator.failure == .authenticationFailed)
        #expect(lab.responderActions.established.isEmpty)
        #expect(lab.responderActions.deletedIKESAs.count == 1)
        #expect(lab.responder.halfOpenCount == 0 && lab.responder.establishedCount == 0)
        // A retransmitted IKE_AUTH request still gets the same AUTHENTICATION_FAILED (§2.1).
        let auth = lab.wire[2].bytes
        let again = lab.responder.receive(auth, from: clientEndpoint, to: gatewayEndpoint, now: lab.now).sent
        #expect(again == [lab.wire[3].bytes])
        _ = lab.responder.handleTimers(now: lab.now + .seconds(31))
        #expect(lab.responder.receive(auth, from: clientEndpoint, to: gatewayEndpoint, now: lab.now + .seconds(31)).drops == [.unknownSPI])
    }

    @Test func responderAuthIsCheckedByTheInitiator() {
        var rc = responderConfiguration()
        rc.preSharedKeys = [.fqdn("client.example"): psk]
        rc.defaultPSK = nil
        var lab = Ladder(responder: rc)
        lab.establish()
        #expect(lab.initiator.isEstablished)      // PSK chosen by IDi

        var config = initiatorConfiguration()
        config.identity = .fqdn("stranger.example")
        var other = Ladder(initiator: config, responder: rc)
        other.establish()
        #expect(other.initiator.failure == .authenticationFailed)
    }

    @Test func peerIdentityMismatchFailsAuthentication() {
        var config = initiatorConfiguration()
        config.peerIdentity = .fqdn("other-gateway.example")
        var lab = Ladder(initiator: config)
        lab.establish()
        #expect(lab.initiator.failure == .authenticationFailed)
        // IKE_AUTH -->  <-- IKE_AUTH  INFORMATIONAL {N(AUTHENTICATION_FAILED)} -->  (§2.21.2)
        #expect(lab.wire.count == 6)
        #expect(lab.responderActions.deletedIKESAs.count == 1)
        #expect(lab.responder.establishedCount == 0)
    }

    @Test func invalidKEPayloadRetry() throws {
        // The initiator starts with MODP2048 but prefers nothing else; the responder allows
        // only X25519 → INVALID_KE_PAYLOAD(31), retry, success.
        var rc = responderConfiguration()
        rc.ike.dhGroups = [.curve25519]
        var ike = ProposalPolicy.gatewayIKE
        ike.dhGroups = [.modp2048, .curve25519]
        var lab = Ladder(initiator: initiatorConfiguration(ike: ike, group: .modp2048), responder: rc)
        lab.establish()
        #expect(plainNotifies(lab.wire[1].bytes) == [.invalidKEPayload])
        let data = try IKEMessage.parse(lab.wire[1].bytes).payloads.notify(.invalidKEPayload)?.data
        #expect(data == [0, 31])
        #expect(try IKEMessage.parse(lab.wire[1].bytes).header.spiR == 0)     // §2.6: SPIr zero
        #expect(lab.initiator.isEstablished)
        #expect(lab.initiator.ikeSA?.suite.dhGroup == .curve25519)
        #expect(lab.wire.count == 6)
    }

    @Test func noProposalChosen() {
        var rc = responderConfiguration()
        rc.ike.ciphers = [CipherChoice(.aesGCM16, 256)]
        let set = AlgorithmSet.all[0]          // AES-CBC-128/SHA1/MODP2048
        var lab = Ladder(initiator: initiatorConfiguration(ike: set.ike, group: set.group, esp: set.esp), responder: rc)
        lab.establish()
        #expect(plainNotifies(lab.wire[1].bytes) == [.noProposalChosen])
        #expect(lab.initiator.failure == .notified(.noProposalChosen))
        #expect(lab.responder.halfOpenCount == 0)
    }

    @Test func cookieOnceHalfOpenPassesTheThreshold() throws {
        var rc = responderConfiguration()
        rc.cookieThreshold = 0
        var lab = Ladder(responder: rc)
        lab.establish()
        // IKE_SA_INIT -->  <-- N(COOKIE)  IKE_SA_INIT(N(COOKIE) first) -->  <-- IKE_SA_INIT ...
        #expect(plainNotifies(lab.wire[1].bytes) == [.cookie])
        let retry = try IKEMessage.parse(lab.wire[2].bytes)
        #expect(retry.payloads.first?.type == .notify)
        #expect(lab.initiator.isEstablished)
    }

    @Test func cookieFromAnotherGatewayOfTheFarmIsAccepted() throws {
        var rc = responderConfiguration()
        rc.cookieThreshold = 0
        var gatewayA = IKEv2Responder(configuration: rc, crypto: openSSL)
        var gatewayB = IKEv2Responder(configuration: rc, crypto: openSSL)
        var initiator = IKEv2Initiator(configuration: initiatorConfiguration(), crypto: openSSL)
        let now = MonotonicTime.seconds(1)
        let first = initiator.start(now: now).sent[0]
        let cookie = gatewayA.receive(first, from: clientEndpoint, to: gatewayEndpoint, now: now).sent[0]
        let retry = initiator.receive(cookie, from: gatewayEndpoint, now: now).sent[0]
        let answer = gatewayB.receive(retry, from: clientEndpoint, to: gatewayEndpoint, now: now).sent[0]
        #expect(try IKEMessage.parse(answer).payloads.securityAssociation != nil)
        #expect(gatewayB.halfOpenCount == 1)
        // A forged cookie is answered with a fresh cookie, not with state.
        var forged = try IKEMessage.parse(retry)
        forged.payloads[0] = .notify(NotifyPayload(.cookie, data: [0, 0, 0, 1] + Array(repeating: 0, count: 32)))
        var gatewayC = IKEv2Responder(configuration: rc, crypto: openSSL)
        let c = gatewayC.receive(forged.serialize(), from: clientEndpoint, to: gatewayEndpoint, now: now).sent
        #expect(plainNotifies(c[0]) == [.cookie])
        #expect(gatewayC.halfOpenCount == 0)
    }

    @Test func retransmittedRequestsGetTheCachedResponse() throws {
        var lab = Ladder()
        let initRequest = lab.initiator.start(now: lab.now).sent[0]
        let r1 = lab.responder.receive(initRequest, from: clientEndpoint, to: gatewayEndpoint, now: lab.now).sent
        let r2 = lab.responder.receive(initRequest, from: clientEndpoint, to: gatewayEndpoint, now: lab.now).sent
        #expect(r1 == r2)                                     // §2.1: no second SA, no second DH
        #expect(lab.responder.halfOpenCount == 1)
        let auth = lab.initiator.receive(r1[0], from: gatewayEndpoint, now: lab.now).sent[0]
        let a1 = lab.responder.receive(auth, from: clientEndpoint, to: gatewayEndpoint, now: lab.now).sent
        let a2 = lab.responder.receive(auth, from: clientEndpoint, to: gatewayEndpoint, now: lab.now).sent
        #expect(a1 == a2 && a1.count == 1)
        #expect(lab.responder.establishedCount == 1)
        _ = lab.initiator.receive(a1[0], from: gatewayEndpoint, now: lab.now)
        #expect(lab.initiator.isEstablished)
        // A late duplicate IKE_SA_INIT opens no second SA.
        #expect(lab.responder.receive(initRequest, from: clientEndpoint, to: gatewayEndpoint, now: lab.now).drops == [.retransmissionMismatch])
        #expect(lab.responder.halfOpenCount == 0 && lab.responder.establishedCount == 1)
        // Liveness: a duplicate INFORMATIONAL request gets the identical answer.
        let ping = lab.initiator.checkLiveness(now: lab.now).sent[0]
        let p1 = lab.responder.receive(ping, from: clientEndpoint, to: gatewayEndpoint, now: lab.now).sent
        let p2 = lab.responder.receive(ping, from: clientEndpoint, to: gatewayEndpoint, now: lab.now).sent
        #expect(p1 == p2 && p1.count == 1)
    }

    @Test func initiatorRetransmitsAndGivesUp() {
        var initiator = IKEv2Initiator(configuration: initiatorConfiguration(), crypto: openSSL)
        var now = MonotonicTime.seconds(0)
        let first = initiator.start(now: now)
        var sends = first.sent
        // 4 s × 1.8^n back-off (strongSwan defaults), 5 retransmissions, then failure.
        for _ in 0..<10 {
            now = now + .seconds(60)
            let a = initiator.handleTimers(now: now)
            sends += a.sent
            if !a.failures.isEmpty { break }
        }
        #expect(sends.count == 6)
        #expect(Set(sends).count == 1)
        #expect(initiator.failure == .timeout)
    }

    @Test func livenessBothWays() throws {
        var rc = responderConfiguration()
        rc.livenessInterval = .seconds(30)
        var lab = Ladder(responder: rc)
        lab.establish()
        // INFORMATIONAL {} -->  <-- INFORMATIONAL {}
        let before = lab.wire.count
        lab.pump(lab.initiator.checkLiveness(now: lab.now))
        #expect(lab.wire.count == before + 2)
        #expect(try IKEMessage.parse(lab.wire[before + 1].bytes).header.isResponse)
        // The gateway's own check after 30 s of silence: <-- INFORMATIONAL {}  INFORMATIONAL {} -->
        lab.now = lab.now + .seconds(31)
        let timers = lab.responder.handleTimers(now: lab.now)
        #expect(timers.sent.count == 1)
        lab.pumpFromResponder(timers)
        #expect(lab.wire.count == before + 4)
        #expect(lab.responder.establishedCount == 1)
    }

    @Test func deadPeerIsDeletedAfterRetransmissions() {
        var rc = responderConfiguration()
        rc.livenessInterval = .seconds(30)
        var lab = Ladder(responder: rc)
        lab.establish()
        var now = lab.now
        var actions: [IKEAction] = []
        for _ in 0..<20 {
            now = now + .seconds(60)
            actions += lab.responder.handleTimers(now: now)
        }
        #expect(actions.sent.count == 6)                     // first check + 5 retransmissions
        #expect(actions.deletedIKESAs.count == 1)
        #expect(actions.deletedChildren.count == 1)
        #expect(lab.responder.establishedCount == 0)
    }

    @Test func halfOpenSAExpires() {
        var lab = Ladder()
        let req = lab.initiator.start(now: lab.now).sent[0]
        let a = lab.responder.receive(req, from: clientEndpoint, to: gatewayEndpoint, now: lab.now)
        #expect(lab.responder.halfOpenCount == 1)
        #expect(a.contains(.schedule(at: lab.now + .seconds(30))))
        let t = lab.responder.handleTimers(now: lab.now + .seconds(31))
        #expect(t.deletedIKESAs.count == 1)
        #expect(lab.responder.halfOpenCount == 0)
    }

    @Test func deleteChildSAFromTheInitiator() throws {
        var lab = Ladder()
        lab.establish()
        let child = try #require(lab.initiator.childSAs.first)
        // INFORMATIONAL {D(ESP, spi)} -->  <-- INFORMATIONAL {D(ESP, spi')}
        lab.pump(lab.initiator.deleteChildSA(inboundSPI: child.inboundSPI, now: lab.now))
        #expect(lab.responderActions.deletedChildren == [child.outboundSPI])
        #expect(lab.initiatorActions.deletedChildren == [child.inboundSPI])
        #expect(lab.initiator.childSAs.isEmpty)
        #expect(lab.responder.childSAs(of: try #require(lab.initiator.ikeSA).id).isEmpty)
    }

    @Test func deleteIKESAFromEitherSide() throws {
        var lab = Ladder()
        lab.establish()
        // INFORMATIONAL {D(IKE)} -->  <-- INFORMATIONAL {}
        lab.pump(lab.initiator.delete(now: lab.now))
        #expect(lab.responderActions.deletedIKESAs.count == 1)
        #expect(lab.responderActions.deletedChildren.count == 1)
        #expect(lab.responder.establishedCount == 0)
        #expect(!lab.initiator.isEstablished)

        var other = Ladder()
        other.establish()
        let id = try #require(other.initiator.ikeSA).id
        // <-- INFORMATIONAL {D(IKE)}  INFORMATIONAL {} -->
        other.pumpFromResponder(other.responder.delete(id, now: other.now))
        #expect(!other.initiator.isEstablished)
        #expect(other.responder.establishedCount == 0)
    }

    @Test("CHILD_SA rekey with and without PFS", arguments: [nil, DHGroup.curve25519, DHGroup.modp2048])
    func childRekey(_ pfs: DHGroup?) throws {
        var lab = Ladder()
        lab.establish()
        let old = try #require(lab.initiator.childSAs.first)
        // CREATE_CHILD_SA {N(REKEY_SA), SA, Ni, [KEi], TSi, TSr} -->  <-- {SA, Nr, [KEr], TSi, TSr}
        // INFORMATIONAL {D(ESP, old)} -->  <-- {D(ESP, old')}
        lab.pump(lab.initiator.rekeyChildSA(inboundSPI: old.inboundSPI, pfs: pfs, now: lab.now))
        let newI = try #require(lab.initiatorActions.installed.last)
        let newR = try #require(lab.responderActions.installed.last)
        #expect(newI.inboundSPI != old.inboundSPI)
        expectMirrored(newI, newR)
        #expect(newI.suite.dhGroup == pfs)
        #expect(newI.inboundKeys != old.inboundKeys)
        #expect(lab.initiator.childSAs == [newI])
        #expect(lab.responderActions.deletedChildren == [old.outboundSPI])
        #expect(newR.localSelectors == [.host(IPv4Address(203, 0, 113, 1))])
    }

    @Test func ikeSARekeyMovesChildrenAndKeepsWorking() throws {
        var lab = Ladder()
        lab.establish()
        let oldID = try #require(lab.initiator.ikeSA).id
        let child = try #require(lab.initiator.childSAs.first)
        // CREATE_CHILD_SA {SA(IKE, SPIi'), Ni, KEi} -->  <-- {SA(SPIr'), Nr, KEr}
        // INFORMATIONAL(old) {D(IKE)} -->  <-- {}
        lab.pump(lab.initiator.rekeyIKESA(now: lab.now))
        let newID = try #require(lab.initiator.ikeSA).id
        #expect(newID != oldID)
        #expect(lab.responder.establishedCount == 1)
        #expect(lab.responder.establishedSAs.first?.id == newID)
        #expect(lab.responderActions.deletedChildren.isEmpty)          // Child SAs moved, not deleted
        #expect(lab.responder.childSAs(of: newID).map(\.inboundSPI) == [child.outboundSPI])
        #expect(lab.initiator.childSAs == [child])
        // The new SA works: MIDs restart at 0, liveness and a Child rekey go through.
        let before = lab.wire.count
        lab.pump(lab.initiator.checkLiveness(now: lab.now))
        #expect(lab.wire.count == before + 2)
        #expect(try IKEMessage.parse(lab.wire[before].bytes).header.messageID == 0)
        lab.pump(lab.initiator.rekeyChildSA(inboundSPI: child.inboundSPI, now: lab.now))
        #expect(lab.initiator.childSAs.count == 1 && lab.initiator.childSAs != [child])
    }

    @Test func forcedUDPEncapsulationFakesNAT() throws {
        var rc = responderConfiguration()
        rc.forceUDPEncapsulation = true
        var lab = Ladder(responder: rc)
        lab.establish()
        #expect(lab.initiator.ikeSA?.udpEncapsulation == true)
        #expect(lab.initiator.ikeSA?.peer.port == 4500)            // the initiator floated (§2.23)
        #expect(lab.responderActions.installed.first?.udpEncapsulation == true)
        // The IKE_AUTH request came from the new port and the answer went back there.
        let sends = lab.responderActions.sentWithEndpoints
        #expect(sends.last?.to.port == 4500)
        #expect(sends.last?.from.port == 4500)
    }

    @Test func natDetectionUsesTheConfiguredVIP() throws {
        // The SLB rewrote the destination to the real's own address (directed mode); the
        // responder still hashes the VIP, so the client sees no NAT.
        var lab = Ladder()
        let req = lab.initiator.start(now: lab.now).sent[0]
        let realAddress = IKEEndpoint(IPv4Address(198, 51, 100, 11), 500)
        let answer = lab.responder.receive(req, from: clientEndpoint, to: realAddress, now: lab.now).sent[0]
        let auth = lab.initiator.receive(answer, from: gatewayEndpoint, now: lab.now)
        #expect(auth.sentWithEndpoints.first?.to == gatewayEndpoint)     // the client saw no NAT: no float
        let m = try IKEMessage.parse(answer)
        let natdS = try #require(m.payloads.notify(.natDetectionSourceIP)).data
        #expect(natdS == NATDetection.hash(openSSL, spiI: m.header.spiI, spiR: m.header.spiR, endpoint: gatewayEndpoint))
    }

    @Test func natDetectionUsesTheConfiguredPublicPort() throws {
        // The gateway listens on 5500; clients address the VIP's 500.
        var rc = responderConfiguration()
        rc.publicPorts = [5500: 500]
        var lab = Ladder(responder: rc)
        let req = lab.initiator.start(now: lab.now).sent[0]
        let answer = lab.responder.receive(req, from: clientEndpoint, to: IKEEndpoint(vip, 5500), now: lab.now).sent[0]
        let auth = lab.initiator.receive(answer, from: gatewayEndpoint, now: lab.now)
        #expect(lab.initiator.ikeSA == nil)
        #expect(auth.sentWithEndpoints.first?.to == gatewayEndpoint)     // no NAT seen: no float to 4500
    }
}


@Suite("Gateway-initiated requests")
struct GatewayRequestTests {
    @Test func gatewayDeletesAChildSA() throws {
        var lab = Ladder()
        lab.establish()
        let id = try #require(lab.initiator.ikeSA).id
        let child = try #require(lab.responder.childSAs(of: id).first)
        // <-- INFORMATIONAL {D(ESP, spi)}  INFORMATIONAL {D(ESP, spi')} -->
        lab.pumpFromResponder(lab.responder.deleteChildSA(id, inboundSPI: child.inboundSPI, now: lab.now))
        #expect(lab.initiatorActions.deletedChildren == [child.outboundSPI])
        #expect(lab.responderActions.deletedChildren == [child.inboundSPI])
        #expect(lab.responder.childSAs(of: id).isEmpty && lab.initiator.childSAs.isEmpty)
        #expect(lab.responder.establishedCount == 1 && lab.initiator.isEstablished)
        // The initiator's answer carried its half (§1.4.1).
        #expect(lab.wire.count == 6)
    }
}

@Suite("Retransmission policy")
struct RetransmissionPolicyTests {
    @Test func strongSwanBackoff() {
        // 4 s, then ×1.8: sends at 0, 4, 11.2, 24.16, 47.49, 89.48 s; give up at 165.06 s.
        var initiator = IKEv2Initiator(configuration: initiatorConfiguration(), crypto: openSSL)
        var schedule: [MonotonicTime] = []
        var actions = initiator.start(now: .zero)
        for _ in 0..<8 {
            guard case .schedule(let at)? = actions.last else { break }
            schedule.append(at)
            actions = initiator.handleTimers(now: at)
        }
        #expect(schedule.map { $0.nanoseconds / 1_000_000 } == [4000, 11200, 24160, 47488, 89478, 165061])
        #expect(initiator.failure == .timeout)
    }

    @Test func absurdBackoffSaturatesInsteadOfTrapping() {
        var config = initiatorConfiguration()
        config.retransmission = RetransmissionPolicy(initialTimeout: .seconds(1_000_000), backoffPerMille: 1_000_000, retransmissions: 50)
        var initiator = IKEv2Initiator(configuration: config, crypto: openSSL)
        var now = MonotonicTime.zero
        _ = initiator.start(now: now)
        for _ in 0..<60 {
            now = MonotonicTime(nanoseconds: UInt64.max)
            _ = initiator.handleTimers(now: now)
        }
        #expect(initiator.failure == .timeout)
    }
}

@Suite("NAT traversal (RFC 7296 §2.23)")
struct NATTraversalTests {
    @Test func clientBehindNATFloatsTo4500AndEncapsulates() throws {
        var config = initiatorConfiguration()
        config.local = IKEEndpoint(IPv4Address(10, 0, 0, 5), 500)       // private side of a home NAT
        var lab = Ladder(initiator: config)
        lab.nat = { IKEEndpoint(IPv4Address(192, 0, 2, 77), $0.port == 500 ? 40500 : 44500) }
        lab.establish()
        #expect(lab.initiator.isEstablished)
        let info = try #require(lab.initiator.ikeSA)
        #expect(info.udpEncapsulation && info.peer.port == 4500 && info.local.port == 4500)
        let gatewaySide = try #require(lab.responder.establishedSAs.first)
        #expect(gatewaySide.udpEncapsulation)
        #expect(gatewaySide.peer == IKEEndpoint(IPv4Address(192, 0, 2, 77), 44500))   // the mapped 4500 flow (§2.11)
        #expect(lab.responderActions.installed.first?.udpEncapsulation == true)
        // Liveness answers follow the NAT mapping.
        lab.pump(lab.initiator.checkLiveness(now: lab.now))
        #expect(lab.responderActions.sentWithEndpoints.last?.to == IKEEndpoint(IPv4Address(192, 0, 2, 77), 44500))
    }
}
