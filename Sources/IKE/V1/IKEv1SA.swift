import IPsecCrypto
import SLBWire

/// What the SA machines share with the node that owns them.
struct IKEv1Context {
    let crypto: any CryptoProvider
    /// Sorted by priority: the responder picks the first policy any offered transform matches
    /// (IOS compares its policies in priority order against the peer's offers).
    let policies: [ISAKMPPolicy]
    let quickMode: QuickModePolicy
    let dpd: DPDPolicy?
    let retransmission: RetransmissionPolicy
    let negotiationTimeout: TimeSpan
    /// Fake our NAT-D so that the peer floats and encapsulates ESP (spec §0.1).
    let forceUDPEncapsulation: Bool
    /// The address peers send to (the VIP), for our NAT-D and IDir, when the datagram's
    /// destination is not it (a directed-mode SLB rewrote it). nil = the destination as seen.
    var publicAddress: IPv4Address? = nil
    /// ESP SPIs in use on this node (inbound SPIs must be unique, RFC 4301 §4.1).
    var usedSPIs: Set<UInt32>
    /// Initiator: send INITIAL-CONTACT in MM5 (a phase-1 rekey beside a live SA does not).
    var sendInitialContact = true
}

/// One outstanding request of ours, retransmitted until answered (RFC 2408 §5.1: the
/// initiator owns retransmission; duplicates of a request get the cached reply).
struct PendingRequest {
    var bytes: [UInt8]
    var to: IKEEndpoint
    var from: IKEEndpoint
    var sentAt: MonotonicTime
    var attempts = 0
    func deadline(_ p: RetransmissionPolicy) -> MonotonicTime { sentAt + p.timeout(afterAttempt: attempts) }
}

/// A request we answered and the answer, to replay on a retransmitted request.
struct CachedReply {
    /// Bound on cached pairs per SA: one per concurrent exchange is enough in practice.
    static let capacity = 4
    var request: [UInt8]
    var reply: [UInt8]
}

/// One ISAKMP SA and the exchanges under it (RFC 2409 §5 main mode, §5.5 quick mode, §5.7
/// informational), for either role. Inputs are `mutating func`s returning `IKEv1Action`s.
struct IKEv1SA {
    enum Role { case initiator, responder }

    struct Negotiated {
        var suite: IKEv1Phase1Suite
        /// The initiator's SA payload body, for HASH_I/HASH_R (§5).
        var saiBody: [UInt8]
        var psk: [UInt8]
    }

    struct Keyed {
        var negotiated: Negotiated
        var keys: IKEv1Phase1Keys
        var gxi: [UInt8]
        var gxr: [UInt8]
        /// The IV for the next encrypted phase-1 message (App. B).
        var iv: [UInt8]
    }

    struct ChildEntry {
        var sa: IKEv1ChildSA
        var expiresAt: MonotonicTime
    }

    struct Established {
        var suite: IKEv1Phase1Suite
        var keys: IKEv1Phase1Keys
        /// The last CBC output block of phase 1, the root of every exchange IV (App. B).
        var lastPhase1Block: [UInt8]
        var expiresAt: MonotonicTime
        var exchanges: [UInt32: QuickModeExchange] = [:]
        var children: [ChildEntry] = []
        var dpd: DPDState
    }

    enum Phase1State {
        case initiatorSentSA                                   // MM1 -->
        case responderSentSA(Negotiated)                        // <-- MM2
        case initiatorSentKE(Negotiated, dh: any KeyExchange, ni: [UInt8])  // MM3 -->
        case responderSentKE(Keyed)                             // <-- MM4
        case initiatorSentID(Keyed)                             // MM5 -->
        case established(Established)                           // <-- MM6
        case closed
    }

    let role: Role
    var cookies: ISAKMPCookies
    var local: IKEEndpoint
    var peer: IKEEndpoint
    let connectionID: Int
    let createdAt: MonotonicTime
    var state: Phase1State
    var peerSupportsNATT = false
    var peerSupportsDPD = false
    var nat = NATStatus()
    var udpEncapsulation = false
    var peerIdentity: ISAKMPIdentification?
    /// MM5 carried INITIAL-CONTACT (RFC 2407 §4.6.3.3): the peer has no other SA with us.
    var receivedInitialContact = false
    var replies: [CachedReply] = []
    var pending: PendingRequest?
    /// ISAKMP octets received and sent by this SA (phase-1 kilobyte lifetime).
    var octets: UInt64 = 0
    /// Set by an exchange that ends the SA while `Established` is borrowed.
    var closing = false
    /// Initiator only: the PSK and the MM1 SA body we sent.
    var initiatorPSK: [UInt8] = []
    var initiatorSAIBody: [UInt8] = []

    init(role: Role, cookies: ISAKMPCookies, local: IKEEndpoint, peer: IKEEndpoint, connectionID: Int, now: MonotonicTime,
         state: Phase1State) {
        self.role = role
        self.cookies = cookies
        self.local = local
        self.peer = peer
        self.connectionID = connectionID
        self.createdAt = now
        self.state = state
    }

    var isClosed: Bool { if case .closed = state { true } else { false } }
    var isEstablished: Bool { if case .established = state { true } else { false } }

    var showState: ISAKMPSAState {
        switch state {
        case .initiatorSentSA, .closed: .mmNoState
        case .responderSentSA, .initiatorSentKE: .mmSASetup
        case .responderSentKE, .initiatorSentID: .mmKeyExchange
        case .established: .qmIdle
        }
    }

    var suite: IKEv1Phase1Suite? {
        switch state {
        case .initiatorSentSA, .closed: nil
        case .responderSentSA(let n), .initiatorSentKE(let n, _, _): n.suite
        case .responderSentKE(let k), .initiatorSentID(let k): k.negotiated.suite
        case .established(let e): e.suite
        }
    }

    var info: ISAKMPSAInfo {
        ISAKMPSAInfo(cookies: cookies, isInitiator: role == .initiator, local: local, peer: peer, state: showState, suite: suite,
                     peerIdentity: peerIdentity, connectionID: connectionID, nat: nat, peerSupportsDPD: peerSupportsDPD)
    }

    var children: [IKEv1ChildSA] {
        if case .established(let e) = state { return e.children.map(\.sa) }
        return []
    }

    /// When phase 1 of an established SA ends.
    var phase1ExpiresAt: MonotonicTime? {
        if case .established(let e) = state { return e.expiresAt }
        return nil
    }

    /// Hands this SA's ESP SAs over (phase-1 expiry with a successor), leaving it none.
    mutating func takeChildren() -> [ChildEntry] {
        guard case .established(var e) = state else { return [] }
        let taken = e.children
        e.children = []
        state = .established(e)
        return taken
    }

    /// Takes over ESP SAs of the peer's previous ISAKMP SA: their DELETEs and expiry go
    /// through this one from now on.
    mutating func adopt(_ entries: [ChildEntry]) {
        guard case .established(var e) = state else { return }
        for var entry in entries {
            entry.sa.isakmp = cookies
            e.children.append(entry)
        }
        state = .established(e)
    }

    // MARK: input

    /// A datagram for this SA (cookies already matched by the owner).
    mutating func receive(_ datagram: [UInt8], header: ISAKMPHeader, from: IKEEndpoint, to: IKEEndpoint, now: MonotonicTime,
                          context: inout IKEv1Context) -> [IKEv1Action] {
        var actions = dispatch(datagram, header: header, from: from, to: to, now: now, context: &context)
        // The phase-1 kilobyte lifetime (RFC 2409 App. A) counts this SA's own ISAKMP octets.
        octets &+= UInt64(datagram.count)
        for case .send(let b, _, _) in actions { octets &+= UInt64(b.count) }
        if case .established(let e) = state, let kb = e.suite.lifetimeKilobytes, octets >= kb.multipliedReportingOverflow(by: 1024).partialValue {
            actions += deleteAll(reason: .expired, context: &context)
        }
        return actions
    }

    private mutating func dispatch(_ datagram: [UInt8], header: ISAKMPHeader, from: IKEEndpoint, to: IKEEndpoint, now: MonotonicTime,
                                   context: inout IKEv1Context) -> [IKEv1Action] {
        // A retransmitted request gets the same answer again, no new state (RFC 2408 §5.1).
        if let cached = replies.first(where: { $0.request == datagram }) {
            return [.send(cached.reply, to: from, from: to)]
        }
        switch state {
        case .initiatorSentSA:
            return receiveMM2(datagram, header: header, now: now, context: &context)
        case .responderSentSA(let n):
            return receiveMM3(datagram, header: header, negotiated: n, from: from, to: to, now: now, context: &context)
        case .initiatorSentKE(let n, let dh, let ni):
            return receiveMM4(datagram, header: header, negotiated: n, dh: dh, ni: ni, now: now, context: &context)
        case .responderSentKE(let k):
            return receiveMM5(datagram, header: header, keyed: k, from: from, to: to, now: now, context: &context)
        case .initiatorSentID(let k):
            return receiveMM6(datagram, header: header, keyed: k, now: now, context: &context)
        case .established(var e):
            let actions = receiveEstablished(datagram, header: header, established: &e, from: from, to: to, now: now, context: &context)
            state = closing ? .closed : .established(e)
            return actions
        case .closed:
            return [.dropped(.unknownCookies)]
        }
    }

    mutating func remember(request: [UInt8], reply: [UInt8]) {
        replies.append(CachedReply(request: request, reply: reply))
        if replies.count > CachedReply.capacity { replies.removeFirst(replies.count - CachedReply.capacity) }
    }

    // MARK: encryption (RFC 2409 App. B, RFC 2408 §3.1 E flag)

    /// Encrypts a payload chain with zero padding to the block (strongSwan/IOS practice) and
    /// returns the datagram and its last ciphertext block (the next IV of the chain).
    static func seal(_ header: ISAKMPHeader, chain: [UInt8], suite: IKEv1Phase1Suite, key: [UInt8], iv: [UInt8],
                     crypto: any CryptoProvider) -> (datagram: [UInt8], lastBlock: [UInt8])? {
        let block = suite.encryption.blockSize
        var plain = chain
        if plain.count % block != 0 { plain += [UInt8](repeating: 0, count: block - plain.count % block) }
        if plain.isEmpty { plain = [UInt8](repeating: 0, count: block) }
        guard let ct = try? crypto.cbcEncrypt(suite.encryption, key: key, iv: iv, plaintext: plain) else { return nil }
        var h = header
        h.flags |= ISAKMPHeader.flagEncryption
        return (h.serialize(bodyLength: ct.count) + ct, Array(ct.suffix(block)))
    }

    /// Decrypts and parses an encrypted message; the last ciphertext block is the next IV.
    static func open(_ datagram: [UInt8], header: ISAKMPHeader, suite: IKEv1Phase1Suite, key: [UInt8], iv: [UInt8],
                     crypto: any CryptoProvider) -> (message: ISAKMPMessage, lastBlock: [UInt8])? {
        let block = suite.encryption.blockSize
        let body = Array(datagram.dropFirst(ISAKMPHeader.length))
        guard header.isEncrypted, !body.isEmpty, body.count % block == 0,
              let plain = try? crypto.cbcDecrypt(suite.encryption, key: key, iv: iv, ciphertext: body),
              let message = try? ISAKMPMessage.parse(header: header, chain: plain, allowPadding: true)
        else { return nil }
        return (message, Array(body.suffix(block)))
    }

    /// A chain that starts with HASH over everything after it: `hash(rest)` computes the value.
    static func hashedChain(_ rest: [ISAKMPPayload], hash: ([UInt8]) -> [UInt8]) -> [UInt8] {
        let restBytes = ISAKMPMessage.serializeChain(rest)
        var out: [UInt8] = []
        writeGeneric(&out, next: rest.first?.type ?? 0, body: hash(restBytes))
        return out + restBytes
    }

    static func randomMessageID(_ crypto: any CryptoProvider, avoiding used: some Collection<UInt32>) -> UInt32 {
        while true {
            let b = crypto.randomBytes(count: 4)
            let mid = UInt32(bigEndianBytes: b) ?? 0
            if mid != 0, !used.contains(mid) { return mid }
        }
    }

    static func randomCookie(_ crypto: any CryptoProvider) -> UInt64 {
        while true {
            let v = crypto.randomBytes(count: 8).reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
            if v != 0 { return v }
        }
    }

    /// A fresh inbound SPI: never 0–255 (reserved, RFC 4303 §2.1), unique on this node.
    static func randomSPI(_ context: inout IKEv1Context) -> UInt32 {
        while true {
            let spi = UInt32(bigEndianBytes: context.crypto.randomBytes(count: 4)) ?? 0
            if spi > 255, !context.usedSPIs.contains(spi) {
                context.usedSPIs.insert(spi)
                return spi
            }
        }
    }
}

/// DPD bookkeeping of one established ISAKMP SA (RFC 3706 §5).
struct DPDState {
    struct Probe {
        var firstSequence: UInt32
        var lastSequence: UInt32
        var sent: Int
        var nextAt: MonotonicTime
    }
    var lastHeard: MonotonicTime
    var outboundSinceHeard = false
    var nextSequence: UInt32
    var probe: Probe?

    /// When the next probe (or the verdict on the outstanding one) is due.
    func dueAt(_ policy: DPDPolicy) -> MonotonicTime? {
        if let p = probe { return p.nextAt }
        if policy.periodic || outboundSinceHeard { return lastHeard + policy.interval }
        return nil
    }

    func acknowledges(_ seq: UInt32) -> Bool {
        guard let p = probe else { return false }
        return seq &- p.firstSequence <= p.lastSequence &- p.firstSequence
    }
}

/// A quick mode exchange in flight, by message ID (RFC 2409 §5.5).
enum QuickModeExchange {
    case initiatorSentQM1(QuickModeInitiatorState)   // QM1 -->
    case responderSentQM2(QuickModeResponderState)   // <-- QM2
}

struct QuickModeInitiatorState {
    var ni: [UInt8]
    var dh: (any KeyExchange)?
    var inboundSPI: UInt32
    var offered: [ISAKMPTransform]
    var localID: ISAKMPIdentification?
    var remoteID: ISAKMPIdentification?
    /// Last ciphertext block of QM1: the IV of QM2.
    var iv: [UInt8]
}

struct QuickModeResponderState {
    var pending: IKEv1ChildSA
    var lifetime: TimeSpan
    var ni: [UInt8]
    var nr: [UInt8]
    /// Last ciphertext block of QM2: the IV of QM3.
    var iv: [UInt8]
    /// QM2 is resent until QM3 arrives (a lost QM3 would otherwise leave the initiator with
    /// SAs we never install); the initiator answers a duplicate QM2 with its cached QM3.
    var retransmission: PendingRequest
}
