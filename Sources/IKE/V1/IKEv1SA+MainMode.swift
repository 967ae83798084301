import IPsecCrypto
import SLBWire

/// Main mode with pre-shared keys (RFC 2409 §5, §5.4) and NAT-T discovery (RFC 3947 §3):
/// ```
/// MM1 I→R  HDR, SA, VID(RFC 3947), VID(DPD)      MM2 R→I  HDR, SA(chosen), VID…
/// MM3 I→R  HDR, KE, Ni, NAT-D, NAT-D             MM4 R→I  HDR, KE, Nr, NAT-D, NAT-D
/// MM5 I→R  HDR*, IDii, HASH_I [, N(INITIAL-CONTACT)]   (from 4500 after a NAT)
/// MM6 R→I  HDR*, IDir, HASH_R
/// ```
extension IKEv1SA {
    static let nonceLength = 32

    // MARK: initiator: MM1 -->

    static func startInitiator(local: IKEEndpoint, peer: IKEEndpoint, psk: [UInt8], connectionID: Int, now: MonotonicTime,
                               context: inout IKEv1Context) -> (IKEv1SA, [IKEv1Action]) {
        let cookies = ISAKMPCookies(initiator: randomCookie(context.crypto), responder: 0)
        var sa = IKEv1SA(role: .initiator, cookies: cookies, local: local, peer: peer, connectionID: connectionID, now: now,
                         state: .initiatorSentSA)
        let offer = ISAKMPSecurityAssociation(proposals: [ISAKMPProposal(
            number: 1, protocolID: ISAKMPProtocolID.isakmp,
            transforms: context.policies.enumerated().map { $1.transform(number: UInt8(truncatingIfNeeded: $0 + 1)) })])
        let body = offer.serialize()
        sa.initiatorPSK = psk
        sa.initiatorSAIBody = body
        let mm1 = ISAKMPMessage.serialize(
            ISAKMPHeader(initiatorCookie: cookies.initiator, responderCookie: 0, nextPayload: 0, exchange: .identityProtection),
            [.securityAssociation(offer), .vendorID(ISAKMPVendorID.natTraversalRFC3947), .vendorID(ISAKMPVendorID.deadPeerDetection)])
        sa.pending = PendingRequest(bytes: mm1, to: peer, from: local, sentAt: now)
        return (sa, [.send(mm1, to: peer, from: local)])
    }

    // MARK: responder: MM1 --> <-- MM2

    enum MM1Outcome {
        case accepted(IKEv1SA, [IKEv1Action])
        case refused([IKEv1Action])
    }

    static func respondToMM1(_ datagram: [UInt8], _ m: ISAKMPMessage, from: IKEEndpoint, to: IKEEndpoint, psk: [UInt8]?,
                             connectionID: Int, now: MonotonicTime, context: inout IKEv1Context) -> MM1Outcome {
        let h = m.header
        func notify(_ type: ISAKMPNotifyType) -> [IKEv1Action] {
            // Unprotected: no keys exist yet (RFC 2408 §5.1 "optionally a notify message").
            let n = ISAKMPMessage.serialize(
                ISAKMPHeader(initiatorCookie: h.initiatorCookie, responderCookie: 0, nextPayload: 0, exchange: .informational),
                [.notification(ISAKMPNotification(type))])
            return [.send(n, to: from, from: to), .dropped(.notSupported)]
        }
        guard let (offer, saiBody) = m.securityAssociation, offer.doi == IPsecDOI.doi,
              offer.situation == IPsecDOI.situationIdentityOnly else { return .refused(notify(.payloadMalformed)) }
        var chosen: (ISAKMPProposal, IKEv1Phase1Suite)?
        search: for policy in context.policies {
            for p in offer.proposals where p.protocolID == ISAKMPProtocolID.isakmp {
                for t in p.transforms {
                    if let suite = policy.accepts(t) {
                        chosen = (ISAKMPProposal(number: p.number, protocolID: p.protocolID, spi: p.spi, transforms: [t]), suite)
                        break search
                    }
                }
            }
        }
        guard let (proposal, suite) = chosen else { return .refused(notify(.noProposalChosen)) }
        // §5.4: main mode PSKs can only be keyed by address; without one we cannot continue.
        guard let psk else { return .refused([.dropped(.noPreSharedKey)]) }

        let cookies = ISAKMPCookies(initiator: h.initiatorCookie, responder: randomCookie(context.crypto))
        var sa = IKEv1SA(role: .responder, cookies: cookies, local: to, peer: from, connectionID: connectionID, now: now,
                         state: .responderSentSA(Negotiated(suite: suite, saiBody: saiBody, psk: psk)))
        sa.peerSupportsNATT = m.vendorIDs.contains(ISAKMPVendorID.natTraversalRFC3947)
        sa.peerSupportsDPD = m.vendorIDs.contains(where: ISAKMPVendorID.isDPD)
        var payloads: [ISAKMPPayload] = [.securityAssociation(ISAKMPSecurityAssociation(proposals: [proposal]))]
        if sa.peerSupportsNATT { payloads.append(.vendorID(ISAKMPVendorID.natTraversalRFC3947)) }
        // We always answer R-U-THERE, so we always announce DPD (RFC 3706 §5.1).
        payloads.append(.vendorID(ISAKMPVendorID.deadPeerDetection))
        let mm2 = ISAKMPMessage.serialize(
            ISAKMPHeader(initiatorCookie: cookies.initiator, responderCookie: cookies.responder, nextPayload: 0,
                         exchange: .identityProtection), payloads)
        sa.remember(request: datagram, reply: mm2)
        return .accepted(sa, [.send(mm2, to: from, from: to)])
    }

    // MARK: initiator: <-- MM2, MM3 -->

    mutating func receiveMM2(_ datagram: [UInt8], header h: ISAKMPHeader, now: MonotonicTime,
                             context: inout IKEv1Context) -> [IKEv1Action] {
        guard let m = try? ISAKMPMessage.parse(datagram) else { return [.dropped(.malformed)] }
        if h.exchange == .informational, let n = m.notifications.first(where: { $0.type.isError }) {
            state = .closed
            return [.failed(.notified(n.type))]
        }
        guard h.exchange == .identityProtection, h.messageID == 0, h.responderCookie != 0,
              let (answer, _) = m.securityAssociation, answer.proposals.count == 1,
              let p = answer.proposals.first, p.protocolID == ISAKMPProtocolID.isakmp, p.transforms.count == 1,
              let t = p.transforms.first
        else { return [.dropped(.unexpectedMessage)] }
        // The answer must be one of our offers (RFC 2409 §5: the responder picks one transform).
        guard let suite = context.policies.lazy.compactMap({ $0.accepts(t) }).first else {
            state = .closed
            return [.failed(.noAcceptableProposal)]
        }
        cookies.responder = h.responderCookie
        peerSupportsNATT = m.vendorIDs.contains(ISAKMPVendorID.natTraversalRFC3947)
        peerSupportsDPD = m.vendorIDs.contains(where: ISAKMPVendorID.isDPD)
        guard let dh = try? context.crypto.makeKeyExchange(group: suite.group) else { return [.dropped(.notSupported)] }
        let ni = context.crypto.randomBytes(count: Self.nonceLength)
        var payloads: [ISAKMPPayload] = [.keyExchange(dh.publicValue), .nonce(ni)]
        if peerSupportsNATT { payloads += natDiscoveryPayloads(suite: suite, context: context) }
        let mm3 = ISAKMPMessage.serialize(ISAKMPHeader(initiatorCookie: cookies.initiator, responderCookie: cookies.responder,
                                                       nextPayload: 0, exchange: .identityProtection), payloads)
        state = .initiatorSentKE(Negotiated(suite: suite, saiBody: initiatorSAIBody, psk: initiatorPSK), dh: dh, ni: ni)
        pending = PendingRequest(bytes: mm3, to: peer, from: local, sentAt: now)
        return [.send(mm3, to: peer, from: local)]
    }

    /// NAT-D of the other end first, then our own (RFC 3947 §3.2); ours is a random hash when
    /// we force encapsulation (spec §0.1, strongSwan `encap = yes`).
    func natDiscoveryPayloads(suite: IKEv1Phase1Suite, context: IKEv1Context) -> [ISAKMPPayload] {
        let theirs = IKEv1KeyDerivation.natDiscovery(context.crypto, suite.hash, cookies: cookies, endpoint: peer)
        let ours = context.forceUDPEncapsulation
            ? context.crypto.randomBytes(count: suite.hash.digestLength)
            : IKEv1KeyDerivation.natDiscovery(context.crypto, suite.hash, cookies: cookies, endpoint: publicLocal(context))
        return [.natDiscovery(theirs), .natDiscovery(ours)]
    }

    /// Our endpoint as the peer addressed it: the VIP when configured, with the local port.
    func publicLocal(_ context: IKEv1Context) -> IKEEndpoint { IKEEndpoint(context.publicAddress ?? local.address, local.port) }

    /// Compares the peer's NAT-D payloads with what we see (RFC 3947 §3.2).
    func detectNAT(_ m: ISAKMPMessage, suite: IKEv1Phase1Suite, context: IKEv1Context) -> NATStatus? {
        let hashes = m.natDiscoveries
        guard peerSupportsNATT, let first = hashes.first, hashes.count >= 2 else { return nil }
        let us = IKEv1KeyDerivation.natDiscovery(context.crypto, suite.hash, cookies: cookies, endpoint: publicLocal(context))
        let them = IKEv1KeyDerivation.natDiscovery(context.crypto, suite.hash, cookies: cookies, endpoint: peer)
        return NATStatus(localBehindNAT: !constantTimeEqual(first, us),
                         peerBehindNAT: !hashes.dropFirst().contains { constantTimeEqual($0, them) })
    }

    // MARK: responder: MM3 --> <-- MM4

    mutating func receiveMM3(_ datagram: [UInt8], header h: ISAKMPHeader, negotiated n: Negotiated, from: IKEEndpoint,
                             to: IKEEndpoint, now: MonotonicTime, context: inout IKEv1Context) -> [IKEv1Action] {
        guard h.exchange == .identityProtection, h.messageID == 0, !h.isEncrypted,
              let m = try? ISAKMPMessage.parse(datagram) else { return [.dropped(.malformed)] }
        guard let gxi = m.keyExchange, let ni = m.nonce, gxi.count == n.suite.group.publicValueLength
        else { return [.dropped(.malformed)] }
        guard let dh = try? context.crypto.makeKeyExchange(group: n.suite.group),
              let shared = try? dh.sharedSecret(peerPublicValue: gxi) else { return [.dropped(.malformed)] }
        let nr = context.crypto.randomBytes(count: Self.nonceLength)
        let skeyid = IKEv1KeyDerivation.skeyidPreShared(context.crypto, n.suite.hash, psk: n.psk, ni: ni, nr: nr)
        let keys = IKEv1KeyDerivation.phase1Keys(context.crypto, n.suite.hash, skeyid: skeyid, sharedSecret: shared,
                                                 cookies: cookies, keyLength: n.suite.keyLength)
        let gxr = dh.publicValue
        var actions: [IKEv1Action] = []
        var payloads: [ISAKMPPayload] = [.keyExchange(gxr), .nonce(nr)]
        if let status = detectNAT(m, suite: n.suite, context: context) {
            nat = status
            udpEncapsulation = status.detected || context.forceUDPEncapsulation
            payloads += natDiscoveryPayloads(suite: n.suite, context: context)
            if status.detected { actions.append(.natDetected(cookies, status, floatedTo: nil)) }
        }
        let mm4 = ISAKMPMessage.serialize(ISAKMPHeader(initiatorCookie: cookies.initiator, responderCookie: cookies.responder,
                                                       nextPayload: 0, exchange: .identityProtection), payloads)
        let iv = IKEv1KeyDerivation.phase1IV(context.crypto, n.suite.hash, gxi: gxi, gxr: gxr, blockSize: n.suite.encryption.blockSize)
        state = .responderSentKE(Keyed(negotiated: n, keys: keys, gxi: gxi, gxr: gxr, iv: iv))
        remember(request: datagram, reply: mm4)
        return [.send(mm4, to: from, from: to)] + actions
    }

    // MARK: initiator: <-- MM4, MM5 -->

    mutating func receiveMM4(_ datagram: [UInt8], header h: ISAKMPHeader, negotiated n: Negotiated, dh: any KeyExchange,
                             ni: [UInt8], now: MonotonicTime, context: inout IKEv1Context) -> [IKEv1Action] {
        guard h.exchange == .identityProtection, h.messageID == 0, !h.isEncrypted,
              let m = try? ISAKMPMessage.parse(datagram) else { return [.dropped(.malformed)] }
        guard let gxr = m.keyExchange, let nr = m.nonce, gxr.count == n.suite.group.publicValueLength,
              let shared = try? dh.sharedSecret(peerPublicValue: gxr) else { return [.dropped(.malformed)] }
        let skeyid = IKEv1KeyDerivation.skeyidPreShared(context.crypto, n.suite.hash, psk: n.psk, ni: ni, nr: nr)
        let keys = IKEv1KeyDerivation.phase1Keys(context.crypto, n.suite.hash, skeyid: skeyid, sharedSecret: shared,
                                                 cookies: cookies, keyLength: n.suite.keyLength)
        let gxi = dh.publicValue
        var actions: [IKEv1Action] = []
        if let status = detectNAT(m, suite: n.suite, context: context) {
            nat = status
            udpEncapsulation = status.detected || context.forceUDPEncapsulation
            if udpEncapsulation {
                // RFC 3947 §4: the initiator moves to 4500 for MM5 and everything after.
                local = IKEEndpoint(local.address, 4500)
                peer = IKEEndpoint(peer.address, 4500)
                actions.append(.natDetected(cookies, status, floatedTo: local))
            }
        }
        let idii = ISAKMPIdentification.ipv4(local.address)
        let hashI = IKEv1KeyDerivation.hashI(context.crypto, n.suite.hash, skeyid: keys.skeyid, gxi: gxi, gxr: gxr,
                                             cookies: cookies, saiBody: n.saiBody, idiiBody: idii.serialize())
        // RFC 2407 §4.6.3.3: INITIAL-CONTACT says we have no other SA with this peer.
        let chain = ISAKMPMessage.serializeChain([.identification(idii), .hash(hashI)]
            + (context.sendInitialContact ? [.notification(ISAKMPNotification(.initialContact, spi: cookies.spi))] : []))
        let iv = IKEv1KeyDerivation.phase1IV(context.crypto, n.suite.hash, gxi: gxi, gxr: gxr, blockSize: n.suite.encryption.blockSize)
        guard let (mm5, last) = Self.seal(ISAKMPHeader(initiatorCookie: cookies.initiator, responderCookie: cookies.responder,
                                                       nextPayload: ISAKMPPayloadType.identification, exchange: .identityProtection),
                                          chain: chain, suite: n.suite, key: keys.encryptionKey, iv: iv, crypto: context.crypto)
        else { return [.dropped(.notSupported)] }
        state = .initiatorSentID(Keyed(negotiated: n, keys: keys, gxi: gxi, gxr: gxr, iv: last))
        pending = PendingRequest(bytes: mm5, to: peer, from: local, sentAt: now)
        return actions + [.send(mm5, to: peer, from: local)]
    }

    // MARK: responder: MM5 --> <-- MM6

    mutating func receiveMM5(_ datagram: [UInt8], header h: ISAKMPHeader, keyed k: Keyed, from: IKEEndpoint, to: IKEEndpoint,
                             now: MonotonicTime, context: inout IKEv1Context) -> [IKEv1Action] {
        let suite = k.negotiated.suite
        guard h.exchange == .identityProtection, h.messageID == 0, h.isEncrypted else { return [.dropped(.unexpectedMessage)] }
        // A wrong PSK gives other keys, so the plaintext is garbage or HASH_I differs; either
        // way we stay silent (the peer could not read a notify under our keys) and keep the
        // state for a genuine retransmission until the negotiation times out.
        guard let (m, last) = Self.open(datagram, header: h, suite: suite, key: k.keys.encryptionKey, iv: k.iv, crypto: context.crypto),
              let (idii, idiiBody) = m.identifications.first, let hashI = m.hashPayload
        else { return [.dropped(.authenticationFailed)] }
        let expected = IKEv1KeyDerivation.hashI(context.crypto, suite.hash, skeyid: k.keys.skeyid, gxi: k.gxi, gxr: k.gxr,
                                                cookies: cookies, saiBody: k.negotiated.saiBody, idiiBody: idiiBody)
        guard constantTimeEqual(hashI, expected) else { return [.dropped(.authenticationFailed)] }
        // Authenticated: follow the peer to wherever MM5 came from (RFC 3947 §4 float).
        peer = from
        local = to
        peerIdentity = idii
        receivedInitialContact = m.notifications.contains { $0.type == .initialContact && $0.spi == cookies.spi }
        let idir = ISAKMPIdentification.ipv4(context.publicAddress ?? to.address)
        let hashR = IKEv1KeyDerivation.hashR(context.crypto, suite.hash, skeyid: k.keys.skeyid, gxi: k.gxi, gxr: k.gxr,
                                             cookies: cookies, saiBody: k.negotiated.saiBody, idirBody: idir.serialize())
        guard let (mm6, phase1Last) = Self.seal(ISAKMPHeader(initiatorCookie: cookies.initiator, responderCookie: cookies.responder,
                                                             nextPayload: ISAKMPPayloadType.identification, exchange: .identityProtection),
                                                chain: ISAKMPMessage.serializeChain([.identification(idir), .hash(hashR)]),
                                                suite: suite, key: k.keys.encryptionKey, iv: last, crypto: context.crypto)
        else { return [.dropped(.notSupported)] }
        becomeEstablished(suite: suite, keys: k.keys, lastBlock: phase1Last, now: now, context: context)
        remember(request: datagram, reply: mm6)
        return [.send(mm6, to: from, from: to), .phase1Established(info)] + scheduleNext(context: context)
    }

    // MARK: initiator: <-- MM6

    mutating func receiveMM6(_ datagram: [UInt8], header h: ISAKMPHeader, keyed k: Keyed, now: MonotonicTime,
                             context: inout IKEv1Context) -> [IKEv1Action] {
        let suite = k.negotiated.suite
        if h.exchange == .informational, !h.isEncrypted, let m = try? ISAKMPMessage.parse(datagram),
           let n = m.notifications.first(where: { $0.type.isError }) {
            state = .closed
            return [.failed(.notified(n.type))]
        }
        guard h.exchange == .identityProtection, h.messageID == 0, h.isEncrypted else { return [.dropped(.unexpectedMessage)] }
        guard let (m, last) = Self.open(datagram, header: h, suite: suite, key: k.keys.encryptionKey, iv: k.iv, crypto: context.crypto),
              let (idir, idirBody) = m.identifications.first, let hashR = m.hashPayload
        else { return [.dropped(.authenticationFailed)] }
        let expected = IKEv1KeyDerivation.hashR(context.crypto, suite.hash, skeyid: k.keys.skeyid, gxi: k.gxi, gxr: k.gxr,
                                                cookies: cookies, saiBody: k.negotiated.saiBody, idirBody: idirBody)
        guard constantTimeEqual(hashR, expected) else { return [.dropped(.authenticationFailed)] }
        peerIdentity = idir
        pending = nil
        becomeEstablished(suite: suite, keys: k.keys, lastBlock: last, now: now, context: context)
        return [.phase1Established(info)] + scheduleNext(context: context)
    }

    mutating func becomeEstablished(suite: IKEv1Phase1Suite, keys: IKEv1Phase1Keys, lastBlock: [UInt8], now: MonotonicTime,
                                    context: IKEv1Context) {
        // RFC 3706 §5.5: a random initial sequence number, then +1 per R-U-THERE.
        let seq = UInt32(bigEndianBytes: context.crypto.randomBytes(count: 4)) ?? 1
        state = .established(Established(suite: suite, keys: keys, lastPhase1Block: lastBlock, expiresAt: now + suite.lifetime,
                                         dpd: DPDState(lastHeard: now, nextSequence: seq & 0x7FFF_FFFF)))
    }
}
