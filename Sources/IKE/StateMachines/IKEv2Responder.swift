import IPsecCrypto
import SLBWire

/// The gateway's IKEv2 responder (RFC 7296): every IKE SA of this node, keyed by our SPI.
/// Datagrams and `now:` in, `IKEAction`s out; it never reads a clock or touches a socket.
///
/// Per IKE SA the life is: IKE_SA_INIT answered → `.halfOpen` (keys derived, not yet
/// authenticated) → IKE_AUTH verified → `.established` (the shared `IKESACore` runs
/// INFORMATIONAL and CREATE_CHILD_SA in both directions) → deleted.
public struct IKEv2Responder {
    public let configuration: IKEv2ResponderConfiguration
    private let crypto: any CryptoProvider
    private var cookies: CookieJar
    private var sas: [UInt64: ResponderSA] = [:]
    /// (peer, SPIi) → our SPI, to recognise a retransmitted IKE_SA_INIT (§2.1).
    private var initIndex: [InitKey: UInt64] = [:]
    private var pool: AddressPool?
    private var usedSPIs: Set<UInt32> = []
    public private(set) var halfOpenCount = 0
    private var wakeup: MonotonicTime?
    /// The last answer of SAs that ended with it (AUTHENTICATION_FAILED, D(IKE)), so a
    /// retransmitted request still gets it (§2.1) though the SA is gone. Bounded, short-lived.
    private var closedAnswers: [UInt64: ClosedAnswer] = [:]

    struct ClosedAnswer {
        var request: [UInt8]
        var response: [UInt8]
        var from: IKEEndpoint
        var expires: MonotonicTime
    }

    struct InitKey: Hashable {
        var peer: IKEEndpoint
        var spiI: UInt64
    }

    public init(configuration: IKEv2ResponderConfiguration, crypto: any CryptoProvider) {
        self.configuration = configuration
        self.crypto = crypto
        self.cookies = CookieJar(secret: configuration.cookieSecret)
        self.pool = configuration.addressPool.map(AddressPool.init(network:))
    }

    public var establishedCount: Int { sas.count - halfOpenCount }
    public var establishedSAs: [IKESAInfo] { sas.values.compactMap(\.establishedInfo) }
    public func childSAs(of id: IKESAIdentifier) -> [ChildSA] { sas[id.spiR]?.children ?? [] }

    /// A new farm-wide cookie secret; cookies of the previous one stay valid once (§2.6).
    public mutating func rotateCookieSecret(_ secret: CookieJar.Secret) { cookies.rotate(to: secret) }

    var context: CoreContext {
        CoreContext(crypto: crypto, ikePolicy: configuration.ike, child: configuration.child,
                    retransmission: configuration.retransmission, usedSPIs: usedSPIs)
    }

    // MARK: input

    /// One IKE datagram (non-ESP marker already stripped) that arrived from `from` at `to`.
    public mutating func receive(_ datagram: [UInt8], from: IKEEndpoint, to: IKEEndpoint, now: MonotonicTime) -> [IKEAction] {
        let message: IKEMessage
        do {
            message = try IKEMessage.parse(datagram)
        } catch let e as IKEError {
            return answerUnparsable(datagram, e, from: from, to: to)
        } catch {
            return [.dropped(.malformed)]
        }
        let h = message.header
        var actions: [IKEAction]
        if h.exchange == .ikeSAInit {
            guard !h.isResponse, h.isFromOriginalInitiator, h.spiR == 0, h.messageID == 0 else {
                return [.dropped(.unexpectedMessage)]
            }
            actions = receiveInit(datagram, message, from: from, to: to, now: now)
        } else {
            guard sas[h.spiR]?.id.spiI == h.spiI, var sa = sas.removeValue(forKey: h.spiR) else {
                if let closed = closedAnswers[h.spiR], closed.request == datagram, closed.expires > now {
                    return [.send(closed.response, to: from, from: closed.from)]
                }
                // §2.21.4: INVALID_IKE_SPI is optional and unauthenticated; stay silent.
                return [.dropped(.unknownSPI)]
            }
            let wasHalfOpen = sa.isHalfOpen
            let others = sas
            let result = sa.receive(datagram, message, from: from, to: to, now: now, context: context,
                                    configuration: configuration, pool: &pool,
                                    staleOwners: { identity, address in Self.staleSAs(in: others, identity: identity, address: address).map(\.key) })
            actions = result.actions
            absorb(result, sa: sa, wasHalfOpen: wasHalfOpen)
            if result.initialContact, let info = sas[h.spiR]?.establishedInfo { actions += dropSuperseded(by: info) }
            if result.closed, !h.isResponse, closedAnswers.count < configuration.maximumHalfOpen,
               case .send(let bytes, _, let local)? = result.actions.first(where: { if case .send = $0 { true } else { false } }) {
                closedAnswers[h.spiR] = ClosedAnswer(request: datagram, response: bytes, from: local,
                                                     expires: now + configuration.halfOpenTimeout)
            }
        }
        actions += rescheduleIfEarlier(now: now)
        return actions
    }

    /// Header parsed but the payloads are bad: only an IKE_SA_INIT request gets an
    /// unprotected answer (§2.21.1); protected exchanges are answered by their SA.
    private func answerUnparsable(_ datagram: [UInt8], _ e: IKEError, from: IKEEndpoint, to: IKEEndpoint) -> [IKEAction] {
        guard datagram.count >= IKEHeader.length else { return [.dropped(.malformed)] }
        var r = WireReader(datagram)
        guard let spiI = try? r.u64(), let spiR = try? r.u64(), let _ = try? r.u8(), let version = try? r.u8(),
              let exchange = try? r.u8(), let flags = try? r.u8(), let mid = try? r.u32() else { return [.dropped(.malformed)] }
        let f = IKEHeader.Flags(rawValue: flags)
        guard !f.contains(.response) else { return [.dropped(.malformed)] }
        if e.code == .invalidMajorVersion {
            // §2.5: a higher major version gets INVALID_MAJOR_VERSION; IKEv1 (1.0) is not ours.
            guard version >> 4 > 2 else { return [.dropped(.notIKEv2)] }
            return [unprotectedNotify(.invalidMajorVersion, spiI: spiI, spiR: spiR, exchange: ExchangeType(rawValue: exchange),
                                      messageID: mid, to: from, from: to)]
        }
        guard exchange == ExchangeType.ikeSAInit.rawValue, spiR == 0, mid == 0, let type = e.notify else {
            return [.dropped(.malformed)]
        }
        let data = e.payloadType.map { [$0] } ?? []
        return [unprotectedNotify(type, data: data, spiI: spiI, spiR: 0, exchange: .ikeSAInit, messageID: 0, to: from, from: to)]
    }

    private func unprotectedNotify(_ type: NotifyType, data: [UInt8] = [], spiI: UInt64, spiR: UInt64, exchange: ExchangeType,
                                   messageID: UInt32, to: IKEEndpoint, from: IKEEndpoint) -> IKEAction {
        let m = IKEMessage(header: IKEHeader(spiI: spiI, spiR: spiR, nextPayload: .notify, exchange: exchange,
                                             flags: [.response], messageID: messageID),
                           payloads: [.notify(NotifyPayload(type, data: data))])
        return .send(m.serialize(), to: to, from: from)
    }

    // MARK: IKE_SA_INIT (§1.2, §2.6, §2.7, §2.10, §2.23)

    private mutating func receiveInit(_ datagram: [UInt8], _ message: IKEMessage, from: IKEEndpoint, to: IKEEndpoint,
                                      now: MonotonicTime) -> [IKEAction] {
        let h = message.header
        let payloads = message.payloads
        func reply(_ type: NotifyType, _ data: [UInt8] = []) -> [IKEAction] {
            [unprotectedNotify(type, data: data, spiI: h.spiI, spiR: 0, exchange: .ikeSAInit, messageID: 0, to: from, from: to)]
        }
        // 1. Retransmission: the same request gets the same answer, no second SA (§2.1).
        if let spi = initIndex[InitKey(peer: from, spiI: h.spiI)], let sa = sas[spi] {
            if let cached = sa.cachedInitResponse(for: datagram) { return [.send(cached, to: from, from: to)] }
            return [.dropped(.retransmissionMismatch)]
        }
        do {
            try MessageRules.check(.ikeSAInit, isResponse: false, payloads)
        } catch let e as IKEError {
            return reply(e.notify ?? .invalidSyntax)
        } catch {
            return [.dropped(.malformed)]
        }
        guard let sa = payloads.securityAssociation, let ke = payloads.keyExchange, let ni = payloads.nonce?.data else {
            return reply(.invalidSyntax)
        }
        // Bounded tables: a full gateway stays silent so the initiator (or the SLB) tries another.
        guard halfOpenCount < configuration.maximumHalfOpen, establishedCount < configuration.maximumEstablished else {
            return [.dropped(.tableFull)]
        }
        // 2. COOKIE under load (§2.6): stateless until the initiator proves its address.
        if halfOpenCount >= configuration.cookieThreshold {
            let valid = payloads.notify(.cookie).map {
                cookies.verify($0.data, crypto, ni: ni, initiator: from.address, spiI: h.spiI)
            } ?? false
            guard valid else {
                return reply(.cookie, cookies.cookie(crypto, ni: ni, initiator: from.address, spiI: h.spiI))
            }
        }
        // 3. Proposal selection and KE group (§2.7, §1.2).
        let proposal: Proposal
        let suite: IKESuite
        switch ProposalSelection.select(sa, protocolID: .ike, policy: configuration.ike, dh: .mustMatchKE(ke.group)) {
        case .noProposalChosen:
            return reply(.noProposalChosen)
        case .invalidKE(let g):
            return reply(.invalidKEPayload, [UInt8(g.rawValue >> 8), UInt8(g.rawValue & 0xFF)])
        case .chosen(let p, let m):
            guard let s = m.ikeSuite else { return reply(.noProposalChosen) }
            proposal = p
            suite = s
        }
        // §2.10: nonce at least half the PRF key size.
        guard ni.count >= suite.prf.outputLength / 2 else { return reply(.invalidSyntax) }
        guard ke.data.count == suite.dhGroup.publicValueLength,
              let dh = try? crypto.makeKeyExchange(group: suite.dhGroup),
              let shared = try? dh.sharedSecret(peerPublicValue: ke.data)
        else { return reply(.invalidSyntax) }

        var spiR = IKESACore.randomSPI64(crypto)
        while sas[spiR] != nil { spiR = IKESACore.randomSPI64(crypto) }
        let nr = crypto.randomBytes(count: IKESACore.nonceLength)
        let seed = KeyDerivation.skeyseed(crypto, prf: suite.prf, ni: ni, nr: nr, sharedSecret: shared)
        guard let keys = try? KeyDerivation.ikeKeys(crypto, suite: suite, skeyseed: seed, ni: ni, nr: nr, spiI: h.spiI, spiR: spiR)
        else { return reply(.noProposalChosen) }

        // §2.23 NAT detection, over the configured VIP (what the client addressed), not the
        // address the SLB may have rewritten it to.
        let publicEndpoint = configuration.publicEndpoint(for: to)
        let peerBehindNAT = NATDetection.translated(payloads, .natDetectionSourceIP, crypto: crypto, spiI: h.spiI, spiR: 0, endpoint: from)
        let weBehindNAT = NATDetection.translated(payloads, .natDetectionDestinationIP, crypto: crypto, spiI: h.spiI, spiR: 0,
                                                  endpoint: publicEndpoint)
        let natdSource = configuration.forceUDPEncapsulation
            ? crypto.randomBytes(count: HashAlgorithm.sha1.digestLength)
            : NATDetection.hash(crypto, spiI: h.spiI, spiR: spiR, endpoint: publicEndpoint)
        let natdDestination = NATDetection.hash(crypto, spiI: h.spiI, spiR: spiR, endpoint: from)
        let offeredNATD = payloads.notify(.natDetectionSourceIP) != nil

        var responsePayloads: [Payload] = [
            .securityAssociation(SecurityAssociationPayload(proposals: [proposal])),
            .keyExchange(KeyExchangePayload(group: suite.dhGroup.rawValue, data: dh.publicValue)),
            .nonce(NoncePayload(data: nr)),
        ]
        if offeredNATD {
            // §2.23: only answer NAT detection when the initiator asked.
            responsePayloads.append(.notify(NotifyPayload(.natDetectionSourceIP, data: natdSource)))
            responsePayloads.append(.notify(NotifyPayload(.natDetectionDestinationIP, data: natdDestination)))
        }
        let response = IKEMessage(header: IKEHeader(spiI: h.spiI, spiR: spiR, nextPayload: .securityAssociation,
                                                    exchange: .ikeSAInit, flags: [.response], messageID: 0),
                                  payloads: responsePayloads).serialize()
        let half = HalfOpenSA(id: IKESAIdentifier(spiI: h.spiI, spiR: spiR), suite: suite, keys: keys, ni: ni, nr: nr,
                              local: to, peer: from,
                              udpEncapsulation: peerBehindNAT || weBehindNAT || (offeredNATD && configuration.forceUDPEncapsulation),
                              initRequest: datagram, initResponse: response, expires: now + configuration.halfOpenTimeout)
        sas[spiR] = ResponderSA(halfOpen: half)
        initIndex[InitKey(peer: from, spiI: h.spiI)] = spiR
        halfOpenCount += 1
        return [.send(response, to: from, from: to)]
    }

    // MARK: bookkeeping

    private mutating func absorb(_ result: ResponderSA.Result, sa: ResponderSA, wasHalfOpen: Bool) {
        for spi in result.newSPIs { usedSPIs.insert(spi) }
        for a in result.actions {
            switch a {
            // A Child SA made by the answer to our own CREATE_CHILD_SA (its SPI is not in newSPIs).
            case .installChildSA(let c, _): usedSPIs.insert(c.inboundSPI)
            case .deleteChildSA(let inbound, _, _): usedSPIs.remove(inbound)
            default: break
            }
        }
        if wasHalfOpen && (!sa.isHalfOpen || result.closed) { halfOpenCount -= 1 }
        // The index outlives the half-open phase, so a late duplicate IKE_SA_INIT for an
        // established SA is recognised (and dropped) instead of opening a second SA.
        if result.closed { initIndex[InitKey(peer: sa.initPeer, spiI: sa.id.spiI)] = nil }
        if let new = result.rekeyed {
            pool?.move(from: sa.id.spiR, to: new.id.spiR)
            sas[new.id.spiR] = ResponderSA(established: new)
        }
        if result.closed {
            pool?.release(owner: sa.id.spiR)
        } else {
            sas[sa.id.spiR] = sa
        }
    }

    /// §2.4 INITIAL_CONTACT: the peer has no other IKE SA with us, so older SAs with the same
    /// authenticated identity *from the same address* are stale (a client that restarted or
    /// came back after a failover): removed locally, without a DELETE the peer could not read,
    /// with their Child SAs and pool leases. The address is part of the match (as IKEv1 does)
    /// so several clients behind one NAT sharing a group identity do not evict each other.
    private mutating func dropSuperseded(by info: IKESAInfo) -> [IKEAction] {
        let stale = Self.staleSAs(in: sas.filter { $0.key != info.id.spiR }, identity: info.peerIdentity, address: info.peer.address)
        var actions: [IKEAction] = []
        for (key, other) in stale.sorted(by: { $0.key < $1.key }) {
            for c in other.children {
                actions.append(.deleteChildSA(inboundSPI: c.inboundSPI, outboundSPI: c.outboundSPI, ike: other.id))
                usedSPIs.remove(c.inboundSPI)
            }
            actions.append(.deleteIKESA(other.id))
            sas[key] = nil
            pool?.release(owner: key)
            initIndex[InitKey(peer: other.initPeer, spiI: other.id.spiI)] = nil
        }
        return actions
    }

    private static func staleSAs(in sas: [UInt64: ResponderSA], identity: IdentificationPayload,
                                 address: IPv4Address) -> [UInt64: ResponderSA] {
        sas.filter { _, other in
            guard let o = other.establishedInfo else { return false }
            return o.peerIdentity == identity && o.peer.address == address
        }
    }

    private mutating func rescheduleIfEarlier(now: MonotonicTime) -> [IKEAction] {
        guard let next = nextDeadline() else { return [] }
        if let w = wakeup, w <= next, w > now { return [] }
        wakeup = next
        return [.schedule(at: next)]
    }

    private func nextDeadline() -> MonotonicTime? {
        sas.values.compactMap { $0.deadline(configuration) }.min()
    }

    // MARK: timers and our own requests

    /// Expires half-open SAs, retransmits our requests, starts liveness checks.
    public mutating func handleTimers(now: MonotonicTime) -> [IKEAction] {
        var actions: [IKEAction] = []
        closedAnswers = closedAnswers.filter { $0.value.expires > now }
        for key in Array(sas.keys) {
            guard var sa = sas.removeValue(forKey: key) else { continue }
            let wasHalfOpen = sa.isHalfOpen
            let result = sa.handleTimers(now: now, context: context, configuration: configuration)
            actions += result.actions
            absorb(result, sa: sa, wasHalfOpen: wasHalfOpen)
        }
        wakeup = nextDeadline()
        if let w = wakeup { actions.append(.schedule(at: w)) }
        return actions
    }

    /// Sends an empty INFORMATIONAL to check the peer is alive (§1.4).
    public mutating func checkLiveness(of id: IKESAIdentifier, now: MonotonicTime) -> [IKEAction] {
        perform(on: id, now: now) { core, ctx in core.startLiveness(now: now, context: ctx) }
    }

    /// Deletes the IKE SA (and its Child SAs) with an INFORMATIONAL D(IKE) (§1.4.1).
    public mutating func delete(_ id: IKESAIdentifier, now: MonotonicTime) -> [IKEAction] {
        perform(on: id, now: now) { core, ctx in core.startDeleteIKESA(now: now, context: ctx) }
    }

    /// Deletes one Child SA with an INFORMATIONAL D(ESP) (§1.4.1), e.g. when its ESP SA
    /// reached its hard lifetime; the peer answers with its half.
    public mutating func deleteChildSA(_ id: IKESAIdentifier, inboundSPI: UInt32, now: MonotonicTime) -> [IKEAction] {
        perform(on: id, now: now) { core, ctx in
            core.children.contains { $0.inboundSPI == inboundSPI } ? core.startDeleteChildSAs([inboundSPI], now: now, context: ctx) : []
        }
    }

    /// CREATE_CHILD_SA rekeying one Child SA (§1.3.3, §2.8), started by the gateway when the
    /// ESP SA reaches its soft lifetime and the peer has not rekeyed it. No PFS (the Child SA
    /// of IKE_AUTH had none; strongSwan's and Windows' default ESP proposals carry no DH
    /// group). The answer installs the new pair and this end, as the rekey's initiator,
    /// deletes the old one. A collision with the peer's own rekey (§2.8.1) leaves one
    /// redundant Child SA, which strongSwan deletes by the nonce rule; ours expires.
    public mutating func rekeyChildSA(_ id: IKESAIdentifier, inboundSPI: UInt32, now: MonotonicTime) -> [IKEAction] {
        // The new SPI is reserved when the answer installs the pair (absorb), so a refused
        // rekey leaves nothing behind.
        perform(on: id, now: now) { core, ctx in
            guard core.children.contains(where: { $0.inboundSPI == inboundSPI }) else { return [] }
            return core.startCreateChildSA(rekeying: inboundSPI, pfs: nil, tsi: [], tsr: [], now: now, context: ctx).0
        }
    }

    private mutating func perform(on id: IKESAIdentifier, now: MonotonicTime,
                                  _ body: (inout IKESACore, CoreContext) -> [IKEAction]) -> [IKEAction] {
        guard var sa = sas[id.spiR] else { return [] }
        let ctx = context
        guard let actions = sa.withEstablished({ body(&$0, ctx) }) else { return [] }
        sas[id.spiR] = sa
        return actions + rescheduleIfEarlier(now: now)
    }
}
