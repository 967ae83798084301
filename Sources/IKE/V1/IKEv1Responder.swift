import IPsecCrypto
import SLBWire

/// Configuration of the gateway's IKEv1 responder (IOS `crypto isakmp …`, `crypto ipsec …`).
public struct IKEv1ResponderConfiguration: Sendable {
    /// `crypto isakmp policy N`, any order (sorted by priority when used).
    public var policies: [ISAKMPPolicy]
    /// Transform sets, PFS and lifetimes of the (dynamic) crypto map.
    public var quickMode: QuickModePolicy
    /// `crypto isakmp key KEY address A [MASK]`.
    public var preSharedKeys: PreSharedKeyTable
    /// `crypto isakmp keepalive …`; nil = never probe (R-U-THERE is still answered).
    public var dpd: DPDPolicy?
    /// Lie in our NAT-D so the peer encapsulates ESP in UDP/4500 (spec §0.1).
    public var forceUDPEncapsulation: Bool
    /// The VIP peers address (NAT-D and IDir use it); nil = the datagram's destination.
    public var virtualIP: IPv4Address?
    /// A main mode not finished within this is forgotten (IOS: about 60 s).
    public var negotiationTimeout: TimeSpan
    /// Bound on ISAKMP SAs (half-open and established).
    public var maximumSAs: Int
    /// Retransmission of our own requests (quick modes we start).
    public var retransmission: RetransmissionPolicy

    public init(policies: [ISAKMPPolicy] = ISAKMPPolicy.seedPolicies, quickMode: QuickModePolicy = .seeds,
                preSharedKeys: PreSharedKeyTable, dpd: DPDPolicy? = nil) {
        self.policies = policies
        self.quickMode = quickMode
        self.preSharedKeys = preSharedKeys
        self.dpd = dpd
        self.forceUDPEncapsulation = false
        self.virtualIP = nil
        self.negotiationTimeout = .seconds(60)
        self.maximumSAs = 20_000
        self.retransmission = RetransmissionPolicy()
    }
}

/// The gateway's IKEv1 responder: every ISAKMP SA of this node, keyed by our cookie (CKY-R).
/// Datagrams and `now:` in, `IKEv1Action`s out; no clock, no socket.
public struct IKEv1Responder {
    public let configuration: IKEv1ResponderConfiguration
    private var context: IKEv1Context
    private var sas: [UInt64: IKEv1SA] = [:]
    /// (peer address, CKY-I) → CKY-R, to answer a retransmitted MM1 without a second SA;
    /// kept for the SA's life so a late duplicate never opens a second one.
    private var mm1Index: [MM1Key: UInt64] = [:]
    private var nextConnectionID = 1
    /// Each SA's next due time, by CKY-R.
    private var timers = TimerQueue<UInt64>()
    /// The time last handed out in `.schedule(at:)`; only an earlier one is announced between
    /// timer runs.
    private var wakeup: MonotonicTime?

    struct MM1Key: Hashable {
        var peer: IPv4Address
        var initiatorCookie: UInt64
    }

    public init(configuration: IKEv1ResponderConfiguration, crypto: any CryptoProvider) {
        self.configuration = configuration
        self.context = IKEv1Context(crypto: crypto, policies: configuration.policies.sorted { $0.priority < $1.priority },
                                    quickMode: configuration.quickMode, dpd: configuration.dpd,
                                    retransmission: configuration.retransmission,
                                    negotiationTimeout: configuration.negotiationTimeout,
                                    forceUDPEncapsulation: configuration.forceUDPEncapsulation,
                                    publicAddress: configuration.virtualIP, usedSPIs: [])
    }

    public var count: Int { sas.count }
    public var establishedCount: Int { sas.values.filter(\.isEstablished).count }
    public var isakmpSAs: [ISAKMPSAInfo] { sas.values.map(\.info).sorted { $0.connectionID < $1.connectionID } }
    public func childSAs(of cookies: ISAKMPCookies) -> [IKEv1ChildSA] { sas[cookies.responder]?.children ?? [] }

    /// The rows of `show crypto isakmp sa`.
    public func snapshot() -> [ISAKMPSASnapshot] { isakmpSAs.map(ISAKMPSASnapshot.init(info:)) }

    // MARK: input

    /// One ISAKMP datagram (non-ESP marker already stripped) from `from` to `to`.
    public mutating func receive(_ datagram: [UInt8], from: IKEEndpoint, to: IKEEndpoint, now: MonotonicTime) -> [IKEv1Action] {
        guard let h = try? ISAKMPHeader.parse(datagram) else { return [.dropped(.malformed)] }
        if h.responderCookie == 0 {
            return receiveFirst(datagram, h, from: from, to: to, now: now)
        }
        guard var sa = sas[h.responderCookie], sa.cookies.initiator == h.initiatorCookie else { return [.dropped(.unknownCookies)] }
        let wasEstablished = sa.isEstablished
        var actions = sa.receive(datagram, header: h, from: from, to: to, now: now, context: &context).withoutSchedules
        store(sa)
        if !wasEstablished, sa.isEstablished, sa.receivedInitialContact { actions += forgetOlderSAs(of: sa) }
        actions += rescheduleIfEarlier(sa)
        return actions
    }

    private mutating func receiveFirst(_ datagram: [UInt8], _ h: ISAKMPHeader, from: IKEEndpoint, to: IKEEndpoint,
                                       now: MonotonicTime) -> [IKEv1Action] {
        let key = MM1Key(peer: from.address, initiatorCookie: h.initiatorCookie)
        if let r = mm1Index[key], var sa = sas[r] {
            let actions = sa.receive(datagram, header: h, from: from, to: to, now: now, context: &context).withoutSchedules
            store(sa)
            return actions + rescheduleIfEarlier(sa)
        }
        guard let m = try? ISAKMPMessage.parse(datagram), h.messageID == 0 else { return [.dropped(.malformed)] }
        switch h.exchange {
        case .identityProtection:
            break
        case .aggressive:
            // Aggressive mode exposes the PSK hash to offline guessing; refused by policy.
            return [refusal(.noProposalChosen, h, from: from, to: to), .dropped(.notSupported)]
        default:
            return [refusal(.invalidExchangeType, h, from: from, to: to), .dropped(.notSupported)]
        }
        guard sas.count < configuration.maximumSAs else { return [.dropped(.tableFull)] }
        let id = nextConnectionID
        switch IKEv1SA.respondToMM1(datagram, m, from: from, to: to, psk: configuration.preSharedKeys.key(for: from.address),
                                    connectionID: id, now: now, context: &context) {
        case .refused(let actions):
            return actions
        case .accepted(let sa, let actions):
            nextConnectionID += 1
            sas[sa.cookies.responder] = sa
            mm1Index[key] = sa.cookies.responder
            timers.set(sa.cookies.responder, at: sa.nextWakeup(context: context))
            return actions + rescheduleIfEarlier(sa)
        }
    }

    private func refusal(_ type: ISAKMPNotifyType, _ h: ISAKMPHeader, from: IKEEndpoint, to: IKEEndpoint) -> IKEv1Action {
        let n = ISAKMPMessage.serialize(
            ISAKMPHeader(initiatorCookie: h.initiatorCookie, responderCookie: 0, nextPayload: 0, exchange: .informational),
            [.notification(ISAKMPNotification(type))])
        return .send(n, to: from, from: to)
    }

    /// INITIAL-CONTACT (RFC 2407 §4.6.3.3): other SAs with the same peer address and phase-1
    /// identity belong to a previous life of that peer; they are removed locally, without a
    /// DELETE the peer could not match. Peers behind one NAT differ by identity (or port), so
    /// they are not caught. IOS deletes by peer in the same way.
    private mutating func forgetOlderSAs(of sa: IKEv1SA) -> [IKEv1Action] {
        let stale = sas.values.filter {
            $0.cookies != sa.cookies && $0.isEstablished && $0.peer.address == sa.peer.address && $0.peerIdentity == sa.peerIdentity
        }
        var actions: [IKEv1Action] = []
        for var old in stale.sorted(by: { $0.connectionID < $1.connectionID }) {
            actions += old.forget(reason: .replacedByInitialContact)
            store(old)
        }
        return actions
    }

    /// The peer's newest other established ISAKMP SA (same address and phase-1 identity):
    /// its phase-1 rekey. strongSwan, like IOS, rekeys phase 1 with a new main mode, moves
    /// its IPsec SAs under the new SA and lets the old one expire without a DELETE; its ESP
    /// SAs must outlive it (RFC 2409 keeps phase 2 independent of phase 1), or the gateway's
    /// expiry would delete pairs the peer still uses.
    private func successor(of sa: IKEv1SA, now: MonotonicTime) -> IKEv1SA? {
        sas.values.filter {
            $0.cookies != sa.cookies && $0.isEstablished && $0.peer.address == sa.peer.address
                && $0.peerIdentity == sa.peerIdentity && ($0.phase1ExpiresAt.map { $0 > now } ?? false)
        }.max { $0.connectionID < $1.connectionID }
    }

    private mutating func store(_ sa: IKEv1SA) {
        timers.set(sa.cookies.responder, at: sa.isClosed ? nil : sa.nextWakeup(context: context))
        if sa.isClosed {
            sas[sa.cookies.responder] = nil
            mm1Index[MM1Key(peer: sa.peer.address, initiatorCookie: sa.cookies.initiator)] = nil
            for c in sa.children { context.usedSPIs.remove(c.child.inboundSPI) }
        } else {
            sas[sa.cookies.responder] = sa
        }
    }

    private mutating func perform(_ cookies: ISAKMPCookies, _ body: (inout IKEv1SA, inout IKEv1Context) -> [IKEv1Action]) -> [IKEv1Action] {
        guard var sa = sas[cookies.responder], sa.cookies == cookies else { return [] }
        let actions = body(&sa, &context).withoutSchedules
        store(sa)
        return actions + rescheduleIfEarlier(sa)
    }

    // MARK: gateway requests

    /// Expires negotiations and SAs, retransmits, runs DPD for the SAs that are due (a timer
    /// heap; O(k log n) for k due SAs).
    public mutating func handleTimers(now: MonotonicTime) -> [IKEv1Action] {
        var actions: [IKEv1Action] = []
        for key in timers.popDue(now: now) {
            guard var sa = sas[key] else { continue }
            if let expiry = sa.phase1ExpiresAt, now >= expiry, !sa.children.isEmpty, var successor = successor(of: sa, now: now) {
                let moved = sa.takeChildren()
                successor.adopt(moved)
                store(successor)
                actions.append(.childSAsMoved(inboundSPIs: moved.map(\.sa.child.inboundSPI), from: sa.cookies,
                                              to: successor.cookies, connectionID: successor.connectionID))
            }
            actions += sa.handleTimers(now: now, context: &context).withoutSchedules
            store(sa)
        }
        wakeup = timers.earliest()
        return actions + (wakeup.map { [.schedule(at: $0)] } ?? [])
    }

    /// ESP traffic of this ISAKMP SA's children (RFC 3706 §5.3 idle detection).
    public mutating func noteTraffic(_ cookies: ISAKMPCookies, inbound: Bool, outbound: Bool, now: MonotonicTime) -> [IKEv1Action] {
        perform(cookies) { sa, ctx in sa.noteTraffic(inbound: inbound, outbound: outbound, now: now, context: &ctx) }
    }

    /// Sends an R-U-THERE now (on-demand DPD).
    public mutating func probePeer(_ cookies: ISAKMPCookies, now: MonotonicTime) -> [IKEv1Action] {
        perform(cookies) { sa, ctx in sa.probePeer(now: now, context: &ctx) }
    }

    /// Deletes one ESP SA pair (e.g. its kilobyte lifetime ran out in the ESP target).
    public mutating func deleteChildSA(_ cookies: ISAKMPCookies, inboundSPI: UInt32, now: MonotonicTime) -> [IKEv1Action] {
        perform(cookies) { sa, ctx in
            let a = sa.deleteChild(inboundSPI: inboundSPI, reason: .deletedLocally, context: &ctx)
            ctx.usedSPIs.remove(inboundSPI)
            return a
        }
    }

    /// `clear crypto isakmp`: deletes the SA and its ESP SAs, telling the peer.
    public mutating func deleteISAKMPSA(_ cookies: ISAKMPCookies, now: MonotonicTime) -> [IKEv1Action] {
        perform(cookies) { sa, ctx in sa.deleteAll(reason: .deletedLocally, context: &ctx) }
    }

    private mutating func rescheduleIfEarlier(_ sa: IKEv1SA) -> [IKEv1Action] {
        guard !sa.isClosed, let t = sa.nextWakeup(context: context) else { return [] }
        if let w = wakeup, w <= t { return [] }
        wakeup = t
        return [.schedule(at: t)]
    }
}

extension Array where Element == IKEv1Action {
    /// One SA's own schedule requests; the table announces one combined time instead.
    var withoutSchedules: [IKEv1Action] { filter { if case .schedule = $0 { false } else { true } } }
}
