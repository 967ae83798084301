import IPsecCrypto
import SLBWire

/// Child SA policy of one end: ESP algorithms and the selectors it protects.
public struct ChildSAPolicy: Hashable, Sendable {
    public var esp: ProposalPolicy
    /// Our side of the tunnel (the gateway's inner service address or network).
    public var localSelectors: [TrafficSelector]
    /// The peer side we accept when no virtual address was assigned.
    public var remoteSelectors: [TrafficSelector]

    public init(esp: ProposalPolicy = .gatewayESP, localSelectors: [TrafficSelector] = [.anyIPv4],
                remoteSelectors: [TrafficSelector] = [.anyIPv4]) {
        self.esp = esp
        self.localSelectors = localSelectors
        self.remoteSelectors = remoteSelectors
    }
}

/// Inputs the established phase needs from its owner, per call.
struct CoreContext {
    var crypto: any CryptoProvider
    var ikePolicy: ProposalPolicy
    var child: ChildSAPolicy
    var retransmission: RetransmissionPolicy
    /// Inbound ESP SPIs in use on this node, so new ones are unique (RFC 4303 §2.1).
    var usedSPIs: Set<UInt32>
}

/// A request this end sent and awaits the answer to (window size 1, §2.3).
enum OwnRequest {
    case liveness
    case deleteChildSAs([UInt32])
    case deleteIKESA
    case createChildSA(CreateChildRequest)
    case rekeyIKESA(IKERekeyRequest)
}

struct CreateChildRequest {
    /// Our inbound SPI of the Child SA being rekeyed, nil for a new Child SA.
    var rekeying: UInt32?
    var spi: UInt32
    var nonce: [UInt8]
    var keyExchange: (any KeyExchange)?
    var offer: SecurityAssociationPayload
    var tsi: [TrafficSelector]
    var tsr: [TrafficSelector]
}

struct IKERekeyRequest {
    var spi: UInt64
    var nonce: [UInt8]
    var keyExchange: any KeyExchange
    var offer: SecurityAssociationPayload
}

/// The established phase of one IKE SA, the same for both roles: message windows (§2.3),
/// SK protection, INFORMATIONAL (§1.4) and CREATE_CHILD_SA (§1.3), in either direction.
struct IKESACore {
    /// §2.2: the nonce length we send (≥ half the largest PRF key, 64/2).
    static let nonceLength = 32

    let weAreOriginalInitiator: Bool
    var id: IKESAIdentifier
    var suite: IKESuite
    var keys: IKESAKeys
    var local: IKEEndpoint
    var peer: IKEEndpoint
    var udpEncapsulation: Bool
    var peerIdentity: IdentificationPayload
    var virtualAddress: IPv4Address?
    var children: [ChildSA] = []

    var expectedPeerRequest: UInt32
    var lastResponse: (messageID: UInt32, bytes: [UInt8])?
    var nextOwnRequest: UInt32
    var pending: (request: OwnRequest, send: PendingSend, messageID: UInt32)?
    var queued: [(exchange: ExchangeType, payloads: [Payload], kind: OwnRequest)] = []
    var lastHeard: MonotonicTime
    var ivCounter: UInt64 = 0

    var ourSPI: UInt64 { weAreOriginalInitiator ? id.spiI : id.spiR }

    var info: IKESAInfo {
        IKESAInfo(id: id, local: local, peer: peer, suite: suite, peerIdentity: peerIdentity,
                  virtualAddress: virtualAddress, udpEncapsulation: udpEncapsulation)
    }

    var outboundCipher: SKCipher {
        weAreOriginalInitiator
            ? SKCipher(encryption: suite.encryption, encryptionKey: keys.skEi, integrity: suite.integrity, integrityKey: keys.skAi)
            : SKCipher(encryption: suite.encryption, encryptionKey: keys.skEr, integrity: suite.integrity, integrityKey: keys.skAr)
    }
    var inboundCipher: SKCipher {
        weAreOriginalInitiator
            ? SKCipher(encryption: suite.encryption, encryptionKey: keys.skEr, integrity: suite.integrity, integrityKey: keys.skAr)
            : SKCipher(encryption: suite.encryption, encryptionKey: keys.skEi, integrity: suite.integrity, integrityKey: keys.skAi)
    }

    // MARK: protection

    mutating func seal(_ exchange: ExchangeType, messageID: UInt32, response: Bool, _ payloads: [Payload],
                       crypto: any CryptoProvider) throws -> [UInt8] {
        var flags: IKEHeader.Flags = weAreOriginalInitiator ? [.initiator] : []
        if response { flags.insert(.response) }
        let header = IKEHeader(spiI: id.spiI, spiR: id.spiR, nextPayload: .encrypted, exchange: exchange,
                               flags: flags, messageID: messageID)
        let iv: [UInt8]
        if suite.encryption.isAEAD {
            // RFC 5282 §3.1: the IV must never repeat under one key; a counter guarantees it.
            ivCounter += 1
            iv = ivCounter.bigEndianBytes
        } else {
            iv = crypto.randomBytes(count: suite.encryption.ivLength)
        }
        return try SKCodec.seal(header: header, payloads: payloads, cipher: outboundCipher, iv: iv, crypto: crypto)
    }

    /// Sends (or queues, window 1) a request of ours.
    mutating func request(_ exchange: ExchangeType, _ payloads: [Payload], as kind: OwnRequest,
                          now: MonotonicTime, context: CoreContext) -> [IKEAction] {
        guard pending == nil else { queued.append((exchange, payloads, kind)); return [] }
        let mid = nextOwnRequest
        guard let bytes = try? seal(exchange, messageID: mid, response: false, payloads, crypto: context.crypto) else {
            return [.dropped(.malformed)]
        }
        nextOwnRequest &+= 1
        pending = (kind, PendingSend(bytes: bytes, to: peer, from: local, sentAt: now), mid)
        return [.send(bytes, to: peer, from: local)]
    }

    // MARK: receive

    struct Outcome {
        var actions: [IKEAction] = []
        /// The IKE SA is gone; the owner forgets it.
        var closed = false
        /// An IKE SA rekey produced this SA; the owner adds it (the old one stays until deleted).
        var rekeyed: IKESACore?
        /// Inbound ESP SPIs allocated while handling the message.
        var newSPIs: [UInt32] = []
    }

    /// A protected message for this SA (IKE_AUTH done). `message` is the parsed outer message.
    mutating func receive(_ datagram: [UInt8], _ message: IKEMessage, from: IKEEndpoint, now: MonotonicTime,
                          context: CoreContext) -> Outcome {
        let h = message.header
        // §3.1: the I flag tells which end sent it; a mismatch is not for us.
        guard h.isFromOriginalInitiator != weAreOriginalInitiator else { return Outcome(actions: [.dropped(.unexpectedMessage)]) }
        guard let sk = message.payloads.encrypted, message.payloads.count == 1 else {
            return Outcome(actions: [.dropped(.malformed)])
        }
        if h.isResponse {
            guard let p = pending, p.messageID == h.messageID else { return Outcome(actions: [.dropped(.outsideWindow)]) }
            let payloads: [Payload]
            do {
                payloads = try SKCodec.open(datagram, sk: sk, cipher: inboundCipher, crypto: context.crypto)
                try MessageRules.check(h.exchange, isResponse: true, payloads)
            } catch {
                return Outcome(actions: [.dropped((error as? IKEError)?.code == .integrityCheckFailed ? .integrityCheckFailed : .invalidResponse)])
            }
            lastHeard = now
            pending = nil
            var out = handleResponse(p.request, payloads, exchange: h.exchange, now: now, context: context)
            if !out.closed, out.rekeyed == nil, let next = queued.first {
                queued.removeFirst()
                out.actions += request(next.exchange, next.payloads, as: next.kind, now: now, context: context)
            }
            return out
        }
        // A request from the peer.
        if let last = lastResponse, h.messageID == last.messageID {
            // §2.1: retransmitted request → the same response, after authenticating it.
            guard (try? SKCodec.open(datagram, sk: sk, cipher: inboundCipher, crypto: context.crypto)) != nil else {
                return Outcome(actions: [.dropped(.integrityCheckFailed)])
            }
            return Outcome(actions: [.send(last.bytes, to: from, from: local)])
        }
        guard h.messageID == expectedPeerRequest else {
            // §2.3 / §3.10.1: outside the window → drop; INVALID_MESSAGE_ID is never a response.
            return Outcome(actions: [.dropped(.outsideWindow)])
        }
        let payloads: [Payload]
        do {
            payloads = try SKCodec.open(datagram, sk: sk, cipher: inboundCipher, crypto: context.crypto)
        } catch let e as IKEError where e.code == .unsupportedCriticalPayload || e.code == .invalidSyntax || e.code == .invalidLength || e.code == .truncated {
            // Authentic but malformed inside: answer with the error (§2.5, §2.21.3).
            return Outcome(actions: respondError(e, to: h, from: from, now: now, context: context))
        } catch {
            return Outcome(actions: [.dropped(.integrityCheckFailed)])
        }
        // §2.11: answer where the authenticated request came from (NAT mapping changes).
        peer = from
        lastHeard = now
        do {
            try MessageRules.check(h.exchange, isResponse: false, payloads)
        } catch let e as IKEError {
            return Outcome(actions: respondError(e, to: h, from: from, now: now, context: context))
        } catch {
            return Outcome()
        }
        var out: Outcome
        var response: [Payload]
        switch h.exchange {
        case .informational:
            (response, out) = handleInformational(payloads, context: context)
        case .createChildSA:
            (response, out) = handleCreateChildSA(payloads, now: now, context: context)
        default:
            (response, out) = ([.notify(NotifyPayload(.invalidSyntax))], Outcome())
        }
        out.actions.insert(contentsOf: respond(h, response, context: context), at: 0)
        return out
    }

    private mutating func respondError(_ e: IKEError, to h: IKEHeader, from: IKEEndpoint, now: MonotonicTime,
                                       context: CoreContext) -> [IKEAction] {
        guard let type = e.notify else { return [.dropped(.malformed)] }
        let data = e.payloadType.map { [$0] } ?? []
        return respond(h, [.notify(NotifyPayload(type, data: data))], context: context)
    }

    private mutating func respond(_ h: IKEHeader, _ payloads: [Payload], context: CoreContext) -> [IKEAction] {
        guard let bytes = try? seal(h.exchange, messageID: h.messageID, response: true, payloads, crypto: context.crypto) else {
            return [.dropped(.malformed)]
        }
        lastResponse = (h.messageID, bytes)
        expectedPeerRequest = h.messageID &+ 1
        return [.send(bytes, to: peer, from: local)]
    }

    // MARK: INFORMATIONAL (§1.4)

    private mutating func handleInformational(_ payloads: [Payload], context: CoreContext) -> ([Payload], Outcome) {
        var out = Outcome()
        var response: [Payload] = []
        var deletedInbound: [UInt32] = []
        for d in payloads.deletes {
            switch d.protocolID {
            case .ike:
                // §1.4.1: answer empty, then the IKE SA and its Child SAs are gone.
                for c in children { out.actions.append(.deleteChildSA(inboundSPI: c.inboundSPI, outboundSPI: c.outboundSPI, ike: id)) }
                children = []
                out.actions.append(.deleteIKESA(id))
                out.closed = true
                return ([], out)
            case .esp, .ah:
                for spiBytes in d.spis {
                    guard let spi = UInt32(bigEndianBytes: spiBytes),
                          let i = children.firstIndex(where: { $0.outboundSPI == spi }) else { continue }
                    let c = children.remove(at: i)
                    out.actions.append(.deleteChildSA(inboundSPI: c.inboundSPI, outboundSPI: c.outboundSPI, ike: id))
                    // §1.4.1: unless we are deleting it ourselves, answer with our half.
                    if case .deleteChildSAs(let ours)? = pending?.request, ours.contains(c.inboundSPI) { continue }
                    deletedInbound.append(c.inboundSPI)
                }
            default:
                continue
            }
        }
        if !deletedInbound.isEmpty { response.append(.delete(.esp(deletedInbound))) }
        return (response, out)
    }

    // MARK: CREATE_CHILD_SA as responder (§1.3)

    private mutating func handleCreateChildSA(_ payloads: [Payload], now: MonotonicTime, context: CoreContext) -> ([Payload], Outcome) {
        var out = Outcome()
        guard let sa = payloads.securityAssociation, let ni = payloads.nonce?.data else {
            return ([.notify(NotifyPayload(.invalidSyntax))], out)
        }
        let ke = payloads.keyExchange
        let crypto = context.crypto
        if sa.proposals.first?.protocolID == .ike {
            // §1.3.2: rekey of this IKE SA.
            guard let ke else { return ([.notify(NotifyPayload(.invalidSyntax))], out) }
            switch ProposalSelection.select(sa, protocolID: .ike, policy: context.ikePolicy, dh: .mustMatchKE(ke.group)) {
            case .noProposalChosen:
                return ([.notify(NotifyPayload(.noProposalChosen))], out)
            case .invalidKE(let g):
                return ([.notify(NotifyPayload(.invalidKEPayload, data: [UInt8(g.rawValue >> 8), UInt8(g.rawValue & 0xFF)]))], out)
            case .chosen(var proposal, let match):
                guard let newSuite = match.ikeSuite, let offered = sa.proposals.first(where: { $0.number == proposal.number }),
                      offered.spi.count == 8, let peerSPI = UInt64(exactly: offered.spi.reduce(UInt64(0)) { $0 << 8 | UInt64($1) }),
                      peerSPI != 0
                else { return ([.notify(NotifyPayload(.invalidSyntax))], out) }
                guard let dh = try? crypto.makeKeyExchange(group: newSuite.dhGroup),
                      ke.data.count == newSuite.dhGroup.publicValueLength,
                      let shared = try? dh.sharedSecret(peerPublicValue: ke.data)
                else { return ([.notify(NotifyPayload(.invalidSyntax))], out) }
                let nr = crypto.randomBytes(count: Self.nonceLength)
                let ourSPI = Self.randomSPI64(crypto)
                proposal.spi = ourSPI.bigEndianBytes
                let seed = KeyDerivation.rekeySkeyseed(crypto, oldPRF: suite.prf, oldSKd: keys.skD, sharedSecret: shared, ni: ni, nr: nr)
                let newID = IKESAIdentifier(spiI: peerSPI, spiR: ourSPI)
                guard let newKeys = try? KeyDerivation.ikeKeys(crypto, suite: newSuite, skeyseed: seed, ni: ni, nr: nr,
                                                               spiI: newID.spiI, spiR: newID.spiR)
                else { return ([.notify(NotifyPayload(.noProposalChosen))], out) }
                // §2.18: the rekey's initiator is the new SA's original initiator.
                var new = IKESACore(weAreOriginalInitiator: false, id: newID, suite: newSuite, keys: newKeys,
                                    local: local, peer: peer, udpEncapsulation: udpEncapsulation,
                                    peerIdentity: peerIdentity, virtualAddress: virtualAddress,
                                    expectedPeerRequest: 0, nextOwnRequest: 0, lastHeard: now)
                new.children = children
                children = []
                out.rekeyed = new
                out.actions.append(.rekeyedIKESA(old: id, new: new.info))
                return ([.securityAssociation(SecurityAssociationPayload(proposals: [proposal])), .nonce(NoncePayload(data: nr)),
                         .keyExchange(KeyExchangePayload(group: newSuite.dhGroup.rawValue, data: dh.publicValue))], out)
            }
        }
        // New or rekeyed Child SA (§1.3.1, §1.3.3).
        var rekeyed: ChildSA?
        if let n = payloads.notify(.rekeySA) {
            guard let spi = UInt32(bigEndianBytes: n.spi), let old = children.first(where: { $0.outboundSPI == spi }) else {
                return ([.notify(NotifyPayload(.childSANotFound, protocolID: .esp, spi: n.spi))], out)
            }
            rekeyed = old
        }
        let offeredTSi = payloads.trafficSelectorInitiator?.selectors ?? []
        let offeredTSr = payloads.trafficSelectorResponder?.selectors ?? []
        let (tsi, tsr) = narrowForPeerRequest(offeredTSi: offeredTSi, offeredTSr: offeredTSr, rekeyed: rekeyed, context: context)
        guard !tsi.isEmpty, !tsr.isEmpty else { return ([.notify(NotifyPayload(.tsUnacceptable))], out) }
        switch ProposalSelection.select(sa, protocolID: .esp, policy: context.child.esp, dh: .pfs(ke?.group)) {
        case .noProposalChosen:
            return ([.notify(NotifyPayload(.noProposalChosen))], out)
        case .invalidKE(let g):
            return ([.notify(NotifyPayload(.invalidKEPayload, data: [UInt8(g.rawValue >> 8), UInt8(g.rawValue & 0xFF)]))], out)
        case .chosen(var proposal, let match):
            guard let offered = sa.proposals.first(where: { $0.number == proposal.number }),
                  let peerSPI = UInt32(bigEndianBytes: offered.spi), peerSPI != 0
            else { return ([.notify(NotifyPayload(.invalidSyntax))], out) }
            let suiteESP = match.espSuite
            var shared: [UInt8]?
            var kePayload: [Payload] = []
            if let group = suiteESP.dhGroup, let ke {
                guard let dh = try? crypto.makeKeyExchange(group: group), ke.data.count == group.publicValueLength,
                      let s = try? dh.sharedSecret(peerPublicValue: ke.data)
                else { return ([.notify(NotifyPayload(.invalidSyntax))], out) }
                shared = s
                kePayload = [.keyExchange(KeyExchangePayload(group: group.rawValue, data: dh.publicValue))]
            }
            let nr = crypto.randomBytes(count: Self.nonceLength)
            let spi = Self.randomSPI32(crypto, avoiding: context.usedSPIs)
            proposal.spi = spi.bigEndianBytes
            guard let k = try? KeyDerivation.childKeys(crypto, prf: suite.prf, skD: keys.skD, sharedSecret: shared,
                                                       ni: ni, nr: nr, suite: suiteESP)
            else { return ([.notify(NotifyPayload(.noProposalChosen))], out) }
            // The peer initiated this exchange: i→r keys protect what it sends to us.
            let child = ChildSA(inboundSPI: spi, outboundSPI: peerSPI, suite: suiteESP, inboundKeys: k.initiatorToResponder,
                                outboundKeys: k.responderToInitiator, localSelectors: tsr, remoteSelectors: tsi,
                                udpEncapsulation: udpEncapsulation)
            children.append(child)
            out.newSPIs.append(spi)
            out.actions.append(.installChildSA(child, ike: id))
            // The old Child SA stays until the peer deletes it (§2.8).
            return ([.securityAssociation(SecurityAssociationPayload(proposals: [proposal])), .nonce(NoncePayload(data: nr))]
                    + kePayload + [.trafficSelectorInitiator(TrafficSelectorPayload(selectors: tsi)),
                                   .trafficSelectorResponder(TrafficSelectorPayload(selectors: tsr))], out)
        }
    }

    /// TS for a Child SA the peer asks for. From the peer's point of view TSi is its side.
    /// A rekey keeps the old SA's selectors (§2.8: same selectors), narrowed by the offer.
    private func narrowForPeerRequest(offeredTSi: [TrafficSelector], offeredTSr: [TrafficSelector], rekeyed: ChildSA?,
                                      context: CoreContext) -> ([TrafficSelector], [TrafficSelector]) {
        // When we are the original initiator, the peer (gateway) is "i" for this exchange only.
        let peerAllowed: [TrafficSelector]
        let localAllowed: [TrafficSelector]
        if let old = rekeyed {
            peerAllowed = old.remoteSelectors
            localAllowed = old.localSelectors
        } else if let v = virtualAddress, !weAreOriginalInitiator {
            peerAllowed = [.host(v)]
            localAllowed = context.child.localSelectors
        } else {
            peerAllowed = context.child.remoteSelectors
            localAllowed = context.child.localSelectors
        }
        return (TrafficSelectorNarrowing.narrow(offered: offeredTSi, allowed: peerAllowed),
                TrafficSelectorNarrowing.narrow(offered: offeredTSr, allowed: localAllowed))
    }

    // MARK: our own requests

    mutating func startLiveness(now: MonotonicTime, context: CoreContext) -> [IKEAction] {
        request(.informational, [], as: .liveness, now: now, context: context)
    }

    mutating func startDeleteIKESA(now: MonotonicTime, context: CoreContext) -> [IKEAction] {
        request(.informational, [.delete(.ikeSA)], as: .deleteIKESA, now: now, context: context)
    }

    mutating func startDeleteChildSAs(_ inbound: [UInt32], now: MonotonicTime, context: CoreContext) -> [IKEAction] {
        request(.informational, [.delete(.esp(inbound))], as: .deleteChildSAs(inbound), now: now, context: context)
    }

    /// CREATE_CHILD_SA for a new or rekeyed Child SA (§1.3.1, §1.3.3); `pfs` adds a KE.
    mutating func startCreateChildSA(rekeying: UInt32?, pfs: DHGroup?, tsi: [TrafficSelector], tsr: [TrafficSelector],
                                     now: MonotonicTime, context: CoreContext) -> ([IKEAction], UInt32?) {
        let crypto = context.crypto
        let spi = Self.randomSPI32(crypto, avoiding: context.usedSPIs)
        let nonce = crypto.randomBytes(count: Self.nonceLength)
        var ke: (any KeyExchange)?
        if let pfs { ke = try? crypto.makeKeyExchange(group: pfs); if ke == nil { return ([.failed(.noAcceptableProposal)], nil) } }
        let offer = ProposalSelection.offer(context.child.esp, protocolID: .esp, spi: spi.bigEndianBytes,
                                            dhGroups: pfs.map { [$0] } ?? [])
        var payloads: [Payload] = []
        var selI = tsi, selR = tsr
        if let old = rekeying, let c = children.first(where: { $0.inboundSPI == old }) {
            // §1.3.3: REKEY_SA carries the SPI the exchange initiator expects inbound.
            payloads.append(.notify(NotifyPayload(.rekeySA, protocolID: .esp, spi: c.inboundSPI.bigEndianBytes)))
            selI = c.localSelectors
            selR = c.remoteSelectors
        }
        payloads += [.securityAssociation(offer), .nonce(NoncePayload(data: nonce))]
        if let ke { payloads.append(.keyExchange(KeyExchangePayload(group: ke.group.rawValue, data: ke.publicValue))) }
        payloads += [.trafficSelectorInitiator(TrafficSelectorPayload(selectors: selI)),
                     .trafficSelectorResponder(TrafficSelectorPayload(selectors: selR))]
        let req = CreateChildRequest(rekeying: rekeying, spi: spi, nonce: nonce, keyExchange: ke, offer: offer, tsi: selI, tsr: selR)
        return (request(.createChildSA, payloads, as: .createChildSA(req), now: now, context: context), spi)
    }

    /// CREATE_CHILD_SA rekeying this IKE SA (§1.3.2), with the same suite's DH group.
    mutating func startRekeyIKESA(now: MonotonicTime, context: CoreContext) -> [IKEAction] {
        let crypto = context.crypto
        guard let ke = try? crypto.makeKeyExchange(group: suite.dhGroup) else { return [.failed(.noAcceptableProposal)] }
        let spi = Self.randomSPI64(crypto)
        let nonce = crypto.randomBytes(count: Self.nonceLength)
        var policy = context.ikePolicy
        policy.dhGroups = [suite.dhGroup] + policy.dhGroups.filter { $0 != suite.dhGroup }
        let offer = ProposalSelection.offer(policy, protocolID: .ike, spi: spi.bigEndianBytes)
        let payloads: [Payload] = [.securityAssociation(offer), .nonce(NoncePayload(data: nonce)),
                                   .keyExchange(KeyExchangePayload(group: ke.group.rawValue, data: ke.publicValue))]
        return request(.createChildSA, payloads,
                       as: .rekeyIKESA(IKERekeyRequest(spi: spi, nonce: nonce, keyExchange: ke, offer: offer)),
                       now: now, context: context)
    }

    // MARK: responses to our requests

    private mutating func handleResponse(_ kind: OwnRequest, _ payloads: [Payload], exchange: ExchangeType,
                                         now: MonotonicTime, context: CoreContext) -> Outcome {
        var out = Outcome()
        let crypto = context.crypto
        switch kind {
        case .liveness:
            return out
        case .deleteIKESA:
            for c in children { out.actions.append(.deleteChildSA(inboundSPI: c.inboundSPI, outboundSPI: c.outboundSPI, ike: id)) }
            children = []
            out.actions.append(.deleteIKESA(id))
            out.closed = true
            return out
        case .deleteChildSAs(let inbound):
            for spi in inbound {
                guard let i = children.firstIndex(where: { $0.inboundSPI == spi }) else { continue }
                let c = children.remove(at: i)
                out.actions.append(.deleteChildSA(inboundSPI: c.inboundSPI, outboundSPI: c.outboundSPI, ike: id))
            }
            return out
        case .createChildSA(let req):
            if let e = payloads.firstErrorNotify {
                out.actions.append(.failed(.notified(e.type)))
                return out
            }
            guard exchange == .createChildSA, let sa = payloads.securityAssociation, let nr = payloads.nonce?.data,
                  let (proposal, match) = ProposalSelection.checkAnswer(sa, offer: req.offer, policy: context.child.esp,
                                                                         dh: .pfs(payloads.keyExchange?.group)),
                  let peerSPI = UInt32(bigEndianBytes: proposal.spi), peerSPI != 0,
                  let tsi = payloads.trafficSelectorInitiator?.selectors, let tsr = payloads.trafficSelectorResponder?.selectors
            else {
                out.actions.append(.failed(.invalidResponse("CREATE_CHILD_SA answer")))
                return out
            }
            var shared: [UInt8]?
            if let ke = req.keyExchange {
                guard let peerKE = payloads.keyExchange, peerKE.group == ke.group.rawValue,
                      let s = try? ke.sharedSecret(peerPublicValue: peerKE.data)
                else { out.actions.append(.failed(.invalidResponse("PFS KE"))); return out }
                shared = s
            }
            guard let k = try? KeyDerivation.childKeys(crypto, prf: suite.prf, skD: keys.skD, sharedSecret: shared,
                                                       ni: req.nonce, nr: nr, suite: match.espSuite)
            else { return out }
            let child = ChildSA(inboundSPI: req.spi, outboundSPI: peerSPI, suite: match.espSuite,
                                inboundKeys: k.responderToInitiator, outboundKeys: k.initiatorToResponder,
                                localSelectors: tsi, remoteSelectors: tsr, udpEncapsulation: udpEncapsulation)
            children.append(child)
            out.actions.append(.installChildSA(child, ike: id))
            if let old = req.rekeying {
                // §2.8: the rekey's initiator deletes the old Child SA.
                out.actions += startDeleteChildSAs([old], now: now, context: context)
            }
            return out
        case .rekeyIKESA(let req):
            if let e = payloads.firstErrorNotify {
                out.actions.append(.failed(.notified(e.type)))
                return out
            }
            guard let sa = payloads.securityAssociation, let nr = payloads.nonce?.data, let peerKE = payloads.keyExchange,
                  let (proposal, match) = ProposalSelection.checkAnswer(sa, offer: req.offer, policy: context.ikePolicy,
                                                                         dh: .mustMatchKE(peerKE.group)),
                  let newSuite = match.ikeSuite, newSuite.dhGroup == req.keyExchange.group, proposal.spi.count == 8,
                  let shared = try? req.keyExchange.sharedSecret(peerPublicValue: peerKE.data)
            else {
                out.actions.append(.failed(.invalidResponse("IKE rekey answer")))
                return out
            }
            let peerSPI = proposal.spi.reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
            let seed = KeyDerivation.rekeySkeyseed(crypto, oldPRF: suite.prf, oldSKd: keys.skD, sharedSecret: shared,
                                                   ni: req.nonce, nr: nr)
            let newID = IKESAIdentifier(spiI: req.spi, spiR: peerSPI)
            guard let newKeys = try? KeyDerivation.ikeKeys(crypto, suite: newSuite, skeyseed: seed, ni: req.nonce, nr: nr,
                                                           spiI: newID.spiI, spiR: newID.spiR)
            else { return out }
            var new = IKESACore(weAreOriginalInitiator: true, id: newID, suite: newSuite, keys: newKeys, local: local,
                                peer: peer, udpEncapsulation: udpEncapsulation, peerIdentity: peerIdentity,
                                virtualAddress: virtualAddress, expectedPeerRequest: 0, nextOwnRequest: 0, lastHeard: now)
            new.children = children
            children = []
            out.actions.append(.rekeyedIKESA(old: id, new: new.info))
            // §2.18: the initiator of the rekey deletes the old IKE SA.
            out.actions += startDeleteIKESA(now: now, context: context)
            out.rekeyed = new
            return out
        }
    }

    // MARK: timers

    /// Retransmits our outstanding request, or declares the peer dead (§2.4).
    mutating func handleTimers(now: MonotonicTime, context: CoreContext) -> Outcome {
        var out = Outcome()
        guard var p = pending, p.send.deadline(context.retransmission) <= now else { return out }
        if let action = p.send.retransmit(now: now, policy: context.retransmission) {
            pending = p
            out.actions.append(action)
        } else {
            for c in children { out.actions.append(.deleteChildSA(inboundSPI: c.inboundSPI, outboundSPI: c.outboundSPI, ike: id)) }
            children = []
            out.actions.append(.deleteIKESA(id))
            out.closed = true
        }
        return out
    }

    func deadline(_ policy: RetransmissionPolicy) -> MonotonicTime? { pending?.send.deadline(policy) }

    // MARK: identifiers

    /// Random non-zero IKE SPI (§3.1: SPIs are random, zero means "not yet known").
    static func randomSPI64(_ crypto: any CryptoProvider) -> UInt64 {
        while true {
            let v = crypto.randomBytes(count: 8).reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
            if v != 0 { return v }
        }
    }

    /// Random ESP SPI ≥ 256 (RFC 4303 §2.1 reserves 1–255), unique on this node.
    static func randomSPI32(_ crypto: any CryptoProvider, avoiding used: Set<UInt32>) -> UInt32 {
        while true {
            let v = crypto.randomBytes(count: 4).reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
            if v >= 256, !used.contains(v) { return v }
        }
    }
}
