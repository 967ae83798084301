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
        out.append(UInt8(String(chars[i...i + 1]), radix: 16)!)
        i += 2
    }
    return out
}

func hexString(_ b: some Sequence<UInt8>) -> String {
    b.map { let s = String($0, radix: 16); return s.count == 1 ? "0" + s : s }.joined()
}

let clientAddress = IPv4Address(192, 0, 2, 10)
let vip = IPv4Address(203, 0, 113, 100)
let clientEndpoint = IKEEndpoint(clientAddress, 500)
let gatewayEndpoint = IKEEndpoint(vip, 500)
let psk = Array("correct horse battery staple".utf8)
let farmSecret = CookieJar.Secret(version: 1, key: Array("farm-wide cookie secret 0123456789".utf8))

func responderConfiguration() -> IKEv2ResponderConfiguration {
    var c = IKEv2ResponderConfiguration(virtualIP: vip, defaultPSK: psk, cookieSecret: farmSecret)
    c.addressPool = IPv4Network(address: IPv4Address(198, 51, 100, 128), mask: IPv4Mask(prefixLength: 25)!)
    c.child.localSelectors = [.host(IPv4Address(203, 0, 113, 1))]
    return c
}

func initiatorConfiguration(ike: ProposalPolicy = .gatewayIKE, group: DHGroup = .curve25519,
                            esp: ProposalPolicy = .gatewayESP) -> IKEv2InitiatorConfiguration {
    var c = IKEv2InitiatorConfiguration(local: clientEndpoint, peer: gatewayEndpoint, identity: .fqdn("client.example"),
                                        psk: psk, ike: ike, dhGroup: group)
    c.child = ChildSAPolicy(esp: esp, localSelectors: [.anyIPv4], remoteSelectors: [.host(IPv4Address(203, 0, 113, 1))])
    return c
}

extension Array where Element == IKEAction {
    var sent: [[UInt8]] { compactMap { if case .send(let b, _, _) = $0 { b } else { nil } } }
    var installed: [ChildSA] { compactMap { if case .installChildSA(let c, _) = $0 { c } else { nil } } }
    var deletedChildren: [UInt32] { compactMap { if case .deleteChildSA(let i, _, _) = $0 { i } else { nil } } }
    var established: [IKESAInfo] { compactMap { if case .established(let i) = $0 { i } else { nil } } }
    var drops: [DropReason] { compactMap { if case .dropped(let r) = $0 { r } else { nil } } }
    var failures: [IKEFailure] { compactMap { if case .failed(let f) = $0 { f } else { nil } } }
    var deletedIKESAs: [IKESAIdentifier] { compactMap { if case .deleteIKESA(let i) = $0 { i } else { nil } } }
}

/// Notifies of an unprotected message (IKE_SA_INIT answers).
func plainNotifies(_ bytes: [UInt8]) -> [NotifyType] {
    ((try? IKEMessage.parse(bytes))?.payloads.notifies ?? []).map(\.type)
}

/// An initiator and a responder wired back to back, with every message recorded.
struct Ladder {
    var initiator: IKEv2Initiator
    var responder: IKEv2Responder
    var now = MonotonicTime.seconds(100)
    /// Every datagram, in order, with its direction (true = initiator → responder).
    var wire: [(toResponder: Bool, bytes: [UInt8])] = []
    var initiatorActions: [IKEAction] = []
    var responderActions: [IKEAction] = []
    /// A NAT in front of the initiator: rewrites the source the responder sees.
    var nat: @Sendable (IKEEndpoint) -> IKEEndpoint = { $0 }
    /// Called before each datagram is delivered, with copies of both machines as they are.
    var beforeDelivery: ((_ toResponder: Bool, _ bytes: [UInt8], IKEv2Initiator, IKEv2Responder) -> Void)?

    init(initiator: IKEv2InitiatorConfiguration = initiatorConfiguration(),
         responder: IKEv2ResponderConfiguration = responderConfiguration()) {
        self.initiator = IKEv2Initiator(configuration: initiator, crypto: openSSL)
        self.responder = IKEv2Responder(configuration: responder, crypto: openSSL)
    }

    /// Delivers the initiator's sends to the responder and back until both are quiet.
    mutating func pump(_ fromInitiator: [IKEAction]) {
        initiatorActions += fromInitiator
        var pending = fromInitiator.sentWithEndpoints
        var toResponder = true
        var rounds = 0
        while !pending.isEmpty, rounds < 50 {
            rounds += 1
            var next: [(bytes: [UInt8], to: IKEEndpoint, from: IKEEndpoint)] = []
            for s in pending {
                wire.append((toResponder, s.bytes))
                beforeDelivery?(toResponder, s.bytes, initiator, responder)
                if toResponder {
                    let a = responder.receive(s.bytes, from: nat(s.from), to: s.to, now: now)
                    responderActions += a
                    next += a.sentWithEndpoints
                } else {
                    let a = initiator.receive(s.bytes, from: s.from, now: now)
                    initiatorActions += a
                    next += a.sentWithEndpoints
                }
            }
            pending = next
            toResponder.toggle()
        }
    }

    /// Delivers the responder's own requests (liveness, delete) to the initiator and back.
    mutating func pumpFromResponder(_ fromResponder: [IKEAction]) {
        responderActions += fromResponder
        var pending = fromResponder.sentWithEndpoints
        var toResponder = false
        while !pending.isEmpty {
            var next: [(bytes: [UInt8], to: IKEEndpoint, from: IKEEndpoint)] = []
            for s in pending {
                wire.append((toResponder, s.bytes))
                beforeDelivery?(toResponder, s.bytes, initiator, responder)
                if toResponder {
                    let a = responder.receive(s.bytes, from: nat(s.from), to: s.to, now: now)
                    responderActions += a
                    next += a.sentWithEndpoints
                } else {
                    let a = initiator.receive(s.bytes, from: s.from, now: now)
                    initiatorActions += a
                    next += a.sentWithEndpoints
                }
            }
            pending = next
            toResponder.toggle()
        }
    }

    mutating func establish() {
        pump(initiator.start(now: now))
    }
}

extension Array where Element == IKEAction {
    var sentWithEndpoints: [(bytes: [UInt8], to: IKEEndpoint, from: IKEEndpoint)] {
        compactMap { if case .send(let b, let to, let from) = $0 { (b, to, from) } else { nil } }
    }
}
