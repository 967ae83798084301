import IKE
import IPsecCrypto
import SLBWire
import Testing

/// Garbage, truncation and mutation at every step of the ladder: no crash, and either the
/// RFC's answer or a silent drop — never a state change from unauthenticated junk.
@Suite("Hostile input")
struct RobustnessTests {
    /// Runs one full ladder and returns its four messages.
    static func ladderMessages() -> [[UInt8]] {
        var lab = Ladder()
        lab.establish()
        return lab.wire.map(\.bytes)
    }

    /// Every prefix of every ladder message, fed to a fresh responder and to an initiator in
    /// the matching state.
    @Test func everyPrefixOfEveryMessage() throws {
        let messages = Self.ladderMessages()
        #expect(messages.count == 4)
        for (index, message) in messages.enumerated() {
            for n in 0..<message.count {
                let prefix = Array(message.prefix(n))
                var lab = Ladder()
                let initRequest = lab.initiator.start(now: lab.now).sent[0]
                if index == 0 {
                    let a = lab.responder.receive(prefix, from: clientEndpoint, to: gatewayEndpoint, now: lab.now)
                    #expect(lab.responder.halfOpenCount == 0)
                    for reply in a.sent { let types = plainNotifies(reply)
                    #expect(types.allSatisfy { $0.isError }) }
                } else {
                    let r = lab.responder.receive(initRequest, from: clientEndpoint, to: gatewayEndpoint, now: lab.now).sent[0]
                    _ = lab.responder.receive(prefix, from: clientEndpoint, to: gatewayEndpoint, now: lab.now)
                    _ = lab.initiator.receive(prefix, from: gatewayEndpoint, now: lab.now)
                    #expect(lab.responder.establishedCount == 0)
                    // The honest answer still completes the exchange afterwards.
                    lab.pump(lab.initiator.receive(r, from: gatewayEndpoint, now: lab.now))
                    #expect(lab.initiator.isEstablished)
                }
            }
        }
    }

    /// Single-octet mutations (flip every bit position class) of the IKE_SA_INIT request and of
    /// the protected IKE_AUTH request: the responder answers or drops, and a mutated IKE_AUTH
    /// never establishes anything (its integrity check fails, or the header no longer matches).
    @Test func byteMutations() throws {
        var lab = Ladder()
        let initRequest = lab.initiator.start(now: lab.now).sent[0]
        for i in 0..<initRequest.count {
            for flip: UInt8 in [0x01, 0x80, 0xFF] {
                var m = initRequest
                m[i] ^= flip
                var responder = IKEv2Responder(configuration: responderConfiguration(), crypto: openSSL)
                let a = responder.receive(m, from: clientEndpoint, to: gatewayEndpoint, now: lab.now)
                #expect(a.sent.count <= 1)
            }
        }
        let initAnswer = lab.responder.receive(initRequest, from: clientEndpoint, to: gatewayEndpoint, now: lab.now).sent[0]
        let auth = lab.initiator.receive(initAnswer, from: gatewayEndpoint, now: lab.now).sent[0]
        for i in 0..<auth.count {
            var m = auth
            m[i] ^= 0x5A
            let a = lab.responder.receive(m, from: clientEndpoint, to: gatewayEndpoint, now: lab.now)
            #expect(a.established.isEmpty)
            // Only a header mutation can earn an answer: the unauthenticated version notice (§2.5).
            for reply in a.sent { #expect(plainNotifies(reply) == [.invalidMajorVersion]) }
        }
        // The untouched request still works after all that.
        lab.pumpFromResponder(lab.responder.receive(auth, from: clientEndpoint, to: gatewayEndpoint, now: lab.now))
        #expect(lab.initiator.isEstablished)
    }

    /// Pseudo-random garbage (deterministic LCG) of many lengths, with and without a valid
    /// looking header, to both roles in every state.
    @Test func randomGarbage() {
        var lab = Ladder()
        lab.establish()
        let id = lab.initiator.ikeSA!.id
        var seed: UInt64 = 0x9E3779B97F4A7C15
        func next() -> UInt8 {
            seed = seed &* 6364136223846793005 &+ 1442695040888963407
            return UInt8(truncatingIfNeeded: seed >> 33)
        }
        for length in [0, 1, 4, 27, 28, 29, 32, 60, 100, 300, 1500] {
            for variant in 0..<3 {
                var g = (0..<length).map { _ in next() }
                if variant > 0, length >= 28 {
                    // A plausible header for the established SA: right SPIs, version, length.
                    let header = IKEHeader(spiI: id.spiI, spiR: id.spiR, nextPayload: variant == 1 ? .encrypted : .notify,
                                           exchange: .informational, flags: [.initiator], messageID: 2, length: UInt32(length))
                    var h: [UInt8] = []
                    header.serialize(into: &h)
                    g.replaceSubrange(0..<28, with: h)
                }
                let r = lab.responder.receive(g, from: clientEndpoint, to: gatewayEndpoint, now: lab.now)
                #expect(r.sent.isEmpty || variant == 0)
                _ = lab.initiator.receive(g, from: gatewayEndpoint, now: lab.now)
            }
        }
        #expect(lab.responder.establishedCount == 1)
        lab.pump(lab.initiator.checkLiveness(now: lab.now))
        #expect(lab.initiatorActions.drops.isEmpty)
    }

    /// Appends a raw payload to the end of a message's chain, fixing Next Payload and Length.
    static func appendingRawPayload(_ message: [UInt8], type: UInt8, critical: Bool, body: [UInt8]) -> [UInt8] {
        var m = message
        var nextField = 16                         // the header's Next Payload octet
        var offset = IKEHeader.length
        while m[nextField] != 0 {
            nextField = offset
            offset += Int(m[offset + 2]) << 8 | Int(m[offset + 3])
        }
        m[nextField] = type
        m += [0, critical ? 0x80 : 0, UInt8((body.count + 4) >> 8), UInt8((body.count + 4) & 0xFF)] + body
        m.replaceSubrange(24..<28, with: [0, 0, UInt8(m.count >> 8), UInt8(m.count & 0xFF)])
        return m
    }

    @Test func unknownCriticalPayloadInIKESAInit() throws {
        var lab = Ladder()
        let request = lab.initiator.start(now: lab.now).sent[0]
        let critical = Self.appendingRawPayload(request, type: 200, critical: true, body: [1, 2, 3, 4])
        let answer = lab.responder.receive(critical, from: clientEndpoint, to: gatewayEndpoint, now: lab.now).sent
        #expect(answer.count == 1)
        let notify = try #require(try IKEMessage.parse(answer[0]).payloads.notifies.first)
        #expect(notify.type == .unsupportedCriticalPayload)
        #expect(notify.data == [200])                         // §3.10.1: the payload type
        #expect(lab.responder.halfOpenCount == 0)
        // The same payload without the critical bit is skipped and the exchange proceeds.
        let skipped = Self.appendingRawPayload(request, type: 200, critical: false, body: [1, 2, 3, 4])
        let ok = lab.responder.receive(skipped, from: clientEndpoint, to: gatewayEndpoint, now: lab.now).sent
        #expect(try IKEMessage.parse(ok[0]).payloads.securityAssociation != nil)
    }

    @Test func unknownCriticalPayloadInsideSK() throws {
        var lab = Ladder()
        lab.establish()
        // INFORMATIONAL {PAYLOAD(200, critical)} -->  <-- INFORMATIONAL {N(UNSUPPORTED_CRITICAL_PAYLOAD, 200)}
        let before = lab.initiatorActions.count
        lab.pump(lab.initiator.sendInformational([.opaque(type: PayloadType(rawValue: 200), body: [1, 2, 3])], now: lab.now))
        #expect(Array(lab.initiatorActions[before...]).failures == [.notified(.unsupportedCriticalPayload)])
        #expect(lab.responder.establishedCount == 1)
        // The window moved on: the next request works.
        lab.pump(lab.initiator.checkLiveness(now: lab.now))
        #expect(Array(lab.initiatorActions[before...]).failures.count == 1)
        #expect(lab.initiatorActions.drops.isEmpty)
        // A CERT payload (recognised, not allowed in INFORMATIONAL) is INVALID_SYNTAX.
        lab.pump(lab.initiator.sendInformational([.opaque(type: .certificate, body: [4])], now: lab.now))
        #expect(Array(lab.initiatorActions[before...]).failures.last == .notified(.invalidSyntax))
    }

    @Test func higherMajorVersionIsAnsweredAndIKEv1Ignored() {
        var lab = Ladder()
        var request = lab.initiator.start(now: lab.now).sent[0]
        request[17] = 0x30
        let a = lab.responder.receive(request, from: clientEndpoint, to: gatewayEndpoint, now: lab.now)
        #expect(a.sent.count == 1)
        #expect(plainNotifies(a.sent[0]) == [.invalidMajorVersion])   // answered in version 2 (§2.5)
        request[17] = 0x10
        let b = lab.responder.receive(request, from: clientEndpoint, to: gatewayEndpoint, now: lab.now)
        #expect(b.sent.isEmpty && b.drops == [.notIKEv2])
    }

    @Test func outOfWindowRequestsAreDropped() throws {
        var lab = Ladder()
        lab.establish()
        let ping1 = lab.initiator.checkLiveness(now: lab.now).sent[0]
        var skipped = ping1
        skipped[23] = 9                      // MID 9: outside the window (§2.3)
        let a = lab.responder.receive(skipped, from: clientEndpoint, to: gatewayEndpoint, now: lab.now)
        #expect(a.sent.isEmpty && a.drops == [.outsideWindow])
        lab.pump([.send(ping1, to: gatewayEndpoint, from: clientEndpoint)])
        #expect(lab.initiatorActions.drops.isEmpty)
    }

    @Test func unknownSPIIsDropped() throws {
        var lab = Ladder()
        lab.establish()
        let ping = lab.initiator.checkLiveness(now: lab.now).sent[0]
        var other = IKEv2Responder(configuration: responderConfiguration(), crypto: openSSL)
        let a = other.receive(ping, from: clientEndpoint, to: gatewayEndpoint, now: lab.now)
        #expect(a == [.dropped(.unknownSPI)])
    }

    @Test func halfOpenTableIsBounded() {
        var rc = responderConfiguration()
        rc.maximumHalfOpen = 3
        rc.cookieThreshold = 100
        var responder = IKEv2Responder(configuration: rc, crypto: openSSL)
        var accepted = 0
        for n in 0..<6 {
            var initiator = IKEv2Initiator(configuration: initiatorConfiguration(), crypto: openSSL)
            let req = initiator.start(now: .zero).sent[0]
            let a = responder.receive(req, from: IKEEndpoint(IPv4Address(192, 0, 2, UInt8(20 + n)), 500), to: gatewayEndpoint, now: .zero)
            if !a.sent.isEmpty { accepted += 1 }
        }
        #expect(accepted == 3)
        #expect(responder.halfOpenCount == 3)
    }

    @Test func establishedTableIsBounded() {
        var rc = responderConfiguration()
        rc.maximumEstablished = 2
        var lab = Ladder(responder: rc)
        var results: [Bool] = []
        for n in 0..<3 {
            var config = initiatorConfiguration()
            config.local = IKEEndpoint(IPv4Address(192, 0, 2, UInt8(30 + n)), 500)
            lab.initiator = IKEv2Initiator(configuration: config, crypto: openSSL)
            lab.establish()
            results.append(lab.initiator.isEstablished)
        }
        #expect(results == [true, true, false])
        #expect(lab.responder.establishedCount == 2)
    }
}


@Suite("Hostile input in the established phase")
struct EstablishedPhaseRobustnessTests {
    /// Requests of every established-phase kind, as the initiator would send them.
    static func requests(_ lab: inout Ladder) throws -> [(String, [UInt8])] {
        let child = try #require(lab.initiator.childSAs.first)
        var copy = lab
        let ping = copy.initiator.checkLiveness(now: lab.now).sent[0]
        copy = lab
        let rekey = copy.initiator.rekeyChildSA(inboundSPI: child.inboundSPI, pfs: .curve25519, now: lab.now).sent[0]
        copy = lab
        let ikeRekey = copy.initiator.rekeyIKESA(now: lab.now).sent[0]
        copy = lab
        let delete = copy.initiator.deleteChildSA(inboundSPI: child.inboundSPI, now: lab.now).sent[0]
        return [("liveness", ping), ("child rekey", rekey), ("IKE rekey", ikeRekey), ("delete", delete)]
    }

    /// Every prefix and every single-octet mutation of each request: the gateway drops it
    /// (integrity) or, for a few header octets, answers unauthenticated; its SA is unchanged
    /// and the genuine request still works afterwards.
    @Test func prefixesAndMutationsOfEveryRequest() throws {
        var lab = Ladder()
        lab.establish()
        let id = try #require(lab.initiator.ikeSA).id
        for (name, request) in try Self.requests(&lab) {
            var responder = lab.responder
            for n in 0..<request.count {
                let a = responder.receive(Array(request.prefix(n)), from: clientEndpoint, to: gatewayEndpoint, now: lab.now)
                #expect(a.sent.isEmpty, "\(name) prefix \(n)")
            }
            for i in 0..<request.count {
                var m = request
                m[i] ^= 0xA5
                let a = responder.receive(m, from: clientEndpoint, to: gatewayEndpoint, now: lab.now)
                #expect(a.installed.isEmpty && a.deletedChildren.isEmpty && a.deletedIKESAs.isEmpty, "\(name) octet \(i)")
                for reply in a.sent { #expect(plainNotifies(reply) == [.invalidMajorVersion], "\(name) octet \(i)") }
            }
            #expect(responder.childSAs(of: id).count == 1)
            let genuine = responder.receive(request, from: clientEndpoint, to: gatewayEndpoint, now: lab.now)
            #expect(genuine.sent.count == 1, "\(name) after the noise")
        }
    }

    /// Mutated and truncated answers to the initiator's own requests never change its state.
    @Test func mutatedResponsesToTheInitiator() throws {
        var lab = Ladder()
        lab.establish()
        let child = try #require(lab.initiator.childSAs.first)
        let request = lab.initiator.rekeyChildSA(inboundSPI: child.inboundSPI, now: lab.now).sent[0]
        let answer = lab.responder.receive(request, from: clientEndpoint, to: gatewayEndpoint, now: lab.now).sent[0]
        for i in 0..<answer.count {
            var m = answer
            m[i] ^= 0x3C
            let a = lab.initiator.receive(m, from: gatewayEndpoint, now: lab.now)
            #expect(a.installed.isEmpty && a.sent.isEmpty, "octet \(i)")
            _ = lab.initiator.receive(Array(answer.prefix(i)), from: gatewayEndpoint, now: lab.now)
        }
        #expect(lab.initiator.childSAs == [child])
        let a = lab.initiator.receive(answer, from: gatewayEndpoint, now: lab.now)
        #expect(a.installed.count == 1)
    }

    /// Mutated IKE_AUTH answers: nothing is established from a forged or damaged message.
    @Test func mutatedIKEAuthResponses() throws {
        var lab = Ladder()
        let initRequest = lab.initiator.start(now: lab.now).sent[0]
        let initAnswer = lab.responder.receive(initRequest, from: clientEndpoint, to: gatewayEndpoint, now: lab.now).sent[0]
        let auth = lab.initiator.receive(initAnswer, from: gatewayEndpoint, now: lab.now).sent[0]
        let authAnswer = lab.responder.receive(auth, from: clientEndpoint, to: gatewayEndpoint, now: lab.now).sent[0]
        for i in 0..<authAnswer.count {
            var m = authAnswer
            m[i] ^= 0x81
            var initiator = lab.initiator
            let a = initiator.receive(m, from: gatewayEndpoint, now: lab.now)
            #expect(a.established.isEmpty, "octet \(i)")
        }
        _ = lab.initiator.receive(authAnswer, from: gatewayEndpoint, now: lab.now)
        #expect(lab.initiator.isEstablished)
    }
}

/// A deterministic mutation campaign over every message of a full ladder (IKE_SA_INIT,
/// IKE_AUTH, liveness, Child rekey with PFS, IKE rekey, deletes): multi-octet flips, splices,
/// truncations and extensions, fed to both roles. Nothing may trap, and nothing the fuzzer
/// made may establish, install or delete anything.
@Suite("Mutation campaign")
struct MutationCampaignTests {
    struct LCG {
        var state: UInt64
        mutating func next() -> UInt64 {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return state >> 17
        }
        mutating func below(_ n: Int) -> Int { n <= 0 ? 0 : Int(next() % UInt64(n)) }
    }

    static func mutate(_ input: [UInt8], _ rng: inout LCG, corpus: [[UInt8]]) -> [UInt8] {
        var m = input
        switch rng.below(6) {
        case 0:
            for _ in 0...rng.below(4) where !m.isEmpty { m[rng.below(m.count)] ^= UInt8(truncatingIfNeeded: rng.next() | 1) }
        case 1:
            m = Array(m.prefix(rng.below(m.count + 1)))
        case 2:
            m += (0..<rng.below(64)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
        case 3:
            // Splice the tail of another message after our prefix.
            let other = corpus[rng.below(corpus.count)]
            m = Array(m.prefix(rng.below(m.count + 1))) + other.suffix(rng.below(other.count + 1))
        case 4:
            // Set a 16-bit field to an extreme (lengths, counts).
            if m.count > 2 {
                let i = rng.below(m.count - 1)
                let v: UInt16 = [0, 1, 3, 4, 0x7FFF, 0xFFFF][rng.below(6)]
                m[i] = UInt8(v >> 8)
                m[i + 1] = UInt8(v & 0xFF)
            }
        default:
            if m.count > 28 { m.removeSubrange(28 + rng.below(m.count - 28)..<m.count) }
            m.replaceSubrange(24..<min(28, m.count), with: [0, 0, UInt8(m.count >> 8 & 0xFF), UInt8(m.count & 0xFF)].prefix(min(28, m.count) - min(24, m.count)))
        }
        return m
    }

    /// Each genuine datagram of the ladder is first truncated to every shorter length and
    /// mutated 400 times, against copies of the machine about to receive it (so protected
    /// messages meet the right keys and windows).
    @Test func mutationsAtEveryStep() {
        var rng = LCG(state: 0xC0FFEE)
        var seen: [[UInt8]] = []
        var inputs = 0, answered = 0, established = 0, changed = 0
        var lab = Ladder()
        lab.beforeDelivery = { toResponder, genuine, initiator, responder in
            seen.append(genuine)
            // Every strict prefix first, then random mutations.
            let prefixes = (0..<genuine.count).map { Array(genuine.prefix($0)) }
            let mutations = (0..<400).map { _ in Self.mutate(genuine, &rng, corpus: seen) }
            for m in prefixes + mutations {
                if m == genuine { continue }
                inputs += 1
                if toResponder {
                    var r = responder
                    let a = r.receive(m, from: clientEndpoint, to: gatewayEndpoint, now: .seconds(100))
                    if !a.installed.isEmpty || !a.deletedChildren.isEmpty || !a.established.isEmpty { changed += 1 }
                    if r.establishedCount != responder.establishedCount { established += 1 }
                    answered += a.sent.isEmpty ? 0 : 1
                } else {
                    var i = initiator
                    let a = i.receive(m, from: gatewayEndpoint, now: .seconds(100))
                    if !a.installed.isEmpty || !a.deletedChildren.isEmpty || !a.established.isEmpty { changed += 1 }
                }
            }
        }
        lab.establish()
        let child = lab.initiator.childSAs[0]
        lab.pump(lab.initiator.checkLiveness(now: lab.now))
        lab.pump(lab.initiator.rekeyChildSA(inboundSPI: child.inboundSPI, pfs: .curve25519, now: lab.now))
        lab.pump(lab.initiator.rekeyIKESA(now: lab.now))
        lab.pump(lab.initiator.delete(now: lab.now))
        #expect(seen.count == 16)        // INIT, AUTH, liveness, Child rekey + delete, IKE rekey + delete, delete
        #expect(inputs > 8000)
        #expect(changed == 0)
        #expect(established == 0)
        #expect(!lab.initiator.isEstablished && lab.responder.establishedCount == 0)   // the genuine ladder completed
        print("mutation campaign: \(inputs) inputs at \(seen.count) steps, \(answered) unauthenticated answers, no state change")
    }
}
