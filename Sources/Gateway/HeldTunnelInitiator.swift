import IKE
import SLBWire

/// What a held tunnel (`slb client --hold`) needs from its initiator, IKEv2 or IKEv1, reduced
/// to the few events the DPD runner acts on. An enum over the two machines rather than a
/// protocol existential: one switch per call, no boxing, and IKEv1's two phases (main mode,
/// then quick mode) stay inside the adapter.
enum TunnelEvent {
    case send([UInt8], to: IKEEndpoint, from: IKEEndpoint)
    case schedule(MonotonicTime)
    /// IKE SA (IKEv2) or ISAKMP SA (IKEv1) established.
    case established
    case install(ChildSA)
    case deleteChild(inboundSPI: UInt32)
    /// Our liveness check was answered (IKEv1 R-U-THERE-ACK, RFC 3706 §5; IKEv2 answers are
    /// plain accepted messages).
    case alive
    /// The SA is gone: the peer is dead (DPD), deleted it, or the negotiation failed.
    case down(String)
    /// The input was not accepted (no proof of life).
    case dropped
}

enum HeldTunnelInitiator {
    case v2(IKEv2Initiator)
    case v1(IKEv1Initiator)

    var isEstablished: Bool {
        switch self {
        case .v2(let i): i.isEstablished
        case .v1(let i): i.isEstablished
        }
    }

    /// The peer's IKE port (4500 after the NAT-T float): where ESP-in-UDP goes (RFC 3948).
    var peerPort: UInt16? {
        switch self {
        case .v2(let i): i.ikeSA?.peer.port
        case .v1(let i): i.info?.peer.port
        }
    }

    mutating func start(now: MonotonicTime) -> [TunnelEvent] {
        switch self {
        case .v2(var i):
            let a = i.start(now: now)
            self = .v2(i)
            return Self.events(a)
        case .v1(var i):
            let a = i.start(now: now)
            self = .v1(i)
            return events(a, now: now)
        }
    }

    /// `to` is the local endpoint the datagram reached (IKEv1 tracks its own float by it).
    mutating func receive(_ datagram: [UInt8], from: IKEEndpoint, to: IKEEndpoint, now: MonotonicTime) -> [TunnelEvent] {
        switch self {
        case .v2(var i):
            let a = i.receive(datagram, from: from, now: now)
            self = .v2(i)
            return Self.events(a)
        case .v1(var i):
            let a = i.receive(datagram, from: from, to: to, now: now)
            self = .v1(i)
            return events(a, now: now)
        }
    }

    mutating func handleTimers(now: MonotonicTime) -> [TunnelEvent] {
        switch self {
        case .v2(var i):
            let a = i.handleTimers(now: now)
            self = .v2(i)
            return Self.events(a)
        case .v1(var i):
            let a = i.handleTimers(now: now)
            self = .v1(i)
            return events(a, now: now)
        }
    }

    /// One liveness check: an empty INFORMATIONAL (RFC 7296 §1.4) or an R-U-THERE (RFC 3706
    /// §5.1). Both machines retransmit it by their own policy and end in `.down` when it
    /// stays unanswered.
    mutating func checkLiveness(now: MonotonicTime) -> [TunnelEvent] {
        switch self {
        case .v2(var i):
            let a = i.checkLiveness(now: now)
            self = .v2(i)
            return Self.events(a)
        case .v1(var i):
            let a = i.probePeer(now: now)
            self = .v1(i)
            return events(a, now: now)
        }
    }

    private static func events(_ actions: [IKEAction]) -> [TunnelEvent] {
        var out: [TunnelEvent] = []
        out.reserveCapacity(actions.count)
        // An exhausted liveness check comes as D(IKE) then `.failed(.timeout)`: name the cause.
        let failure = actions.lazy.compactMap { if case .failed(let f) = $0 { f } else { nil } }.first
        for action in actions {
            switch action {
            case .send(let bytes, let to, let from): out.append(.send(bytes, to: to, from: from))
            case .schedule(let at): out.append(.schedule(at))
            case .established: out.append(.established)
            case .installChildSA(let child, _): out.append(.install(child))
            case .deleteChildSA(let inbound, _, _): out.append(.deleteChild(inboundSPI: inbound))
            case .deleteIKESA: out.append(.down(failure.map { "IKE SA deleted: \($0)" } ?? "IKE SA deleted"))
            case .failed(let f): out.append(.down("\(f)"))
            case .dropped: out.append(.dropped)
            case .rekeyedIKESA: break
            }
        }
        return out
    }

    /// IKEv1: main mode done → quick mode at once (RFC 2409 §5.5), inside the adapter.
    private mutating func events(_ actions: [IKEv1Action], now: MonotonicTime) -> [TunnelEvent] {
        var out: [TunnelEvent] = []
        out.reserveCapacity(actions.count)
        for action in actions {
            switch action {
            case .send(let bytes, let to, let from): out.append(.send(bytes, to: to, from: from))
            case .schedule(let at): out.append(.schedule(at))
            case .phase1Established:
                out.append(.established)
                guard case .v1(var i) = self else { break }
                let quick = i.startQuickMode(now: now)
                self = .v1(i)
                out += events(quick, now: now)
            case .installChildSA(let c): out.append(.install(c.child))
            case .deleteChildSA(let inbound, _, _, _): out.append(.deleteChild(inboundSPI: inbound))
            case .deleteISAKMPSA(_, let reason): out.append(.down("ISAKMP SA deleted: \(reason.rawValue)"))
            case .failed(let f): out.append(.down("\(f)"))
            case .peerAlive: out.append(.alive)
            case .dropped: out.append(.dropped)
            // `.peerDead` is followed by `.deleteISAKMPSA(reason: .peerDead)`.
            case .natDetected, .peerDead, .childSAsMoved: break
            }
        }
        return out
    }
}
