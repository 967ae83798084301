import IKE
import IPsecCrypto
import SLBWire
import Testing

@Suite("Proposal selection (RFC 7296 §2.7, §3.3.6)")
struct ProposalSelectionTests {
    static func t(_ type: TransformType, _ id: UInt16, _ bits: Int? = nil) -> Transform {
        bits.map { Transform(type: type, id: id, keyLength: $0) } ?? Transform(type: type, id: id)
    }

    /// strongSwan 5.9 `proposals = default` (spec §1.3): non-AEAD then AEAD, KE X25519.
    static let strongSwanDefault = SecurityAssociationPayload(proposals: [
        Proposal(number: 1, protocolID: .ike, transforms: [
            t(.encryption, 12, 128), t(.encryption, 12, 192), t(.encryption, 12, 256),
            t(.integrity, 12), t(.integrity, 13), t(.integrity, 14), t(.integrity, 2),
            t(.prf, 5), t(.prf, 6), t(.prf, 7), t(.prf, 2),
            t(.keyExchange, 31), t(.keyExchange, 32), t(.keyExchange, 19), t(.keyExchange, 20), t(.keyExchange, 15), t(.keyExchange, 14),
        ]),
        Proposal(number: 2, protocolID: .ike, transforms: [
            t(.encryption, 20, 128), t(.encryption, 20, 192), t(.encryption, 20, 256),
            t(.prf, 5), t(.prf, 6), t(.prf, 7), t(.prf, 2),
            t(.keyExchange, 31), t(.keyExchange, 19), t(.keyExchange, 14),
        ]),
    ])

    /// libreswan 4.10 default (spec §1.3): AEAD first with INTEG omitted, KE MODP2048.
    static let libreswanDefault = SecurityAssociationPayload(proposals: [
        Proposal(number: 1, protocolID: .ike, transforms: [
            t(.encryption, 20, 256), t(.prf, 7), t(.prf, 5),
            t(.keyExchange, 14), t(.keyExchange, 15), t(.keyExchange, 19), t(.keyExchange, 31),
        ]),
        Proposal(number: 2, protocolID: .ike, transforms: [
            t(.encryption, 12, 256), t(.integrity, 14), t(.integrity, 12), t(.prf, 7), t(.prf, 5),
            t(.keyExchange, 14), t(.keyExchange, 19), t(.keyExchange, 31),
        ]),
    ])

    static let cases: [(String, SecurityAssociationPayload, UInt16, IKESuite?)] = [
        ("strongSwan default, KE X25519", strongSwanDefault, 31,
         IKESuite(encryption: .aesCBC, keyLength: 16, prf: .hmacSHA256, integrity: .hmacSHA256_128, dhGroup: .curve25519)),
        ("strongSwan default, KE ECP256", strongSwanDefault, 19,
         IKESuite(encryption: .aesCBC, keyLength: 16, prf: .hmacSHA256, integrity: .hmacSHA256_128, dhGroup: .ecp256)),
        ("libreswan default, KE MODP2048", libreswanDefault, 14,
         IKESuite(encryption: .aesGCM16, keyLength: 32, prf: .hmacSHA512, integrity: nil, dhGroup: .modp2048)),
    ]

    @Test("common client defaults are chosen without an INVALID_KE round trip", arguments: cases)
    func chooses(_ c: (String, SecurityAssociationPayload, UInt16, IKESuite?)) throws {
        let outcome = ProposalSelection.select(c.1, protocolID: .ike, policy: .gatewayIKE, dh: .mustMatchKE(c.2))
        guard case .chosen(let proposal, let match) = outcome else {
            Issue.record("\(c.0): \(outcome)")
            return
        }
        #expect(match.ikeSuite == c.3, "\(c.0)")
        #expect(proposal.spi.isEmpty)
        // One transform per type, Key Length echoed (§3.3.6).
        #expect(Set(proposal.transforms.map(\.type)).count == proposal.transforms.count)
        #expect(proposal.transforms.first?.keyLength == (c.3?.keyLength ?? 0) * 8)
    }

    @Test func keGroupNotInAnyProposalAsksForOurPreferredOffered() {
        // KE MODP3072 (15) is offered but not acceptable to us; X25519 is our first choice.
        let outcome = ProposalSelection.select(Self.strongSwanDefault, protocolID: .ike, policy: .gatewayIKE, dh: .mustMatchKE(15))
        #expect(outcome == .invalidKE(preferred: .curve25519))
    }

    @Test func laterProposalWithTheKEGroupBeatsAnEarlierOne() {
        let offer = SecurityAssociationPayload(proposals: [
            Proposal(number: 1, protocolID: .ike, transforms: [Self.t(.encryption, 12, 128), Self.t(.integrity, 12), Self.t(.prf, 5), Self.t(.keyExchange, 14)]),
            Proposal(number: 2, protocolID: .ike, transforms: [Self.t(.encryption, 12, 256), Self.t(.integrity, 12), Self.t(.prf, 5), Self.t(.keyExchange, 19)]),
        ])
        guard case .chosen(let p, _) = ProposalSelection.select(offer, protocolID: .ike, policy: .gatewayIKE, dh: .mustMatchKE(19)) else {
            Issue.record("nothing chosen")
            return
        }
        #expect(p.number == 2)
    }

    static let refused: [(String, [Transform])] = [
        ("3DES only", [t(.encryption, 3), t(.integrity, 2), t(.prf, 2), t(.keyExchange, 14)]),
        ("AES without key length", [t(.encryption, 12), t(.integrity, 12), t(.prf, 5), t(.keyExchange, 14)]),
        ("AES-192", [t(.encryption, 12, 192), t(.integrity, 12), t(.prf, 5), t(.keyExchange, 14)]),
        ("no PRF", [t(.encryption, 12, 128), t(.integrity, 12), t(.keyExchange, 14)]),
        ("no integrity for CBC", [t(.encryption, 12, 128), t(.prf, 5), t(.keyExchange, 14)]),
        ("GCM with a real integrity transform", [t(.encryption, 20, 128), t(.integrity, 12), t(.prf, 5), t(.keyExchange, 14)]),
        ("MODP1024 only", [t(.encryption, 12, 128), t(.integrity, 12), t(.prf, 5), t(.keyExchange, 2)]),
        ("unknown attribute", [Transform(type: .encryption, id: 12, attributes: [.keyLength(128), TransformAttribute(type: 99, value: .short(1))]),
                               t(.integrity, 12), t(.prf, 5), t(.keyExchange, 14)]),
    ]

    @Test("unacceptable proposals give NO_PROPOSAL_CHOSEN", arguments: refused)
    func refuses(_ c: (String, [Transform])) {
        let offer = SecurityAssociationPayload(proposals: [Proposal(number: 1, protocolID: .ike, transforms: c.1)])
        #expect(ProposalSelection.select(offer, protocolID: .ike, policy: .gatewayIKE, dh: .mustMatchKE(14)) == .noProposalChosen, "\(c.0)")
    }

    /// RFC 5282 §8 allows INTEG NONE next to an AEAD cipher; it is echoed (libreswan does).
    @Test func integrityNoneWithAEADIsEchoed() {
        let offer = SecurityAssociationPayload(proposals: [Proposal(number: 1, protocolID: .ike, transforms: [
            Self.t(.encryption, 20, 256), Self.t(.prf, 5), Self.t(.integrity, 0), Self.t(.keyExchange, 31),
        ])])
        guard case .chosen(let p, let m) = ProposalSelection.select(offer, protocolID: .ike, policy: .gatewayIKE, dh: .mustMatchKE(31)) else {
            Issue.record("refused")
            return
        }
        #expect(p.transforms.contains(Self.t(.integrity, 0)))
        #expect(m.ikeSuite?.integrity == nil)
    }

    @Test func espWithExtendedSequenceNumbersOnlyIsRefused() {
        let offer = SecurityAssociationPayload(proposals: [Proposal(number: 1, protocolID: .esp, spi: [1, 2, 3, 4], transforms: [
            Self.t(.encryption, 20, 128), Self.t(.extendedSequenceNumbers, 1),
        ])])
        #expect(ProposalSelection.select(offer, protocolID: .esp, policy: .gatewayESP, dh: .ignore) == .noProposalChosen)
    }

    @Test func pfsRules() {
        let withDH = SecurityAssociationPayload(proposals: [Proposal(number: 1, protocolID: .esp, spi: [1, 2, 3, 4], transforms: [
            Self.t(.encryption, 20, 128), Self.t(.keyExchange, 19), Self.t(.extendedSequenceNumbers, 0),
        ])])
        // KE of the offered group → chosen with PFS; another group → INVALID_KE; no KE → refused.
        if case .chosen(_, let m) = ProposalSelection.select(withDH, protocolID: .esp, policy: .gatewayESP, dh: .pfs(19)) {
            #expect(m.espSuite.dhGroup == .ecp256)
        } else {
            Issue.record("PFS proposal refused")
        }
        #expect(ProposalSelection.select(withDH, protocolID: .esp, policy: .gatewayESP, dh: .pfs(31)) == .invalidKE(preferred: .ecp256))
        #expect(ProposalSelection.select(withDH, protocolID: .esp, policy: .gatewayESP, dh: .pfs(nil)) == .noProposalChosen)
        // In IKE_AUTH DH is ignored (spec §1.2: initiators strip it anyway).
        if case .chosen(let p, _) = ProposalSelection.select(withDH, protocolID: .esp, policy: .gatewayESP, dh: .ignore) {
            #expect(!p.transforms.contains { $0.type == .keyExchange })
        } else {
            Issue.record("IKE_AUTH ESP proposal refused")
        }
    }

    @Test func initiatorRejectsAnAnswerItDidNotOffer() {
        let offer = ProposalSelection.offer(.gatewayIKE, protocolID: .ike)
        let forged = SecurityAssociationPayload(proposals: [Proposal(number: 1, protocolID: .ike, transforms: [
            Self.t(.encryption, 20, 192), Self.t(.prf, 5), Self.t(.keyExchange, 31),
        ])])
        #expect(ProposalSelection.checkAnswer(forged, offer: offer, policy: .gatewayIKE, dh: .mustMatchKE(31)) == nil)
        let two = SecurityAssociationPayload(proposals: offer.proposals)
        #expect(ProposalSelection.checkAnswer(two, offer: offer, policy: .gatewayIKE, dh: .mustMatchKE(31)) == nil)
    }
}

@Suite("Traffic selector narrowing (RFC 7296 §2.9)")
struct NarrowingTests {
    static let a = IPv4Address(198, 51, 100, 129)
    static let cases: [(String, TrafficSelector, TrafficSelector, TrafficSelector?)] = [
        ("any ∩ host = host", .anyIPv4, .host(a), .host(a)),
        ("ports intersect", TrafficSelector(ipv4: a, a, ipProtocol: 17, ports: 500...4500),
         TrafficSelector(ipv4: IPv4Address(0), IPv4Address(UInt32.max), ipProtocol: 17, ports: 4000...5000),
         TrafficSelector(ipv4: a, a, ipProtocol: 17, ports: 4000...4500)),
        ("protocol 0 takes the other", TrafficSelector(network: IPv4Network(address: a, mask: IPv4Mask(prefixLength: 24)!)),
         TrafficSelector(ipv4: a, a, ipProtocol: 6), TrafficSelector(ipv4: a, a, ipProtocol: 6)),
        ("different protocols", TrafficSelector(ipv4: a, a, ipProtocol: 6), TrafficSelector(ipv4: a, a, ipProtocol: 17), nil),
        ("disjoint addresses", .host(a), .host(IPv4Address(198, 51, 100, 130)), nil),
        ("disjoint ports", TrafficSelector(ipv4: a, a, ports: 1...10), TrafficSelector(ipv4: a, a, ports: 11...20), nil),
        ("IPv6 never", TrafficSelector(type: 8, ipProtocol: 0, startPort: 0, endPort: 65535,
                                       startAddress: Array(repeating: 0, count: 16), endAddress: Array(repeating: 0xFF, count: 16)),
         .anyIPv4, nil),
    ]

    @Test("intersection", arguments: cases)
    func intersection(_ c: (String, TrafficSelector, TrafficSelector, TrafficSelector?)) {
        #expect(TrafficSelectorNarrowing.intersect(c.1, c.2) == c.3, "\(c.0)")
        #expect(TrafficSelectorNarrowing.intersect(c.2, c.1) == c.3, "\(c.0) (commuted)")
    }

    @Test func tsUnacceptableFromTheResponder() {
        var rc = responderConfiguration()
        rc.child.remoteSelectors = [.host(IPv4Address(192, 0, 2, 99))]
        var config = initiatorConfiguration()
        config.child.localSelectors = [.host(clientAddress)]
        var lab = Ladder(initiator: config, responder: rc)
        lab.establish()
        #expect(lab.initiator.isEstablished)              // the IKE SA survives (§1.2)
        #expect(lab.responderActions.installed.isEmpty)
        #expect(lab.initiatorActions.installed.isEmpty)
    }
}

@Suite("Virtual address pool")
struct AddressPoolTests {
    @Test func allocatesReleasesAndExhausts() {
        var pool = AddressPool(network: IPv4Network(address: IPv4Address(198, 51, 100, 128), mask: IPv4Mask(prefixLength: 30)!))
        // /30: two usable hosts (.129, .130).
        #expect(pool.allocate(owner: 1) == IPv4Address(198, 51, 100, 129))
        #expect(pool.allocate(owner: 1) == IPv4Address(198, 51, 100, 129))   // idempotent per owner
        #expect(pool.allocate(owner: 2) == IPv4Address(198, 51, 100, 130))
        #expect(pool.allocate(owner: 3) == nil)
        pool.release(owner: 1)
        #expect(pool.allocate(owner: 3) == IPv4Address(198, 51, 100, 129))
        pool.move(from: 3, to: 4)
        #expect(pool.lease(of: 4) == IPv4Address(198, 51, 100, 129))
        #expect(pool.lease(of: 3) == nil)
        #expect(pool.leasedCount == 2)
    }
}

@Suite("CREATE_CHILD_SA answers")
struct CreateChildSATests {
    @Test func additionalChildSA() throws {
        var lab = Ladder()
        lab.establish()
        let child = try #require(lab.initiator.childSAs.first)
        // CREATE_CHILD_SA {SA, Ni, TSi, TSr} -->  <-- {SA, Nr, TSi, TSr}  (§1.3.1)
        lab.pump(lab.initiator.createChildSA(now: lab.now))
        #expect(lab.initiator.childSAs.count == 2)
        #expect(lab.initiator.childSAs.first == child)
        expectMirrored(try #require(lab.initiatorActions.installed.last), try #require(lab.responderActions.installed.last))
    }

    /// The gateway wants ECP256 for PFS; the client's KE is X25519 but it offers both:
    /// CREATE_CHILD_SA --> <-- N(INVALID_KE_PAYLOAD(19))  CREATE_CHILD_SA(KE 19) --> <-- ...
    @Test func pfsGroupMismatchIsRetriedWithTheRequestedGroup() throws {
        var rc = responderConfiguration()
        rc.child.esp.dhGroups = [.ecp256]
        var lab = Ladder(responder: rc)
        lab.establish()
        let child = try #require(lab.initiator.childSAs.first)
        let before = lab.wire.count
        lab.pump(lab.initiator.rekeyChildSA(inboundSPI: child.inboundSPI, pfs: .curve25519, now: lab.now))
        let answer = lab.wire[before + 1].bytes
        #expect(try IKEMessage.parse(answer).header.exchange == .createChildSA)
        let newChild = try #require(lab.initiatorActions.installed.last)
        #expect(newChild.suite.dhGroup == .ecp256)
        expectMirrored(newChild, try #require(lab.responderActions.installed.last))
        #expect(lab.wire.count == before + 6)              // refused, retried, old one deleted
        #expect(lab.initiator.childSAs == [newChild])
    }

    @Test func pfsGroupTheGatewayRefusesEntirelyIsNoProposalChosen() throws {
        var rc = responderConfiguration()
        rc.child.esp.dhGroups = [.ecp384]
        var ic = initiatorConfiguration()
        ic.child.esp.dhGroups = [.curve25519]
        var lab = Ladder(initiator: ic, responder: rc)
        lab.establish()
        let child = try #require(lab.initiator.childSAs.first)
        let before = lab.initiatorActions.count
        lab.pump(lab.initiator.rekeyChildSA(inboundSPI: child.inboundSPI, pfs: .curve25519, now: lab.now))
        #expect(Array(lab.initiatorActions[before...]).failures == [.notified(.noProposalChosen)])
        #expect(lab.initiator.childSAs == [child])                // the old SA stays in use
    }
}
