import IPsecCrypto

/// Responder-side proposal selection (RFC 7296 §2.7, §3.3.6) and the initiator's check of
/// the answer. Decisions: proposals are walked in the initiator's order and, within a
/// proposal, the initiator's first acceptable transform of each type is taken (§2.7 leaves
/// the choice to the responder; honouring the initiator's order is what strongSwan does by
/// default). A proposal whose DH list holds the KE group is preferred over an earlier one
/// that would cost an INVALID_KE_PAYLOAD round trip.
public enum ProposalSelection {
    /// How a proposal's DH transforms are judged.
    public enum DHRule: Sendable {
        /// IKE SA: a group is mandatory and should equal the KE payload's (§1.2).
        case mustMatchKE(UInt16?)
        /// Child SA in IKE_AUTH: no KE is possible, DH transforms are ignored (§1.2, spec 1.2).
        case ignore
        /// CREATE_CHILD_SA: with a KE the group must be offered and match; without one, the
        /// proposal must allow NONE or offer no DH (§1.3.1).
        case pfs(UInt16?)
    }

    public enum Outcome: Hashable, Sendable {
        case chosen(Proposal, Match)
        /// §1.2: an acceptable proposal exists, but the KE payload uses another group.
        case invalidKE(preferred: DHGroup)
        case noProposalChosen
    }

    public struct Match: Hashable, Sendable {
        public var cipher: CipherChoice
        public var prf: PRFAlgorithm?
        public var integrity: IntegrityAlgorithm?
        public var dhGroup: DHGroup?
        /// The transforms to echo, one per type, Key Length attribute kept (§3.3.6).
        public var transforms: [Transform]

        public var ikeSuite: IKESuite? {
            guard let prf, let dhGroup else { return nil }
            return IKESuite(encryption: cipher.algorithm, keyLength: cipher.keyBits / 8, prf: prf,
                            integrity: integrity, dhGroup: dhGroup)
        }
        public var espSuite: ESPSuite {
            ESPSuite(encryption: cipher.algorithm, keyLength: cipher.keyBits / 8, integrity: integrity, dhGroup: dhGroup)
        }
    }

    /// Chooses one proposal of `protocolID` from `offer`. The returned proposal has the
    /// offered number and no SPI; the caller sets its own SPI.
    public static func select(_ offer: SecurityAssociationPayload, protocolID: ProtocolID,
                              policy: ProposalPolicy, dh: DHRule) -> Outcome {
        var firstWithOtherGroup: DHGroup?
        for proposal in offer.proposals where proposal.protocolID == protocolID {
            switch match(proposal, policy: policy, dh: dh) {
            case .matched(let m):
                let answer = Proposal(number: proposal.number, protocolID: protocolID, transforms: m.transforms)
                return .chosen(answer, m)
            case .needsGroup(let g):
                if firstWithOtherGroup == nil { firstWithOtherGroup = g }
            case .unacceptable:
                continue
            }
        }
        if let g = firstWithOtherGroup { return .invalidKE(preferred: g) }
        return .noProposalChosen
    }

    enum ProposalMatch {
        case matched(Match)
        case needsGroup(DHGroup)
        case unacceptable
    }

    static func acceptableCipher(_ t: Transform, _ policy: ProposalPolicy) -> CipherChoice? {
        guard let alg = EncryptionAlgorithm(rawValue: t.id) else { return nil }
        // §3.3.6: a transform with an attribute we do not understand is rejected.
        guard t.attributes.allSatisfy({ $0.type == TransformAttribute.keyLengthType }) else { return nil }
        let bits: Int
        switch alg {
        case .tripleDESCBC:
            guard t.keyLength == nil else { return nil }
            bits = 192
        case .aesCBC, .aesGCM16:
            // RFC 3602/5282 via §3.3.5: AES always carries a Key Length attribute.
            guard let k = t.keyLength else { return nil }
            bits = k
        }
        let choice = CipherChoice(alg, bits)
        return policy.ciphers.contains(choice) ? choice : nil
    }

    static func match(_ p: Proposal, policy: ProposalPolicy, dh: DHRule) -> ProposalMatch {
        guard let (encT, cipher) = p.transforms(of: .encryption).lazy
            .compactMap({ t in acceptableCipher(t, policy).map { (t, $0) } }).first
        else { return .unacceptable }
        var transforms = [encT]
        var prf: PRFAlgorithm?
        if p.protocolID == .ike {
            guard let t = p.transforms(of: .prf).first(where: { PRFAlgorithm(rawValue: $0.id).map(policy.prfs.contains) ?? false }),
                  t.attributes.isEmpty
            else { return .unacceptable }
            prf = PRFAlgorithm(rawValue: t.id)
            transforms.append(t)
        }
        var integrity: IntegrityAlgorithm?
        let integ = p.transforms(of: .integrity)
        if cipher.algorithm.isAEAD {
            // RFC 5282 §8: with AEAD INTEG is absent or NONE; echo NONE if offered (libreswan).
            guard integ.allSatisfy({ $0.id == 0 }) else {
                // Mixed AEAD + INTEG proposals are malformed for AEAD; skip the AEAD cipher.
                return .unacceptable
            }
            if let none = integ.first { transforms.append(none) }
        } else {
            guard let t = integ.first(where: { IntegrityAlgorithm(rawValue: $0.id).map(policy.integrity.contains) ?? false }),
                  t.attributes.isEmpty
            else { return .unacceptable }
            integrity = IntegrityAlgorithm(rawValue: t.id)
            transforms.append(t)
        }
        var group: DHGroup?
        let groups = p.transforms(of: .keyExchange)
        let acceptable = groups.compactMap { DHGroup(rawValue: $0.id) }.filter(policy.dhGroups.contains)
        switch dh {
        case .mustMatchKE(let ke):
            guard !acceptable.isEmpty else { return .unacceptable }
            if let ke, let g = acceptable.first(where: { $0.rawValue == ke }) {
                group = g
            } else {
                let preferred = policy.dhGroups.first(where: acceptable.contains) ?? acceptable[0]
                return .needsGroup(preferred)
            }
        case .ignore:
            break
        case .pfs(let ke):
            if let ke {
                if let g = acceptable.first(where: { $0.rawValue == ke }) {
                    group = g
                } else if let preferred = policy.dhGroups.first(where: acceptable.contains) {
                    return .needsGroup(preferred)
                } else {
                    return .unacceptable
                }
            } else if !(groups.isEmpty || groups.contains { $0.id == 0 }) {
                return .unacceptable
            }
        }
        if let group, let t = groups.first(where: { $0.id == group.rawValue }) { transforms.append(t) }
        if p.protocolID == .esp {
            // §3.3.2: ESN 0 (no) is the only one we do; a missing ESN transform means no ESN.
            let esn = p.transforms(of: .extendedSequenceNumbers)
            if !esn.isEmpty {
                guard let t = esn.first(where: { $0.id == 0 }) else { return .unacceptable }
                transforms.append(t)
            }
        }
        return .matched(Match(cipher: cipher, prf: prf, integrity: integrity, dhGroup: group, transforms: transforms))
    }

    /// Builds an offer from a policy: one AEAD and one non-AEAD proposal, as strongSwan's
    /// default does (§3.3: AEAD and non-AEAD ciphers may not share a proposal).
    public static func offer(_ policy: ProposalPolicy, protocolID: ProtocolID, spi: [UInt8] = [],
                             dhGroups: [DHGroup]? = nil) -> SecurityAssociationPayload {
        var proposals: [Proposal] = []
        let groups = dhGroups ?? (protocolID == .ike ? policy.dhGroups : [])
        for aead in [true, false] {
            let ciphers = policy.ciphers.filter { $0.algorithm.isAEAD == aead }
            guard !ciphers.isEmpty else { continue }
            var t: [Transform] = ciphers.map { c in
                c.algorithm == .tripleDESCBC ? Transform(type: .encryption, id: c.algorithm.rawValue)
                    : Transform(type: .encryption, id: c.algorithm.rawValue, keyLength: c.keyBits)
            }
            if protocolID == .ike { t += policy.prfs.map { Transform(type: .prf, id: $0.rawValue) } }
            if !aead { t += policy.integrity.map { Transform(type: .integrity, id: $0.rawValue) } }
            t += groups.map { Transform(type: .keyExchange, id: $0.rawValue) }
            if protocolID == .esp { t.append(Transform(type: .extendedSequenceNumbers, id: 0)) }
            proposals.append(Proposal(number: UInt8(proposals.count + 1), protocolID: protocolID, spi: spi, transforms: t))
        }
        return SecurityAssociationPayload(proposals: proposals)
    }

    /// Initiator side (§2.7): the answer must be exactly one proposal, one we offered, with
    /// one transform per type taken from that offered proposal.
    public static func checkAnswer(_ answer: SecurityAssociationPayload, offer: SecurityAssociationPayload,
                                   policy: ProposalPolicy, dh: DHRule) -> (Proposal, Match)? {
        guard answer.proposals.count == 1, let a = answer.proposals.first,
              let offered = offer.proposals.first(where: { $0.number == a.number && $0.protocolID == a.protocolID })
        else { return nil }
        var seen: Set<TransformType> = []
        for t in a.transforms {
            guard seen.insert(t.type).inserted, offered.transforms.contains(t) else { return nil }
        }
        guard case .matched(let m) = match(a, policy: policy, dh: dh) else { return nil }
        return (a, m)
    }
}
