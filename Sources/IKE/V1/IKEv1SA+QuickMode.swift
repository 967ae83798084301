import ESP
import IPsecCrypto
import SLBWire

/// Quick mode (RFC 2409 §5.5), either side may start it:
/// ```
/// QM1 I→R  HDR*, HASH(1), SA, Ni [, KE] [, IDci, IDcr]
/// QM2 R→I  HDR*, HASH(2), SA, Nr [, KE] [, IDci, IDcr]
/// QM3 I→R  HDR*, HASH(3)
/// ```
/// The IV of QM1 is hash(last phase-1 block | M-ID); QM2 and QM3 chain on the previous
/// message's last ciphertext block (App. B).
extension IKEv1SA {
    /// Quick modes in flight per ISAKMP SA: a peer cannot pin more state than this.
    static let maximumQuickModes = 8

    // MARK: initiator: QM1 -->

    mutating func startQuickMode(localID: ISAKMPIdentification?, remoteID: ISAKMPIdentification?, now: MonotonicTime,
                                 context: inout IKEv1Context) -> [IKEv1Action] {
        guard case .established(var e) = state else { return [] }
        let mid = Self.randomMessageID(context.crypto, avoiding: e.exchanges.keys)
        let ni = context.crypto.randomBytes(count: Self.nonceLength)
        var dh: (any KeyExchange)?
        if let g = context.quickMode.pfsGroup {
            guard let k = try? context.crypto.makeKeyExchange(group: g) else { return [.dropped(.notSupported)] }
            dh = k
        }
        let spi = Self.randomSPI(&context)
        let transforms = context.quickMode.transforms(udpEncapsulation: udpEncapsulation)
        var rest: [ISAKMPPayload] = [
            .securityAssociation(ISAKMPSecurityAssociation(proposals: [ISAKMPProposal(
                number: 1, protocolID: ISAKMPProtocolID.ipsecESP, spi: spi.bigEndianBytes, transforms: transforms)])),
            .nonce(ni),
        ]
        if let dh { rest.append(.keyExchange(dh.publicValue)) }
        if let localID, let remoteID { rest += [.identification(localID), .identification(remoteID)] }
        let chain = Self.hashedChain(rest) {
            IKEv1KeyDerivation.exchangeHash(context.crypto, e.suite.hash, skeyidA: e.keys.skeyidA, messageID: mid, rest: $0)
        }
        let iv = IKEv1KeyDerivation.exchangeIV(context.crypto, e.suite.hash, lastPhase1Block: e.lastPhase1Block, messageID: mid,
                                               blockSize: e.suite.encryption.blockSize)
        guard let (qm1, last) = Self.seal(header(.quickMode, mid), chain: chain, suite: e.suite, key: e.keys.encryptionKey, iv: iv,
                                          crypto: context.crypto)
        else { return [.dropped(.notSupported)] }
        e.exchanges[mid] = .initiatorSentQM1(QuickModeInitiatorState(ni: ni, dh: dh, inboundSPI: spi, offered: transforms,
                                                                     localID: localID, remoteID: remoteID, iv: last))
        state = .established(e)
        pending = PendingRequest(bytes: qm1, to: peer, from: local, sentAt: now)
        return [.send(qm1, to: peer, from: local)] + scheduleNext(context: context)
    }

    func header(_ exchange: ISAKMPExchangeType, _ mid: UInt32) -> ISAKMPHeader {
        ISAKMPHeader(initiatorCookie: cookies.initiator, responderCookie: cookies.responder, nextPayload: ISAKMPPayloadType.hash,
                     exchange: exchange, messageID: mid)
    }

    // MARK: dispatch

    mutating func receiveQuickMode(_ datagram: [UInt8], header h: ISAKMPHeader, established e: inout Established, from: IKEEndpoint,
                                   to: IKEEndpoint, now: MonotonicTime, context: inout IKEv1Context) -> [IKEv1Action] {
        guard h.messageID != 0, h.isEncrypted else { return [.dropped(.malformed)] }
        switch e.exchanges[h.messageID] {
        case .initiatorSentQM1(let q)?:
            return receiveQM2(datagram, header: h, state: q, established: &e, now: now, context: &context)
        case .responderSentQM2(let r)?:
            return receiveQM3(datagram, header: h, state: r, established: &e, now: now, context: &context)
        case nil:
            return receiveQM1(datagram, header: h, established: &e, from: from, to: to, now: now, context: &context)
        }
    }

    // MARK: responder: QM1 --> <-- QM2

    private mutating func receiveQM1(_ datagram: [UInt8], header h: ISAKMPHeader, established e: inout Established, from: IKEEndpoint,
                                     to: IKEEndpoint, now: MonotonicTime, context: inout IKEv1Context) -> [IKEv1Action] {
        guard e.exchanges.count < Self.maximumQuickModes else { return [.dropped(.tableFull)] }
        let mid = h.messageID
        let iv = IKEv1KeyDerivation.exchangeIV(context.crypto, e.suite.hash, lastPhase1Block: e.lastPhase1Block, messageID: mid,
                                               blockSize: e.suite.encryption.blockSize)
        guard let (m, qm1Last) = Self.open(datagram, header: h, suite: e.suite, key: e.keys.encryptionKey, iv: iv, crypto: context.crypto)
        else { return [.dropped(.decryptionFailed)] }
        guard let hash1 = m.hashPayload, let rest = m.afterLeadingHash,
              constantTimeEqual(hash1, IKEv1KeyDerivation.exchangeHash(context.crypto, e.suite.hash, skeyidA: e.keys.skeyidA,
                                                                       messageID: mid, rest: rest))
        else { return [.dropped(.hashMismatch)] }
        e.dpd.lastHeard = now
        e.dpd.outboundSinceHeard = false
        let ids = m.identifications
        guard let (offer, _) = m.securityAssociation, let ni = m.nonce, ids.count == 0 || ids.count == 2,
              m.count(ISAKMPPayloadType.keyExchange) <= 1
        else { return notifyInExchange(.payloadMalformed, e: e, context: &context) }
        let ke = m.keyExchange
        // Proposals with the same number are an AND (RFC 2408 §4.2); we do ESP alone only.
        var chosen: (ISAKMPProposal, ISAKMPTransform, QuickModeSuite)?
        search: for p in offer.proposals where p.protocolID == ISAKMPProtocolID.ipsecESP && p.spi.count == 4 {
            guard offer.proposals.filter({ $0.number == p.number }).count == 1 else { continue }
            for t in p.transforms {
                if let s = context.quickMode.accepts(t, keyExchangePresent: ke != nil) {
                    chosen = (p, t, s)
                    break search
                }
            }
        }
        guard let (proposal, transform, suite) = chosen, let peerSPI = UInt32(bigEndianBytes: proposal.spi), peerSPI > 255 else {
            return notifyInExchange(.noProposalChosen, e: e, context: &context)
        }
        var pfsShared: [UInt8]?
        var ourKE: [UInt8]?
        if let group = suite.esp.dhGroup {
            guard let ke, ke.count == group.publicValueLength, let dh = try? context.crypto.makeKeyExchange(group: group),
                  let shared = try? dh.sharedSecret(peerPublicValue: ke)
            else { return notifyInExchange(.invalidKeyInformation, e: e, context: &context) }
            pfsShared = shared
            ourKE = dh.publicValue
        }
        let spi = Self.randomSPI(&context)
        let nr = context.crypto.randomBytes(count: Self.nonceLength)
        let child = makeChild(suite: suite, e: e, inboundSPI: spi, outboundSPI: peerSPI, ni: ni, nr: nr, pfsShared: pfsShared,
                              initiatorID: ids.first?.0, responderID: ids.last?.0, weAreQMInitiator: false, context: context)
        var reply: [ISAKMPPayload] = [
            .securityAssociation(ISAKMPSecurityAssociation(proposals: [ISAKMPProposal(
                number: proposal.number, protocolID: ISAKMPProtocolID.ipsecESP, spi: spi.bigEndianBytes, transforms: [transform])])),
            .nonce(nr),
        ]
        if let ourKE { reply.append(.keyExchange(ourKE)) }
        // IKEv1 has no narrowing: the client IDs are echoed unchanged (spec §2.3).
        for (id, _) in ids { reply.append(.identification(id)) }
        if let notify = Self.responderLifetime(offered: transform, chosen: suite, spi: spi) { reply.append(notify) }
        let chain = Self.hashedChain(reply) {
            IKEv1KeyDerivation.exchangeHash(context.crypto, e.suite.hash, skeyidA: e.keys.skeyidA, messageID: mid, prefix: ni, rest: $0)
        }
        guard let (qm2, qm2Last) = Self.seal(header(.quickMode, mid), chain: chain, suite: e.suite, key: e.keys.encryptionKey,
                                             iv: qm1Last, crypto: context.crypto)
        else { return [.dropped(.notSupported)] }
        e.exchanges[mid] = .responderSentQM2(QuickModeResponderState(
            pending: child, lifetime: suite.lifetime, ni: ni, nr: nr, iv: qm2Last,
            retransmission: PendingRequest(bytes: qm2, to: peer, from: local, sentAt: now)))
        remember(request: datagram, reply: qm2)
        return [.send(qm2, to: peer, from: local)]
    }

    // MARK: responder: QM3 -->

    private mutating func receiveQM3(_ datagram: [UInt8], header h: ISAKMPHeader, state r: QuickModeResponderState,
                                     established e: inout Established, now: MonotonicTime, context: inout IKEv1Context) -> [IKEv1Action] {
        guard let (m, _) = Self.open(datagram, header: h, suite: e.suite, key: e.keys.encryptionKey, iv: r.iv, crypto: context.crypto)
        else { return [.dropped(.decryptionFailed)] }
        let expected = IKEv1KeyDerivation.quickModeHash3(context.crypto, e.suite.hash, skeyidA: e.keys.skeyidA, messageID: h.messageID,
                                                         ni: r.ni, nr: r.nr)
        guard let hash3 = m.hashPayload, constantTimeEqual(hash3, expected) else { return [.dropped(.hashMismatch)] }
        e.exchanges[h.messageID] = nil
        e.dpd.lastHeard = now
        e.dpd.outboundSinceHeard = false
        // Install only after QM3 proves the initiator has the keys (spec §2.3).
        e.children.append(ChildEntry(sa: r.pending, expiresAt: now + r.lifetime))
        return [.installChildSA(r.pending)]
    }

    // MARK: initiator: <-- QM2, QM3 -->

    private mutating func receiveQM2(_ datagram: [UInt8], header h: ISAKMPHeader, state q: QuickModeInitiatorState,
                                     established e: inout Established, now: MonotonicTime, context: inout IKEv1Context) -> [IKEv1Action] {
        let mid = h.messageID
        guard let (m, qm2Last) = Self.open(datagram, header: h, suite: e.suite, key: e.keys.encryptionKey, iv: q.iv, crypto: context.crypto)
        else { return [.dropped(.decryptionFailed)] }
        guard let hash2 = m.hashPayload, let rest = m.afterLeadingHash,
              constantTimeEqual(hash2, IKEv1KeyDerivation.exchangeHash(context.crypto, e.suite.hash, skeyidA: e.keys.skeyidA,
                                                                       messageID: mid, prefix: q.ni, rest: rest))
        else { return [.dropped(.hashMismatch)] }
        e.dpd.lastHeard = now
        guard let (answer, _) = m.securityAssociation, answer.proposals.count == 1, let p = answer.proposals.first,
              p.protocolID == ISAKMPProtocolID.ipsecESP, p.transforms.count == 1, let t = p.transforms.first,
              q.offered.contains(where: { $0.transformID == t.transformID && Set($0.attributes) == Set(t.attributes) }),
              let peerSPI = UInt32(bigEndianBytes: p.spi), peerSPI > 255, let nr = m.nonce,
              let suite = context.quickMode.accepts(t, keyExchangePresent: m.keyExchange != nil)
        else {
            e.exchanges[mid] = nil
            pending = nil
            return [.failed(.noAcceptableProposal)]
        }
        // RFC 2407 §4.6.3.1: the responder may shorten the lifetimes; we adopt its values.
        var negotiated = suite
        for n in m.notifications where n.type == .responderLifetime {
            guard let attributes = try? ISAKMPAttribute.parseList(n.data[...]) else { continue }
            let life = attributes.lifetimes(typeAttribute: Phase2Attribute.lifeType, durationAttribute: Phase2Attribute.lifeDuration)
            if let secs = life.seconds { negotiated.lifetime = min(negotiated.lifetime, TimeSpan.seconds(min(max(1, secs), ISAKMPLimits.maximumLifetimeSeconds))) }
            if let kb = life.kilobytes { negotiated.lifetimeKilobytes = min(negotiated.lifetimeKilobytes, kb) }
        }
        var pfsShared: [UInt8]?
        if let dh = q.dh {
            guard let ke = m.keyExchange, let shared = try? dh.sharedSecret(peerPublicValue: ke) else {
                e.exchanges[mid] = nil
                pending = nil
                return [.failed(.noAcceptableProposal)]
            }
            pfsShared = shared
        }
        let child = makeChild(suite: negotiated, e: e, inboundSPI: q.inboundSPI, outboundSPI: peerSPI, ni: q.ni, nr: nr, pfsShared: pfsShared,
                              initiatorID: q.localID, responderID: q.remoteID, weAreQMInitiator: true, context: context)
        var chain: [UInt8] = []
        writeGeneric(&chain, next: 0, body: IKEv1KeyDerivation.quickModeHash3(context.crypto, e.suite.hash, skeyidA: e.keys.skeyidA,
                                                                              messageID: mid, ni: q.ni, nr: nr))
        guard let (qm3, _) = Self.seal(header(.quickMode, mid), chain: chain, suite: e.suite, key: e.keys.encryptionKey, iv: qm2Last,
                                       crypto: context.crypto)
        else { return [.dropped(.notSupported)] }
        e.exchanges[mid] = nil
        pending = nil
        e.children.append(ChildEntry(sa: child, expiresAt: now + negotiated.lifetime))
        remember(request: datagram, reply: qm3)
        return [.send(qm3, to: peer, from: local), .installChildSA(child)]
    }

    /// RESPONDER-LIFETIME (RFC 2407 §4.6.3.1) when our lifetimes are shorter than the offer
    /// (an absent life duration means 28 800 s / unlimited, §4.5), so the initiator re-keys in
    /// time instead of meeting our DELETE.
    static func responderLifetime(offered t: ISAKMPTransform, chosen: QuickModeSuite, spi: UInt32) -> ISAKMPPayload? {
        let offered = t.attributes.lifetimes(typeAttribute: Phase2Attribute.lifeType, durationAttribute: Phase2Attribute.lifeDuration)
        let offeredSeconds = offered.seconds ?? 28800
        var attributes: [ISAKMPAttribute] = []
        if chosen.lifetime.wholeSeconds < offeredSeconds {
            attributes += [.integer(Phase2Attribute.lifeType, ISAKMPLifeType.seconds),
                           .integer(Phase2Attribute.lifeDuration, chosen.lifetime.wholeSeconds)]
        }
        if offered.kilobytes.map({ chosen.lifetimeKilobytes < $0 }) ?? true {
            attributes += [.integer(Phase2Attribute.lifeType, ISAKMPLifeType.kilobytes),
                           .integer(Phase2Attribute.lifeDuration, chosen.lifetimeKilobytes)]
        }
        guard !attributes.isEmpty else { return nil }
        var data: [UInt8] = []
        for a in attributes { a.append(to: &data) }
        return .notification(ISAKMPNotification(.responderLifetime, protocolID: ISAKMPProtocolID.ipsecESP, spi: spi.bigEndianBytes, data: data))
    }

    // MARK: keys

    /// KEYMAT per direction (§5.5): what we receive is keyed with our SPI, what we send with
    /// the peer's; encryption key first, then the integrity key.
    private func makeChild(suite: QuickModeSuite, e: Established, inboundSPI: UInt32, outboundSPI: UInt32, ni: [UInt8], nr: [UInt8],
                           pfsShared: [UInt8]?, initiatorID: ISAKMPIdentification?, responderID: ISAKMPIdentification?,
                           weAreQMInitiator: Bool, context: IKEv1Context) -> IKEv1ChildSA {
        let encLength = suite.esp.encryptionKeyMaterialLength
        let length = encLength + suite.esp.integrityKeyLength
        func keys(_ spi: UInt32) -> ChildSAKeys {
            let k = IKEv1KeyDerivation.keymat(context.crypto, e.suite.hash, skeyidD: e.keys.skeyidD, pfsSharedSecret: pfsShared,
                                              protocolID: ISAKMPProtocolID.ipsecESP, spi: spi, ni: ni, nr: nr, length: length)
            return ChildSAKeys(encryption: Array(k.prefix(encLength)), integrity: Array(k.dropFirst(encLength)))
        }
        // §5.5: without client IDs the selectors are the ISAKMP peers' addresses.
        let localID = weAreQMInitiator ? initiatorID : responderID
        let remoteID = weAreQMInitiator ? responderID : initiatorID
        func selectors(_ id: ISAKMPIdentification?, _ fallback: IPv4Address) -> [TrafficSelector] {
            guard let id else { return [.host(fallback)] }
            guard let r = id.ipv4Range else { return [] }
            return [TrafficSelector(ipv4: IPv4Address(r.lowerBound), IPv4Address(r.upperBound), ipProtocol: id.protocolID,
                                    ports: id.port == 0 ? 0...65535 : id.port...id.port)]
        }
        let child = ChildSA(inboundSPI: inboundSPI, outboundSPI: outboundSPI, suite: suite.esp, inboundKeys: keys(inboundSPI),
                            outboundKeys: keys(outboundSPI), localSelectors: selectors(localID, local.address),
                            remoteSelectors: selectors(remoteID, peer.address), udpEncapsulation: udpEncapsulation)
        let lifetime = ESPLifetime(hardBytes: suite.lifetimeKilobytes.multipliedReportingOverflow(by: 1024).partialValue,
                                   hardTime: suite.lifetime)
        return IKEv1ChildSA(child: child, isakmp: cookies, lifetime: lifetime, encapsulationMode: suite.encapsulationMode)
    }

    /// An encrypted informational notify about a failed quick mode (RFC 2408 §5: the
    /// exchange is dropped, the peer learns why).
    private mutating func notifyInExchange(_ type: ISAKMPNotifyType, e: Established, context: inout IKEv1Context) -> [IKEv1Action] {
        var actions = sendInformational(.notification(ISAKMPNotification(type, protocolID: ISAKMPProtocolID.ipsecESP)),
                                        established: e, context: &context)
        actions.append(.dropped(.notSupported))
        return actions
    }
}
