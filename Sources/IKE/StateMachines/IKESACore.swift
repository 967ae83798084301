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
    /// Set on the one retry after INVALID_KE_PAYLOAD (§1.3), so a confused peer cannot loop us.
    var retriedAfterInvalidKE = false
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
    mutating func receive(_ datagram: [UInt8], _ message: IKEMessage, from: IKEEndpoint, to: IKEEndpoint? = nil,
                          now: MonotonicTime, context: CoreContext) -> Outcome {
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
            return Outcome(actions: [.send(last.bytes, to: from, from: to ?? local)])
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
        // §2.11: answer where the authenticated request came from (NAT mapping changes),
        // from the address and port it was sent to (500 or 4500).
        peer = from
        if let to { local = to }
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
