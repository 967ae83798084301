import IPsecCrypto
import SLBWire

/// After IKE_SA_INIT: keys exist, the peer is not yet authenticated.
struct HalfOpenSA {
    var id: IKESAIdentifier
    var suite: IKESuite
    var keys: IKESAKeys
    var ni: [UInt8]
    var nr: [UInt8]
    var local: IKEEndpoint
    var peer: IKEEndpoint
    var udpEncapsulation: Bool
    /// RealMessage1 and RealMessage2 of §2.15, exactly as on the wire.
    var initRequest: [UInt8]
    var initResponse: [UInt8]
    var expires: MonotonicTime
}

/// One IKE SA of the responder.
struct ResponderSA {
    private enum State {
        case halfOpen(HalfOpenSA)
        case established(IKESACore)
    }

    private var state: State
    let id: IKESAIdentifier
    /// Where IKE_SA_INIT came from (key of the responder's retransmission index).
    let initPeer: IKEEndpoint

    init(halfOpen: HalfOpenSA) {
        state = .halfOpen(halfOpen)
        id = halfOpen.id
        initPeer = halfOpen.peer
    }

    init(established core: IKESACore) {
        state = .established(core)
        id = core.id
        initPeer = core.peer
    }

    struct Result {
        var actions: [IKEAction] = []
        var closed = false
        var rekeyed: IKESACore?
        var newSPIs: [UInt32] = []
        /// IKE_AUTH succeeded and carried N(INITIAL_CONTACT) (§2.4).
        var initialContact = false
    }

    var isHalfOpen: Bool {
        switch state {
        case .halfOpen: true
        case .established: false
        }
    }

    var establishedInfo: IKESAInfo? {
        switch state {
        case .halfOpen: nil
        case .established(let core): core.info
        }
    }

    var children: [ChildSA] {
        switch state {
        case .halfOpen: []
        case .established(let core): core.children
        }
    }

    func cachedInitResponse(for request: [UInt8]) -> [UInt8]? {
        switch state {
        case .halfOpen(let h): h.initRequest == request ? h.initResponse : nil
        case .established: nil
        }
    }

    func deadline(_ configuration: IKEv2ResponderConfiguration) -> MonotonicTime? {
        switch state {
        case .halfOpen(let h):
            return h.expires
        case .established(let core):
            let retransmit = core.deadline(configuration.retransmission)
            guard let interval = configuration.livenessInterval, core.pending == nil else { return retransmit }
            return core.lastHeard + interval
        }
    }

    mutating func withEstablished(_ body: (inout IKESACore) -> [IKEAction]) -> [IKEAction]? {
        switch state {
        case .halfOpen:
            return nil
        case .established(var core):
            let actions = body(&core)
            state = .established(core)
            return actions
        }
    }

    mutating func handleTimers(now: MonotonicTime, context: CoreContext, configuration: IKEv2ResponderConfiguration) -> Result {
        switch state {
        case .halfOpen(let h):
            guard h.expires <= now else { return Result() }
            return Result(actions: [.deleteIKESA(h.id)], closed: true)
        case .established(var core):
            var out = core.handleTimers(now: now, context: context)
            if !out.closed, core.pending == nil, let interval = configuration.livenessInterval, core.lastHeard + interval <= now {
                out.actions += core.startLiveness(now: now, context: context)
            }
            state = .established(core)
            return Result(actions: out.actions, closed: out.closed, rekeyed: out.rekeyed, newSPIs: out.newSPIs)
        }
    }

    mutating func receive(_ datagram: [UInt8], _ message: IKEMessage, from: IKEEndpoint, to: IKEEndpoint, now: MonotonicTime,
                          context: CoreContext, configuration: IKEv2ResponderConfiguration, pool: inout AddressPool?,
                          staleOwners: (IdentificationPayload, IPv4Address) -> [UInt64] = { _, _ in [] }) -> Result {
        switch state {
        case .halfOpen(let h):
            var h = h
            h.local = to
            let (result, established) = receiveAuth(h, datagram, message, from: from, now: now, context: context,
                                                    configuration: configuration, pool: &pool, staleOwners: staleOwners)
            if let established { state = .established(established) }
            return result
        case .established(var core):
            let out = core.receive(datagram, message, from: from, to: to, now: now, context: context)
            state = .established(core)
            return Result(actions: out.actions, closed: out.closed, rekeyed: out.rekeyed, newSPIs: out.newSPIs)
        }
    }
}
