import CryptoOpenSSL
import IKE
import IPsecCrypto
import SLBWire

let openSSL = OpenSSLCryptoProvider()

func hex(_ s: String) -> [UInt8] {
    let chars = Array(s.filter { !$0.isWhitespace })
    var out: [UInt8] = []
    var i = 0
    while i + 1 < chars.count {
        out.append(UInt8(String(chars[i...i + 1]), radix: 16) ?? 0)
        i += 2
    }
    return out
}

func hexString(_ b: some Sequence<UInt8>) -> String {
    b.map { let s = String($0, radix: 16); return s.count == 1 ? "0" + s : s }.joined()
}

// RFC 5737 lab plan (DESIGN.md): clients in 192.0.2.0/24, the VIP 203.0.113.100.
let clientAddress = IPv4Address(192, 0, 2, 10)
let vip = IPv4Address(203, 0, 113, 100)
let clientEndpoint = IKEEndpoint(clientAddress, 500)
let gatewayEndpoint = IKEEndpoint(vip, 500)
/// Behind a NAT the client believes it is 198.51.100.200; the NAT maps it to 192.0.2.10.
let privateClientEndpoint = IKEEndpoint(IPv4Address(198, 51, 100, 200), 500)
let psk = Array("cisco".utf8)

func responderConfiguration(dpd: DPDPolicy? = nil, quickMode: QuickModePolicy = .seeds) -> IKEv1ResponderConfiguration {
    IKEv1ResponderConfiguration(
        preSharedKeys: PreSharedKeyTable([(IPv4Network(address: IPv4Address(192, 0, 2, 0), mask: IPv4Mask(prefixLength: 24)!), psk)]),
        dpd: dpd)
        .with { $0.quickMode = quickMode }
}

func initiatorConfiguration(policy: ISAKMPPolicy = ISAKMPPolicy.seedPolicies[0], quickMode: QuickModePolicy = .seeds,
                            local: IKEEndpoint = clientEndpoint, key: [UInt8] = psk) -> IKEv1InitiatorConfiguration {
    IKEv1InitiatorConfiguration(local: local, peer: gatewayEndpoint, psk: key, policies: [policy], quickMode: quickMode)
}

extension IKEv1ResponderConfiguration {
    func with(_ f: (inout Self) -> Void) -> Self { var c = self; f(&c); return c }
}

extension Array where Element == IKEv1Action {
    var sent: [[UInt8]] { compactMap { if case .send(let b, _, _) = $0 { b } else { nil } } }
    var installed: [IKEv1ChildSA] { compactMap { if case .installChildSA(let c) = $0 { c } else { nil } } }
    var established: [ISAKMPSAInfo] { compactMap { if case .phase1Established(let i) = $0 { i } else { nil } } }
    var drops: [IKEv1DropReason] { compactMap { if case .dropped(let r) = $0 { r } else { nil } } }
    var failures: [IKEv1Failure] { compactMap { if case .failed(let f) = $0 { f } else { nil } } }
    var deletedChildren: [(UInt32, IKEv1DeleteReason)] {
        compactMap { if case .deleteChildSA(let i, _, _, let r) = $0 { (i, r) } else { nil } }
    }
    var deletedISAKMP: [IKEv1DeleteReason] { compactMap { if case .deleteISAKMPSA(_, let r) = $0 { r } else { nil } } }
    var natDetections: [(NATStatus, IKEEndpoint?)] { compactMap { if case .natDetected(_, let s, let f) = $0 { (s, f) } else { nil } } }
    var schedules: [MonotonicTime] { compactMap { if case .schedule(let t) = $0 { t } else { nil } } }
    var dead: Int { filter { if case .peerDead = $0 { true } else { false } }.count }
    var alive: Int { filter { if case .peerAlive = $0 { true } else { false } }.count }
}

/// Notifications of an unencrypted ISAKMP message.
func plainNotifies(_ bytes: [UInt8]) -> [ISAKMPNotifyType] {
    ((try? ISAKMPMessage.parse(bytes))?.payloads ?? []).compactMap { if case .notification(let n) = $0 { n.type } else { nil } }
}

/// One datagram on the wire between the two machines.
struct Datagram {
    var toResponder: Bool
    var bytes: [UInt8]
    var from: IKEEndpoint
    var to: IKEEndpoint
}

/// An IKEv1 initiator and responder wired back to back, optionally through a NAPT that maps
/// the initiator's private endpoint to 192.0.2.10 (port 500 → 61000, 4500 → 61001).
struct Ladder {
    var initiator: IKEv1Initiator
    var responder: IKEv1Responder
    var now = MonotonicTime.seconds(100)
    var behindNAT: Bool
    var queue: [Datagram] = []
    var wire: [Datagram] = []
    var initiatorActions: [IKEv1Action] = []
    var responderActions: [IKEv1Action] = []

    init(initiator: IKEv1InitiatorConfiguration = initiatorConfiguration(),
         responder: IKEv1ResponderConfiguration = responderConfiguration(), behindNAT: Bool = false) {
        self.initiator = IKEv1Initiator(configuration: initiator, crypto: openSSL)
        self.responder = IKEv1Responder(configuration: responder, crypto: openSSL)
        self.behindNAT = behindNAT
    }

    func translate(_ e: IKEEndpoint) -> IKEEndpoint {
        guard behindNAT else { return e }
        return IKEEndpoint(clientAddress, e.port == 4500 ? 61001 : 61000)
    }

    func untranslate(_ e: IKEEndpoint) -> IKEEndpoint {
        guard behindNAT else { return e }
        return IKEEndpoint(privateClientEndpoint.address, e.port == 61001 ? 4500 : 500)
    }

    mutating func enqueue(fromInitiator actions: [IKEv1Action]) {
        initiatorActions += actions
        for case .send(let b, let to, let from) in actions {
            queue.append(Datagram(toResponder: true, bytes: b, from: translate(from), to: to))
        }
    }

    mutating func enqueue(fromResponder actions: [IKEv1Action]) {
        responderActions += actions
        for case .send(let b, let to, let from) in actions {
            queue.append(Datagram(toResponder: false, bytes: b, from: from, to: untranslate(to)))
        }
    }

    /// Delivers one datagram to the side it is for and queues the answers.
    mutating func deliver(_ d: Datagram) {
        wire.append(d)
        if d.toResponder {
            enqueue(fromResponder: responder.receive(d.bytes, from: d.from, to: d.to, now: now))
        } else {
            enqueue(fromInitiator: initiator.receive(d.bytes, from: d.from, to: d.to, now: now))
        }
    }

    /// Takes the next queued datagram without delivering it.
    mutating func next() -> Datagram? { queue.isEmpty ? nil : queue.removeFirst() }

    /// Delivers until both sides are quiet.
    mutating func run() { while let d = next() { deliver(d) } }

    mutating func mainMode() {
        enqueue(fromInitiator: initiator.start(now: now))
        run()
    }

    mutating func quickMode() {
        enqueue(fromInitiator: initiator.startQuickMode(now: now))
        run()
    }
}
