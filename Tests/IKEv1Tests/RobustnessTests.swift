import IKE
import SLBWire
import Testing

/// Hostile input at every step of a full conversation: every prefix of every message (as
/// received and with the header length patched to match, so the payload parsers see the
/// truncation), and random mutations. Nothing may trap; the fuzzed side never gets stuck.
struct RobustnessTests {
    /// Deterministic generator (SplitMix64) so failures reproduce.
    struct SplitMix64 {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        mutating func below(_ n: Int) -> Int { Int(next() % UInt64(max(1, n))) }
    }

    static let mutationsPerMessage = 150

    /// The conversation: main mode, quick mode with PFS, DPD, child DELETE, ISAKMP DELETE.
    enum Phase: CaseIterable { case mainMode, quickMode, dpd, deleteChild, deleteISAKMP }

    static func begin(_ phase: Phase, _ lab: inout Ladder) {
        switch phase {
        case .mainMode: lab.enqueue(fromInitiator: lab.initiator.start(now: lab.now))
        case .quickMode: lab.enqueue(fromInitiator: lab.initiator.startQuickMode(now: lab.now))
        case .dpd: lab.enqueue(fromInitiator: lab.initiator.probePeer(now: lab.now))
        case .deleteChild:
            if let spi = lab.initiator.children.first?.child.inboundSPI {
                lab.enqueue(fromInitiator: lab.initiator.deleteChildSA(inboundSPI: spi, now: lab.now))
            }
        case .deleteISAKMP: lab.enqueue(fromInitiator: lab.initiator.deleteISAKMPSA(now: lab.now))
        }
    }

    /// Every strict prefix, as received and with the header Length patched to match.
    static func prefixes(of bytes: [UInt8]) -> [[UInt8]] {
        var out: [[UInt8]] = []
        for n in 0..<bytes.count {
            let prefix = Array(bytes.prefix(n))
            out.append(prefix)
            if n >= ISAKMPHeader.length {
                var patched = prefix
                patched[24] = UInt8(n >> 24 & 0xFF); patched[25] = UInt8(n >> 16 & 0xFF)
                patched[26] = UInt8(n >> 8 & 0xFF); patched[27] = UInt8(n & 0xFF)
                out.append(patched)
            }
        }
        return out
    }

    /// 1–4 random octets replaced.
    static func mutations(of bytes: [UInt8], rng: inout SplitMix64) -> [[UInt8]] {
        (0..<mutationsPerMessage).map { _ in
            var m = bytes
            for _ in 0..<(1 + rng.below(4)) { m[rng.below(m.count)] = UInt8(truncatingIfNeeded: rng.next()) }
            return m
        }
    }

    static func variants(of bytes: [UInt8], rng: inout SplitMix64) -> [[UInt8]] {
        prefixes(of: bytes) + mutations(of: bytes, rng: &rng)
    }

    static func deliver(_ bytes: [UInt8], like d: Datagram, to lab: inout Ladder) -> [IKEv1Action] {
        d.toResponder ? lab.responder.receive(bytes, from: d.from, to: d.to, now: lab.now)
                      : lab.initiator.receive(bytes, from: d.from, to: d.to, now: lab.now)
    }

    struct FuzzOutcome {
        /// The copy that saw every truncation of the message, then the genuine one, finished.
        var truncatedThenGenuineFinished: Bool
        /// The copy that saw random mutations still serves a brand-new peer (main + quick mode).
        var mutatedResponderServesNewPeer: Bool
    }

    /// Runs the whole conversation. Before message `fuzzIndex` is delivered, two copies of
    /// the ladder get hostile variants of it. Truncations can never be valid, so the first
    /// copy must still finish once the genuine message arrives. A mutation may be accepted
    /// (IKEv1 leaves header flags, padding and MM5's notify outside every HASH, and MM1–MM4
    /// are unauthenticated), so the second copy is only required to keep serving others.
    static func conversation(fuzzIndex: Int?, rng: inout SplitMix64) -> (Ladder, messages: Int, outcome: FuzzOutcome?) {
        var qm = QuickModePolicy.seeds
        qm.pfsGroup = .modp1024
        var lab = Ladder(initiator: initiatorConfiguration(quickMode: qm))
        var index = 0
        var outcome: FuzzOutcome?
        for phase in Phase.allCases {
            begin(phase, &lab)
            while let d = lab.next() {
                if index == fuzzIndex {
                    var truncated = lab
                    for v in prefixes(of: d.bytes) { _ = deliver(v, like: d, to: &truncated) }
                    truncated.deliver(d)
                    truncated.run()
                    var mutated = lab
                    for v in mutations(of: d.bytes, rng: &rng) { _ = deliver(v, like: d, to: &mutated) }
                    outcome = FuzzOutcome(truncatedThenGenuineFinished: finish(from: phase, &truncated),
                                          mutatedResponderServesNewPeer: servesNewPeer(mutated.responder, now: lab.now))
                }
                lab.deliver(d)
                index += 1
            }
        }
        return (lab, index, outcome)
    }

    static func servesNewPeer(_ responder: IKEv1Responder, now: MonotonicTime) -> Bool {
        var other = Ladder(initiator: initiatorConfiguration(local: IKEEndpoint(IPv4Address(192, 0, 2, 99), 500)))
        other.responder = responder
        other.now = now
        other.mainMode()
        other.quickMode()
        return other.initiatorActions.installed.count == 1 && other.responderActions.installed.count == 1
    }

    /// Continues a ladder after `phase` and says whether it reached the expected end.
    static func finish(from phase: Phase, _ lab: inout Ladder) -> Bool {
        var started = false
        for p in Phase.allCases {
            if started { begin(p, &lab); lab.run() }
            if p == phase { started = true }
        }
        return isExpectedEnd(lab)
    }

    static func isExpectedEnd(_ lab: Ladder) -> Bool {
        lab.initiatorActions.established.count == 1 && lab.responderActions.established.count == 1
            && lab.initiatorActions.installed.count == 1 && lab.responderActions.installed.count == 1
            && lab.initiatorActions.alive == 1
            && lab.responderActions.deletedChildren.map(\.1) == [.deletedByPeer]
            && lab.responderActions.deletedISAKMP == [.deletedByPeer] && lab.responder.count == 0
    }

    @Test func referenceConversation() {
        var rng = SplitMix64(state: 1)
        let (lab, messages, _) = Self.conversation(fuzzIndex: nil, rng: &rng)
        // 6 main mode + 3 quick mode + 2 DPD + 1 + 1 deletes.
        #expect(messages == 13)
        #expect(Self.isExpectedEnd(lab))
    }

    @Test(arguments: 0..<13)
    func hostileInputAtStep(step: Int) {
        var rng = SplitMix64(state: UInt64(step) &+ 0x5EED)
        let (lab, _, outcome) = Self.conversation(fuzzIndex: step, rng: &rng)
        #expect(Self.isExpectedEnd(lab))
        #expect(outcome?.truncatedThenGenuineFinished == true)
        #expect(outcome?.mutatedResponderServesNewPeer == true)
    }

    /// A fresh responder fed every prefix and mutation of every message of a conversation.
    @Test func freshResponderSurvivesEverything() {
        var rng = SplitMix64(state: 42)
        var lab = Ladder()
        for phase in Phase.allCases { Self.begin(phase, &lab); lab.run() }
        var fresh = IKEv1Responder(configuration: responderConfiguration(), crypto: openSSL)
        for d in lab.wire {
            for v in Self.variants(of: d.bytes, rng: &rng) {
                _ = fresh.receive(v, from: clientEndpoint, to: gatewayEndpoint, now: .seconds(1))
            }
        }
        // Only MM1-like messages can open state, and that state expires.
        _ = fresh.handleTimers(now: .seconds(1000))
        #expect(fresh.count == 0)
    }

    @Test func randomGarbageIsDropped() {
        var rng = SplitMix64(state: 7)
        var responder = IKEv1Responder(configuration: responderConfiguration(), crypto: openSSL)
        for _ in 0..<2000 {
            let n = rng.below(400)
            var bytes = (0..<n).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            if bytes.count >= ISAKMPHeader.length, rng.below(2) == 0 {
                bytes[17] = ISAKMPHeader.version
                bytes[24] = 0; bytes[25] = 0; bytes[26] = UInt8(n >> 8); bytes[27] = UInt8(n & 0xFF)
            }
            let a = responder.receive(bytes, from: clientEndpoint, to: gatewayEndpoint, now: .seconds(1))
            #expect(a.installed.isEmpty && a.established.isEmpty)
        }
    }
}
