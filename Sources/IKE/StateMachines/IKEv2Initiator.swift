import IPsecCrypto
import SLBWire

/// Configuration of one initiator (the project's own client and the tests' peer).
public struct IKEv2InitiatorConfiguration: Sendable {
    public var local: IKEEndpoint
    public var peer: IKEEndpoint
    public var identity: IdentificationPayload
    /// Sent as IDr when set, and then required to equal the IDr the responder answers with.
    public var peerIdentity: IdentificationPayload?
    public var psk: [UInt8]
    public var ike: ProposalPolicy
    /// The group of the first KE payload; must be one of `ike.dhGroups`.
    public var dhGroup: DHGroup
    /// ESP offer; `localSelectors` become TSi and `remoteSelectors` TSr.
    public var child: ChildSAPolicy
    /// Ask for a virtual address with CP(CFG_REQUEST) INTERNAL_IP4_ADDRESS (§3.15).
    public var requestVirtualAddress: Bool
    /// Our port after the float when a NAT is detected (§2.23, RFC 3948: 4500).
    public var natTraversalPort: UInt16
    /// The peer's port after the float (4500 unless a lab peer listens elsewhere).
    public var peerNATTraversalPort: UInt16
    /// Pretend to be behind a NAT (strongSwan's `encap = yes`): NAT_DETECTION_SOURCE_IP is a
    /// random value that matches no address, so the responder sees a NAT (§2.23), and this end
    /// floats to 4500 and encapsulates ESP (RFC 3948) whenever the responder does NAT detection.
    public var forceUDPEncapsulation: Bool
    public var retransmission: RetransmissionPolicy
    /// COOKIE and INVALID_KE_PAYLOAD retries before giving up (§2.6, §1.2).
    public var maximumInitRetries: Int

    public init(local: IKEEndpoint, peer: IKEEndpoint, identity: IdentificationPayload, psk: [UInt8],
                ike: ProposalPolicy = .gatewayIKE, dhGroup: DHGroup = .curve25519,
                child: ChildSAPolicy = ChildSAPolicy()) {
        self.local = local
        self.peer = peer
        self.identity = identity
        self.peerIdentity = nil
        self.psk = psk
        self.ike = ike
        self.dhGroup = dhGroup
        self.child = child
        self.requestVirtualAddress = false
        self.natTraversalPort = 4500
        self.peerNATTraversalPort = 4500
        self.forceUDPEncapsulation = false
        self.retransmission = .strongSwan
        self.maximumInitRetries = 3
    }
}

/// IKEv2 initiator of one IKE SA (RFC 7296 §1.2), then the same established-phase core as
/// the responder. States: idle → initSent → authSent → established → closed.
public struct IKEv2Initiator {
    private struct InitAttempt {
        var spiI: UInt64
        var ni: [UInt8]
        var keyExchange: any KeyExchange
        var offer: SecurityAssociationPayload
        var cookie: [UInt8]?
        /// NAT_DETECTION_SOURCE_IP data, fixed for the attempt so COOKIE and INVALID_KE retries
        /// resend the same notify (§2.6: everything but the cookie unchanged).
        var natDetectionSource: [UInt8]
        var retries: Int
        var request: [UInt8]
        var send: PendingSend
    }

    private struct AuthSent {
        var core: IKESACore
        var ni: [UInt8]
        var nr: [UInt8]
        var initResponse: [UInt8]
        var childSPI: UInt32
        var childOffer: SecurityAssociationPayload
        var send: PendingSend
    }

    private enum State {
        case idle
        case initSent(InitAttempt)
        case authSent(AuthSent)
        /// `retiring` is the old IKE SA after a rekey, until its deletion completes (§2.18).
        case established(current: IKESACore, retiring: IKESACore?)
        case closed(IKEFailure?)
    }

    public private(set) var configuration: IKEv2InitiatorConfiguration
    private let crypto: any CryptoProvider
    private var state: State = .idle

    public init(configuration: IKEv2InitiatorConfiguration, crypto: any CryptoProvider) {
        self.configuration = configuration
        self.crypto = crypto
    }

    private var context: CoreContext {
        var used: Set<UInt32> = []
        for c in childSAs { used.insert(c.inboundSPI) }
        return CoreContext(crypto: crypto, ikePolicy: configuration.ike, child: configuration.child,
                           retransmission: configuration.retransmission, usedSPIs: used)
    }

    // MARK: observation

    public var isEstablished: Bool {
        switch state {
        case .established: true
        case .idle, .initSent, .authSent, .closed: false
        }
    }

    public var failure: IKEFailure? {
        switch state {
        case .closed(let f): f
        case .idle, .initSent, .authSent, .established: nil
        }
    }

    public var ikeSA: IKESAInfo? {
        switch state {
        case .established(let core, _): core.info
        case .idle, .initSent, .authSent, .closed: nil
        }
    }

    public var childSAs: [ChildSA] {
        switch state {
        case .established(let core, let old): core.children + (old?.children ?? [])
        case .idle, .initSent, .authSent, .closed: []
        }
    }

    // MARK: IKE_SA_INIT (§1.2)

    public mutating func start(now: MonotonicTime) -> [IKEAction] {
        switch state {
        case .idle, .closed:
            break
        case .initSent, .authSent, .established:
            return []
        }
        guard let ke = try? crypto.makeKeyExchange(group: configuration.dhGroup) else {
            state = .closed(.noAcceptableProposal)
            return [.failed(.noAcceptableProposal)]
        }
        var policy = configuration.ike
        policy.dhGroups = [configuration.dhGroup] + policy.dhGroups.filter { $0 != configuration.dhGroup }
        let spiI = IKESACore.randomSPI64(crypto)
        let attempt = InitAttempt(spiI: spiI, ni: crypto.randomBytes(count: IKESACore.nonceLength),
                                  keyExchange: ke, offer: ProposalSelection.offer(policy, protocolID: .ike), cookie: nil,
                                  natDetectionSource: NATDetection.sourceData(crypto, spiI: spiI, endpoint: configuration.local,
                                                                              faked: configuration.forceUDPEncapsulation),
                                  retries: 0, request: [],
                                  send: PendingSend(bytes: [], to: configuration.peer, from: configuration.local, sentAt: now))
        return sendInit(attempt, now: now)
    }

    private mutating func sendInit(_ a: InitAttempt, now: MonotonicTime) -> [IKEAction] {
        var a = a
        var payloads: [Payload] = []
        if let c = a.cookie { payloads.append(.notify(NotifyPayload(.cookie, data: c))) }   // §2.6: COOKIE first
        payloads += [
            .securityAssociation(a.offer),
            .keyExchange(KeyExchangePayload(group: a.keyExchange.group.rawValue, data: a.keyExchange.publicValue)),
            .nonce(NoncePayload(data: a.ni)),
            .notify(NotifyPayload(.natDetectionSourceIP, data: a.natDetectionSource)),
            .notify(NotifyPayload(.natDetectionDestinationIP,
                                  data: NATDetection.hash(crypto, spiI: a.spiI, spiR: 0, endpoint: configuration.peer))),
        ]
        let bytes = IKEMessage(header: IKEHeader(spiI: a.spiI, spiR: 0, nextPayload: .securityAssociation, exchange: .ikeSAInit,
                                                 flags: [.initiator], messageID: 0), payloads: payloads).serialize()
        a.request = bytes
        a.send = PendingSend(bytes: bytes, to: configuration.peer, from: configuration.local, sentAt: now)
        state = .initSent(a)
        return [.send(bytes, to: configuration.peer, from: configuration.local), .schedule(at: a.send.deadline(configuration.retransmission))]
    }

    private mutating func fail(_ f: IKEFailure) -> [IKEAction] {
        state = .closed(f)
        return [.failed(f)]
    }

    public mutating func receive(_ datagram: [UInt8], from: IKEEndpoint, now: MonotonicTime) -> [IKEAction] {
        guard let message = try? IKEMessage.parse(datagram) else { return [.dropped(.malformed)] }
        switch state {
        case .idle, .closed:
            return [.dropped(.unexpectedMessage)]
        case .initSent(let a):
            return receiveInitResponse(a, datagram, message, now: now)
        case .authSent(let s):
            return receiveAuthResponse(s, datagram, message, from: from, now: now)
        case .established(var current, var retiring):
            let h = message.header
            let ctx = context
            var out: IKESACore.Outcome
            if h.spiI == current.id.spiI && h.spiR == current.id.spiR {
                out = current.receive(datagram, message, from: from, now: now, context: ctx)
                if out.closed {
                    state = .closed(nil)
                    return out.actions
                }
                if let new = out.rekeyed {
                    // IKE SA rekeyed (by either end, §2.18): the old SA stays until its D(IKE) completes.
                    state = .established(current: new, retiring: current)
                    return out.actions
                }
            } else if var old = retiring, h.spiI == old.id.spiI && h.spiR == old.id.spiR {
                out = old.receive(datagram, message, from: from, now: now, context: ctx)
                retiring = out.closed ? nil : old
            } else {
                return [.dropped(.unknownSPI)]
            }
            state = .established(current: current, retiring: retiring)
            if case .established(let c, _) = state, let d = c.deadline(configuration.retransmission) {
                out.actions.append(.schedule(at: d))
            }
            return out.actions
        }
    }

    private mutating func receiveInitResponse(_ a: InitAttempt, _ datagram: [UInt8], _ message: IKEMessage,
                                              now: MonotonicTime) -> [IKEAction] {
        let h = message.header
        let p = message.payloads
        guard h.exchange == .ikeSAInit, h.isResponse, !h.isFromOriginalInitiator, h.spiI == a.spiI, h.messageID == 0,
              (try? MessageRules.check(.ikeSAInit, isResponse: true, p)) != nil
        else { return [.dropped(.unexpectedMessage)] }
        if let c = p.notify(.cookie) {
            // §2.6: retry with the cookie first and everything else the same.
            guard a.retries < configuration.maximumInitRetries, (1...CookieJar.maximumLength).contains(c.data.count) else {
                return fail(.notified(.cookie))
            }
            var next = a
            next.cookie = c.data
            next.retries += 1
            return sendInit(next, now: now)
        }
        if let n = p.notify(.invalidKEPayload) {
            // §1.2: retry with the group the responder named, if we would accept it.
            guard a.retries < configuration.maximumInitRetries, n.data.count == 2,
                  let g = DHGroup(rawValue: UInt16(n.data[0]) << 8 | UInt16(n.data[1])),
                  configuration.ike.dhGroups.contains(g), g != a.keyExchange.group,
                  let ke = try? crypto.makeKeyExchange(group: g)
            else { return fail(.notified(.invalidKEPayload)) }
            var next = a
            next.keyExchange = ke
            next.retries += 1
            return sendInit(next, now: now)
        }
        if let e = p.firstErrorNotify { return fail(.notified(e.type)) }
        guard h.spiR != 0, let sa = p.securityAssociation, let ke = p.keyExchange, let nr = p.nonce?.data,
              let (_, match) = ProposalSelection.checkAnswer(sa, offer: a.offer, policy: configuration.ike, dh: .mustMatchKE(ke.group)),
              let suite = match.ikeSuite, suite.dhGroup == a.keyExchange.group, nr.count >= suite.prf.outputLength / 2
        else { return fail(.invalidResponse("IKE_SA_INIT answer")) }
        guard let shared = try? a.keyExchange.sharedSecret(peerPublicValue: ke.data) else {
            return fail(.invalidResponse("KE public value"))
        }
        let seed = KeyDerivation.skeyseed(crypto, prf: suite.prf, ni: a.ni, nr: nr, sharedSecret: shared)
        guard let keys = try? KeyDerivation.ikeKeys(crypto, suite: suite, skeyseed: seed, ni: a.ni, nr: nr, spiI: a.spiI, spiR: h.spiR)
        else { return fail(.invalidResponse("key derivation")) }
        // §2.23: NAT on either side → float to 4500 and encapsulate ESP.
        let peerNAT = NATDetection.translated(p, .natDetectionSourceIP, crypto: crypto, spiI: a.spiI, spiR: h.spiR, endpoint: configuration.peer)
        let ourNAT = NATDetection.translated(p, .natDetectionDestinationIP, crypto: crypto, spiI: a.spiI, spiR: h.spiR, endpoint: configuration.local)
        // A faked NAT (`forceUDPEncapsulation`) counts only when the responder does NAT
        // detection at all: without its NAT_DETECTION notifies it may not listen on 4500.
        let fakedNAT = configuration.forceUDPEncapsulation && p.notify(.natDetectionDestinationIP) != nil
        let nat = peerNAT || ourNAT || fakedNAT
        var local = configuration.local
        var peer = configuration.peer
        if nat && peer.port != configuration.peerNATTraversalPort {
            peer.port = configuration.peerNATTraversalPort
            local.port = configuration.natTraversalPort
        }
        var core = IKESACore(weAreOriginalInitiator: true, id: IKESAIdentifier(spiI: a.spiI, spiR: h.spiR), suite: suite, keys: keys,
                             local: local, peer: peer, udpEncapsulation: nat,
                             peerIdentity: configuration.peerIdentity ?? IdentificationPayload(type: .ipv4Address, data: []),
                             expectedPeerRequest: 0, nextOwnRequest: 2, lastHeard: now)

        // IKE_AUTH -->  SK{IDi, [IDr], AUTH, [CP], SAi2, TSi, TSr, N(INITIAL_CONTACT)}
        let childSPI = IKESACore.randomSPI32(crypto, avoiding: [])
        let childOffer = ProposalSelection.offer(configuration.child.esp, protocolID: .esp, spi: childSPI.bigEndianBytes, dhGroups: [])
        let idi = configuration.identity
        let auth = PSKAuthentication.authData(crypto, prf: suite.prf, psk: configuration.psk, realMessage: a.request,
                                              peerNonce: nr, skP: keys.skPi, identity: idi)
        var payloads: [Payload] = [.identificationInitiator(idi)]
        if let idr = configuration.peerIdentity { payloads.append(.identificationResponder(idr)) }
        payloads.append(.authentication(AuthenticationPayload(method: AuthenticationPayload.sharedKeyMIC, data: auth)))
        if configuration.requestVirtualAddress {
            payloads.append(.configuration(ConfigurationPayload(type: .request, attributes: [
                .init(type: ConfigurationPayload.Attribute.internalIP4Address, value: []),
            ])))
        }
        payloads += [.securityAssociation(childOffer),
                     .trafficSelectorInitiator(TrafficSelectorPayload(selectors: configuration.child.localSelectors)),
                     .trafficSelectorResponder(TrafficSelectorPayload(selectors: configuration.child.remoteSelectors)),
                     .notify(NotifyPayload(.initialContact))]
        guard let bytes = try? core.seal(.ikeAuth, messageID: 1, response: false, payloads, crypto: crypto) else {
            return fail(.invalidResponse("sealing IKE_AUTH"))
        }
        let send = PendingSend(bytes: bytes, to: peer, from: local, sentAt: now)
        state = .authSent(AuthSent(core: core, ni: a.ni, nr: nr, initResponse: Array(datagram), childSPI: childSPI,
                                   childOffer: childOffer, send: send))
        return [.send(bytes, to: peer, from: local), .schedule(at: send.deadline(configuration.retransmission))]
    }

    private mutating func receiveAuthResponse(_ s: AuthSent, _ datagram: [UInt8], _ message: IKEMessage, from: IKEEndpoint,
                                              now: MonotonicTime) -> [IKEAction] {
        let h = message.header
        var core = s.core
        guard h.exchange == .ikeAuth, h.isResponse, !h.isFromOriginalInitiator, h.spiI == core.id.spiI, h.spiR == core.id.spiR,
              h.messageID == 1, let sk = message.payloads.encrypted
        else { return [.dropped(.unexpectedMessage)] }
        let p: [Payload]
        do {
            p = try SKCodec.open(datagram, sk: sk, cipher: core.inboundCipher, crypto: crypto)
        } catch {
            return [.dropped(.integrityCheckFailed)]
        }
        if let e = p.firstErrorNotify, p.authentication == nil {
            return fail(e.type == .authenticationFailed ? .authenticationFailed : .notified(e.type))
        }
        guard (try? MessageRules.check(.ikeAuth, isResponse: true, p)) != nil, let idr = p.identificationResponder,
              let auth = p.authentication
        else { return fail(.invalidResponse("IKE_AUTH answer")) }
        let identityMatches = configuration.peerIdentity.map { $0.type == idr.type && $0.data == idr.data } ?? true
        guard identityMatches,
              PSKAuthentication.verify(auth, crypto, prf: core.suite.prf, psk: configuration.psk, realMessage: s.initResponse,
                                       peerNonce: s.ni, skP: core.keys.skPr, identity: idr)
        else {
            // §2.21.2: an initiator-side failure is reported in a separate INFORMATIONAL.
            var actions: [IKEAction] = []
            if let bytes = try? core.seal(.informational, messageID: 2, response: false,
                                          [.notify(NotifyPayload(.authenticationFailed))], crypto: crypto) {
                actions.append(.send(bytes, to: core.peer, from: core.local))
            }
            return actions + fail(.authenticationFailed)
        }
        core.peerIdentity = idr
        core.lastHeard = now
        if let cp = p.configuration, cp.type == .reply,
           let a = cp.attributes.first(where: { $0.type == ConfigurationPayload.Attribute.internalIP4Address }),
           let v = UInt32(bigEndianBytes: a.value) {
            core.virtualAddress = IPv4Address(v)
        }
        var actions: [IKEAction] = [.established(core.info)]
        if let sa = p.securityAssociation, let tsi = p.trafficSelectorInitiator?.selectors, let tsr = p.trafficSelectorResponder?.selectors,
           let (proposal, match) = ProposalSelection.checkAnswer(sa, offer: s.childOffer, policy: configuration.child.esp, dh: .ignore),
           let peerSPI = UInt32(bigEndianBytes: proposal.spi), peerSPI != 0,
           let k = try? KeyDerivation.childKeys(crypto, prf: core.suite.prf, skD: core.keys.skD, sharedSecret: nil,
                                                ni: s.ni, nr: s.nr, suite: match.espSuite) {
            let child = ChildSA(inboundSPI: s.childSPI, outboundSPI: peerSPI, suite: match.espSuite,
                                inboundKeys: k.responderToInitiator, outboundKeys: k.initiatorToResponder,
                                localSelectors: tsi, remoteSelectors: tsr, udpEncapsulation: core.udpEncapsulation)
            core.children.append(child)
            actions.append(.installChildSA(child, ike: core.id))
        }
        state = .established(current: core, retiring: nil)
        return actions
    }

    // MARK: requests in the established phase

    private mutating func withCurrent(_ body: (inout IKESACore, CoreContext) -> [IKEAction]) -> [IKEAction] {
        switch state {
        case .established(var current, let retiring):
            let actions = body(&current, context)
            state = .established(current: current, retiring: retiring)
            if let d = current.deadline(configuration.retransmission) { return actions + [.schedule(at: d)] }
            return actions
        case .idle, .initSent, .authSent, .closed:
            return []
        }
    }

    /// Empty INFORMATIONAL (§1.4): liveness / dead peer detection.
    public mutating func checkLiveness(now: MonotonicTime) -> [IKEAction] {
        withCurrent { core, ctx in core.startLiveness(now: now, context: ctx) }
    }

    /// An INFORMATIONAL request carrying `payloads` (§1.4); error notifies in the answer are
    /// reported as `.failed(.notified)`.
    public mutating func sendInformational(_ payloads: [Payload], now: MonotonicTime) -> [IKEAction] {
        withCurrent { core, ctx in core.startInformational(payloads, now: now, context: ctx) }
    }

    /// CREATE_CHILD_SA rekeying the Child SA with this inbound SPI (§1.3.3); `pfs` adds a KE.
    public mutating func rekeyChildSA(inboundSPI: UInt32, pfs: DHGroup? = nil, now: MonotonicTime) -> [IKEAction] {
        withCurrent { core, ctx in core.startCreateChildSA(rekeying: inboundSPI, pfs: pfs, tsi: [], tsr: [], now: now, context: ctx).0 }
    }

    /// CREATE_CHILD_SA for an additional Child SA with the configured selectors (§1.3.1).
    public mutating func createChildSA(pfs: DHGroup? = nil, now: MonotonicTime) -> [IKEAction] {
        let tsi = configuration.child.localSelectors, tsr = configuration.child.remoteSelectors
        return withCurrent { core, ctx in core.startCreateChildSA(rekeying: nil, pfs: pfs, tsi: tsi, tsr: tsr, now: now, context: ctx).0 }
    }

    /// CREATE_CHILD_SA rekeying the IKE SA (§1.3.2); the old SA is deleted when it completes.
    public mutating func rekeyIKESA(now: MonotonicTime) -> [IKEAction] {
        switch state {
        case .established(var current, let retiring):
            let ctx = context
            let actions = current.startRekeyIKESA(now: now, context: ctx)
            state = .established(current: current, retiring: retiring)
            return actions
        case .idle, .initSent, .authSent, .closed:
            return []
        }
    }

    /// INFORMATIONAL D(ESP) for one Child SA (§1.4.1).
    public mutating func deleteChildSA(inboundSPI: UInt32, now: MonotonicTime) -> [IKEAction] {
        withCurrent { core, ctx in core.startDeleteChildSAs([inboundSPI], now: now, context: ctx) }
    }

    /// INFORMATIONAL D(IKE) (§1.4.1).
    public mutating func delete(now: MonotonicTime) -> [IKEAction] {
        withCurrent { core, ctx in core.startDeleteIKESA(now: now, context: ctx) }
    }

    // MARK: timers

    public mutating func handleTimers(now: MonotonicTime) -> [IKEAction] {
        let policy = configuration.retransmission
        switch state {
        case .idle, .closed:
            return []
        case .initSent(var a):
            guard a.send.deadline(policy) <= now else { return [.schedule(at: a.send.deadline(policy))] }
            guard let action = a.send.retransmit(now: now, policy: policy) else { return fail(.timeout) }
            state = .initSent(a)
            return [action, .schedule(at: a.send.deadline(policy))]
        case .authSent(var s):
            guard s.send.deadline(policy) <= now else { return [.schedule(at: s.send.deadline(policy))] }
            guard let action = s.send.retransmit(now: now, policy: policy) else { return fail(.timeout) }
            state = .authSent(s)
            return [action, .schedule(at: s.send.deadline(policy))]
        case .established(var current, var retiring):
            let ctx = context
            var actions: [IKEAction] = []
            if var old = retiring {
                let out = old.handleTimers(now: now, context: ctx)
                actions += out.actions
                retiring = out.closed ? nil : old
            }
            let out = current.handleTimers(now: now, context: ctx)
            actions += out.actions
            if out.closed {
                state = .closed(.timeout)
                return actions + [.failed(.timeout)]
            }
            state = .established(current: current, retiring: retiring)
            if let d = [current.deadline(policy), retiring?.deadline(policy)].compactMap({ $0 }).min() { actions.append(.schedule(at: d)) }
            return actions
        }
    }
}
