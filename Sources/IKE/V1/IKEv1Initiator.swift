import IPsecCrypto
import SLBWire

/// Configuration of an IKEv1 initiator (a remote peer: used by tests and the bench client).
public struct IKEv1InitiatorConfiguration: Sendable {
    public var local: IKEEndpoint
    public var peer: IKEEndpoint
    public var psk: [UInt8]
    /// Offered in this order in MM1 (one proposal, one transform per policy).
    public var policies: [ISAKMPPolicy]
    public var quickMode: QuickModePolicy
    /// Client identities for quick mode (IDci, IDcr); nil = the ISAKMP peers' addresses.
    public var quickModeIDs: (local: ISAKMPIdentification, remote: ISAKMPIdentification)?
    public var dpd: DPDPolicy?
    public var forceUDPEncapsulation = false
    public var negotiationTimeout: TimeSpan = .seconds(60)
    public var retransmission = RetransmissionPolicy()
    /// INITIAL-CONTACT in MM5 (RFC 2407 §4.6.3.3); false for a phase-1 rekey beside a live SA.
    public var sendInitialContact = true

    public init(local: IKEEndpoint, peer: IKEEndpoint, psk: [UInt8], policies: [ISAKMPPolicy], quickMode: QuickModePolicy,
                dpd: DPDPolicy? = nil) {
        self.local = local
        self.peer = peer
        self.psk = psk
        self.policies = policies
        self.quickMode = quickMode
        self.dpd = dpd
    }
}

/// One IKEv1 initiator: main mode, then quick modes on request, DPD, deletes.
public struct IKEv1Initiator {
    public let configuration: IKEv1InitiatorConfiguration
    private var context: IKEv1Context
    private var sa: IKEv1SA?

    public init(configuration: IKEv1InitiatorConfiguration, crypto: any CryptoProvider) {
        self.configuration = configuration
        // The initiator offers its policies in the configured order.
        self.context = IKEv1Context(crypto: crypto, policies: configuration.policies, quickMode: configuration.quickMode,
                                    dpd: configuration.dpd, retransmission: configuration.retransmission,
                                    negotiationTimeout: configuration.negotiationTimeout,
                                    forceUDPEncapsulation: configuration.forceUDPEncapsulation, usedSPIs: [],
                                    sendInitialContact: configuration.sendInitialContact)
    }

    public var info: ISAKMPSAInfo? { sa?.info }
    public var isEstablished: Bool { sa?.isEstablished ?? false }
    public var children: [IKEv1ChildSA] { sa?.children ?? [] }

    // MM1 -->
    public mutating func start(now: MonotonicTime) -> [IKEv1Action] {
        let (s, actions) = IKEv1SA.startInitiator(local: configuration.local, peer: configuration.peer, psk: configuration.psk,
                                                   connectionID: 1, now: now, context: &context)
        sa = s
        return actions + s.scheduleNext(context: context)
    }

    public mutating func receive(_ datagram: [UInt8], from: IKEEndpoint, to: IKEEndpoint, now: MonotonicTime) -> [IKEv1Action] {
        guard let h = try? ISAKMPHeader.parse(datagram) else { return [.dropped(.malformed)] }
        return perform { sa, ctx in
            guard h.initiatorCookie == sa.cookies.initiator,
                  sa.cookies.responder == 0 || h.responderCookie == 0 || h.responderCookie == sa.cookies.responder
            else { return [.dropped(.unknownCookies)] }
            return sa.receive(datagram, header: h, from: from, to: to, now: now, context: &ctx)
        }
    }

    // QM1 -->
    public mutating func startQuickMode(now: MonotonicTime) -> [IKEv1Action] {
        let ids = configuration.quickModeIDs
        return perform { sa, ctx in sa.startQuickMode(localID: ids?.local, remoteID: ids?.remote, now: now, context: &ctx) }
    }

    public mutating func probePeer(now: MonotonicTime) -> [IKEv1Action] {
        perform { sa, ctx in sa.probePeer(now: now, context: &ctx) }
    }

    public mutating func noteTraffic(inbound: Bool, outbound: Bool, now: MonotonicTime) -> [IKEv1Action] {
        perform { sa, ctx in sa.noteTraffic(inbound: inbound, outbound: outbound, now: now, context: &ctx) }
    }

    public mutating func deleteChildSA(inboundSPI: UInt32, now: MonotonicTime) -> [IKEv1Action] {
        perform { sa, ctx in sa.deleteChild(inboundSPI: inboundSPI, reason: .deletedLocally, context: &ctx) }
    }

    public mutating func deleteISAKMPSA(now: MonotonicTime) -> [IKEv1Action] {
        perform { sa, ctx in sa.deleteAll(reason: .deletedLocally, context: &ctx) }
    }

    public mutating func handleTimers(now: MonotonicTime) -> [IKEv1Action] {
        perform { sa, ctx in sa.handleTimers(now: now, context: &ctx) }
    }

    private mutating func perform(_ body: (inout IKEv1SA, inout IKEv1Context) -> [IKEv1Action]) -> [IKEv1Action] {
        guard var s = sa, !s.isClosed else { return [.dropped(.unknownCookies)] }
        let actions = body(&s, &context)
        sa = s
        return actions
    }
}
