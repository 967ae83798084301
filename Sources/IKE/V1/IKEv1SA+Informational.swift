import IPsecCrypto
import SLBWire

/// Informational exchanges under an ISAKMP SA (RFC 2409 §5.7): `HDR*, HASH(1), N|D` with
/// HASH(1) = prf(SKEYID_a, M-ID | N/D), each in a fresh M-ID whose IV is derived from the
/// last phase-1 block. Carries DELETE (RFC 2408 §3.15) and DPD (RFC 3706).
extension IKEv1SA {
    // MARK: established dispatch

    mutating func receiveEstablished(_ datagram: [UInt8], header h: ISAKMPHeader, established e: inout Established, from: IKEEndpoint,
                                     to: IKEEndpoint, now: MonotonicTime, context: inout IKEv1Context) -> [IKEv1Action] {
        switch h.exchange {
        case .quickMode:
            return receiveQuickMode(datagram, header: h, established: &e, from: from, to: to, now: now, context: &context)
        case .informational:
            return receiveInformational(datagram, header: h, established: &e, now: now, context: &context)
        case .transaction:
            // Mode-Config / XAuth (the seed's `client configuration group`) is out of scope.
            guard h.isEncrypted else { return [.dropped(.unexpectedMessage)] }
            return sendInformational(.notification(ISAKMPNotification(.attributesNotSupported)), established: e, context: &context)
                + [.dropped(.notSupported)]
        default:
            return [.dropped(.unexpectedMessage)]
        }
    }

    private mutating func receiveInformational(_ datagram: [UInt8], header h: ISAKMPHeader, established e: inout Established,
                                               now: MonotonicTime, context: inout IKEv1Context) -> [IKEv1Action] {
        guard h.isEncrypted else { return [.dropped(.unexpectedMessage)] }
        let iv = IKEv1KeyDerivation.exchangeIV(context.crypto, e.suite.hash, lastPhase1Block: e.lastPhase1Block, messageID: h.messageID,
                                               blockSize: e.suite.encryption.blockSize)
        guard let (m, _) = Self.open(datagram, header: h, suite: e.suite, key: e.keys.encryptionKey, iv: iv, crypto: context.crypto)
        else { return [.dropped(.decryptionFailed)] }
        guard let hash1 = m.hashPayload, let rest = m.afterLeadingHash,
              constantTimeEqual(hash1, IKEv1KeyDerivation.exchangeHash(context.crypto, e.suite.hash, skeyidA: e.keys.skeyidA,
                                                                       messageID: h.messageID, rest: rest))
        else { return [.dropped(.hashMismatch)] }
        e.dpd.lastHeard = now
        e.dpd.outboundSinceHeard = false
        var actions: [IKEv1Action] = []
        for n in m.notifications {
            switch n.type {
            case .rUThere:
                // RFC 3706 §5.4: answered always, same sequence number, new exchange.
                guard n.spi == cookies.spi, n.data.count == 4 else { actions.append(.dropped(.malformed)); continue }
                actions += sendInformational(.notification(ISAKMPNotification(.rUThereAck, spi: cookies.spi, data: n.data)),
                                             established: e, context: &context)
            case .rUThereAck:
                guard n.spi == cookies.spi, let seq = UInt32(bigEndianBytes: n.data), e.dpd.acknowledges(seq) else {
                    actions.append(.dropped(.unexpectedAcknowledgement))
                    continue
                }
                e.dpd.probe = nil
                actions.append(.peerAlive(cookies))
            default:
                if n.type.isError {
                    // An error about our quick mode: the exchange cannot complete.
                    let ours = e.exchanges.compactMap { mid, x -> UInt32? in
                        if case .initiatorSentQM1 = x { mid } else { nil }
                    }
                    for mid in ours { e.exchanges[mid] = nil }
                    if !ours.isEmpty { pending = nil }
                    actions.append(.failed(.notified(n.type)))
                }
            }
        }
        for d in m.deletes {
            actions += receiveDelete(d, established: &e)
            if closing { break }
        }
        return actions + scheduleNext(context: context, established: closing ? nil : e)
    }

    private mutating func receiveDelete(_ d: ISAKMPDelete, established e: inout Established) -> [IKEv1Action] {
        switch d.protocolID {
        case ISAKMPProtocolID.isakmp:
            guard d.spiSize == 16, d.spis.contains(cookies.spi) else { return [.dropped(.unknownCookies)] }
            closing = true
            return deleteEverything(established: &e, reason: .deletedByPeer)
        case ISAKMPProtocolID.ipsecESP:
            // The SPIs are the sender's inbound SPIs, i.e. our outbound ones (RFC 2408 §3.15).
            var actions: [IKEv1Action] = []
            for spi in d.spis.compactMap(UInt32.init(bigEndianBytes:)) {
                guard let i = e.children.firstIndex(where: { $0.sa.child.outboundSPI == spi }) else { continue }
                let c = e.children.remove(at: i).sa.child
                actions.append(.deleteChildSA(inboundSPI: c.inboundSPI, outboundSPI: c.outboundSPI, isakmp: cookies, reason: .deletedByPeer))
            }
            return actions
        default:
            return [.dropped(.notSupported)]
        }
    }

    /// Local teardown of the whole SA without telling the peer.
    mutating func forget(reason: IKEv1DeleteReason) -> [IKEv1Action] {
        guard case .established(var e) = state else {
            state = .closed
            return [.deleteISAKMPSA(cookies, reason: reason)]
        }
        let actions = deleteEverything(established: &e, reason: reason)
        state = .closed
        return actions
    }

    /// Local teardown without telling the peer.
    func deleteEverything(established e: inout Established, reason: IKEv1DeleteReason) -> [IKEv1Action] {
        let actions: [IKEv1Action] = e.children.map {
            .deleteChildSA(inboundSPI: $0.sa.child.inboundSPI, outboundSPI: $0.sa.child.outboundSPI, isakmp: cookies, reason: reason)
        }
        e.children = []
        return actions + [.deleteISAKMPSA(cookies, reason: reason)]
    }

    // MARK: sending

    /// One informational exchange carrying `payload`, protected by HASH(1).
    func sendInformational(_ payload: ISAKMPPayload, established e: Established, context: inout IKEv1Context) -> [IKEv1Action] {
        let mid = Self.randomMessageID(context.crypto, avoiding: e.exchanges.keys)
        let chain = Self.hashedChain([payload]) {
            IKEv1KeyDerivation.exchangeHash(context.crypto, e.suite.hash, skeyidA: e.keys.skeyidA, messageID: mid, rest: $0)
        }
        let iv = IKEv1KeyDerivation.exchangeIV(context.crypto, e.suite.hash, lastPhase1Block: e.lastPhase1Block, messageID: mid,
                                               blockSize: e.suite.encryption.blockSize)
        guard let (bytes, _) = Self.seal(header(.informational, mid), chain: chain, suite: e.suite, key: e.keys.encryptionKey, iv: iv,
                                         crypto: context.crypto)
        else { return [] }
        return [.send(bytes, to: peer, from: local)]
    }

    /// Deletes one ESP SA pair and tells the peer (RFC 2408 §3.15: our inbound SPI).
    mutating func deleteChild(inboundSPI: UInt32, reason: IKEv1DeleteReason, context: inout IKEv1Context) -> [IKEv1Action] {
        guard case .established(var e) = state, let i = e.children.firstIndex(where: { $0.sa.child.inboundSPI == inboundSPI }) else {
            return []
        }
        let c = e.children.remove(at: i).sa.child
        state = .established(e)
        return sendInformational(.delete(ISAKMPDelete(protocolID: ISAKMPProtocolID.ipsecESP, spiSize: 4, spis: [inboundSPI.bigEndianBytes])),
                                 established: e, context: &context)
            + [.deleteChildSA(inboundSPI: c.inboundSPI, outboundSPI: c.outboundSPI, isakmp: cookies, reason: reason)]
    }

    /// Deletes the ISAKMP SA and its ESP SAs, telling the peer about each.
    mutating func deleteAll(reason: IKEv1DeleteReason, context: inout IKEv1Context) -> [IKEv1Action] {
        guard case .established(var e) = state else {
            guard !isClosed else { return [] }
            state = .closed
            return [.deleteISAKMPSA(cookies, reason: reason)]
        }
        var actions: [IKEv1Action] = []
        for c in e.children {
            actions += sendInformational(.delete(ISAKMPDelete(protocolID: ISAKMPProtocolID.ipsecESP, spiSize: 4,
                                                               spis: [c.sa.child.inboundSPI.bigEndianBytes])),
                                         established: e, context: &context)
        }
        actions += sendInformational(.delete(ISAKMPDelete(protocolID: ISAKMPProtocolID.isakmp, spiSize: 16, spis: [cookies.spi])),
                                     established: e, context: &context)
        actions += deleteEverything(established: &e, reason: reason)
        state = .closed
        return actions
    }

    // MARK: DPD (RFC 3706)

    /// ESP traffic seen by the edge: inbound proves liveness (§5.3); outbound arms on-demand DPD.
    mutating func noteTraffic(inbound: Bool, outbound: Bool, now: MonotonicTime, context: inout IKEv1Context) -> [IKEv1Action] {
        guard case .established(var e) = state else { return [] }
        if inbound {
            e.dpd.lastHeard = now
            e.dpd.outboundSinceHeard = false
        } else if outbound {
            e.dpd.outboundSinceHeard = true
        }
        state = .established(e)
        return handleTimers(now: now, context: &context)
    }

    /// Sends an R-U-THERE now (on demand), unless one is already outstanding.
    mutating func probePeer(now: MonotonicTime, context: inout IKEv1Context) -> [IKEv1Action] {
        guard case .established(var e) = state, peerSupportsDPD, e.dpd.probe == nil else { return [] }
        let actions = sendProbe(established: &e, now: now, context: &context)
        state = .established(e)
        return actions + scheduleNext(context: context)
    }

    private func sendProbe(established e: inout Established, now: MonotonicTime, context: inout IKEv1Context) -> [IKEv1Action] {
        let seq = e.dpd.nextSequence
        e.dpd.nextSequence &+= 1
        let retry = context.dpd?.retryInterval ?? .seconds(2)
        if var p = e.dpd.probe {
            p.lastSequence = seq
            p.sent += 1
            p.nextAt = now + retry
            e.dpd.probe = p
        } else {
            e.dpd.probe = DPDState.Probe(firstSequence: seq, lastSequence: seq, sent: 1, nextAt: now + retry)
        }
        return sendInformational(.notification(ISAKMPNotification(.rUThere, spi: cookies.spi, data: seq.bigEndianBytes)),
                                 established: e, context: &context)
    }

    // MARK: timers

    mutating func handleTimers(now: MonotonicTime, context: inout IKEv1Context) -> [IKEv1Action] {
        var actions: [IKEv1Action] = []
        switch state {
        case .closed:
            return []
        case .initiatorSentSA, .responderSentSA, .initiatorSentKE, .responderSentKE, .initiatorSentID:
            if now >= createdAt + context.negotiationTimeout {
                state = .closed
                return role == .initiator ? [.failed(.timeout)] : [.deleteISAKMPSA(cookies, reason: .negotiationTimeout)]
            }
            actions += retransmitIfDue(now: now, context: context)
            if isClosed { return actions }
        case .established(var e):
            if now >= e.expiresAt { return actions + deleteAll(reason: .expired, context: &context) }
            actions += retransmitIfDue(now: now, context: context)
            for c in e.children where now >= c.expiresAt {
                actions += deleteChild(inboundSPI: c.sa.child.inboundSPI, reason: .expired, context: &context)
            }
            if case .established(let updated) = state { e = updated }
            actions += retransmitQM2(established: &e, now: now, context: &context)
            state = .established(e)
            if let policy = context.dpd, peerSupportsDPD, let due = e.dpd.dueAt(policy), now >= due {
                if let p = e.dpd.probe, p.sent > policy.retries {
                    // RFC 3706 §5.5: no answer after the retries: the peer is dead.
                    actions.append(.peerDead(cookies))
                    actions += deleteEverything(established: &e, reason: .peerDead)
                    state = .closed
                    return actions
                }
                actions += sendProbe(established: &e, now: now, context: &context)
                state = .established(e)
            }
        }
        return actions + scheduleNext(context: context)
    }

    /// Resends unanswered QM2s; gives up on a quick mode after the retries (nothing was
    /// installed on our side, the reserved SPI is released).
    private func retransmitQM2(established e: inout Established, now: MonotonicTime, context: inout IKEv1Context) -> [IKEv1Action] {
        var actions: [IKEv1Action] = []
        for (mid, x) in e.exchanges {
            guard case .responderSentQM2(var r) = x, now >= r.retransmission.deadline(context.retransmission) else { continue }
            if r.retransmission.attempts >= context.retransmission.retransmissions {
                e.exchanges[mid] = nil
                context.usedSPIs.remove(r.pending.child.inboundSPI)
                actions.append(.failed(.timeout))
                continue
            }
            r.retransmission.attempts += 1
            r.retransmission.sentAt = now
            e.exchanges[mid] = .responderSentQM2(r)
            actions.append(.send(r.retransmission.bytes, to: peer, from: local))
        }
        return actions
    }

    private mutating func retransmitIfDue(now: MonotonicTime, context: IKEv1Context) -> [IKEv1Action] {
        guard var p = pending, now >= p.deadline(context.retransmission) else { return [] }
        guard p.attempts < context.retransmission.retransmissions else {
            pending = nil
            if isEstablished {
                // A quick mode that never got an answer; the ISAKMP SA stays (DPD judges the peer).
                if case .established(var e) = state {
                    for (mid, x) in e.exchanges { if case .initiatorSentQM1 = x { e.exchanges[mid] = nil } }
                    state = .established(e)
                }
                return [.failed(.timeout)]
            }
            state = .closed
            return [.failed(.timeout)]
        }
        p.attempts += 1
        p.sentAt = now
        pending = p
        return [.send(p.bytes, to: p.to, from: p.from)]
    }

    /// The earliest time anything of this SA is due, as one `.schedule`.
    func scheduleNext(context: IKEv1Context, established: Established? = nil) -> [IKEv1Action] {
        var times: [MonotonicTime] = []
        if let p = pending { times.append(p.deadline(context.retransmission)) }
        let e: Established?
        if let established { e = established } else if case .established(let s) = state { e = s } else { e = nil }
        if let e {
            times.append(e.expiresAt)
            times += e.children.map(\.expiresAt)
            for case .responderSentQM2(let r) in e.exchanges.values { times.append(r.retransmission.deadline(context.retransmission)) }
            if let policy = context.dpd, peerSupportsDPD, let due = e.dpd.dueAt(policy) { times.append(due) }
        } else if !isClosed {
            times.append(createdAt + context.negotiationTimeout)
        }
        return times.min().map { [.schedule(at: $0)] } ?? []
    }

    /// The earliest due time, for the owner's combined schedule.
    func nextWakeup(context: IKEv1Context) -> MonotonicTime? {
        if case .schedule(let t)? = scheduleNext(context: context).first { return t }
        return nil
    }
}
