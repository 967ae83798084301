import CryptoOpenSSL
import ESP
@testable import Gateway
import IKE
import SLBWire
import Testing

/// The held client's initiator adapter (`slb client --hold [--ike v1] [--natt]`) against the
/// gateway core in memory: both versions come up through it, a liveness check is answered,
/// and an unanswered one ends in `.down` exactly when `dpdDetection` says.
@Suite("held tunnels: one initiator adapter for IKEv2 and IKEv1")
struct HeldTunnelInitiatorTests {
    struct Case: CustomStringConvertible, Sendable {
        var ikev1: Bool
        var natt: Bool
        var description: String { "\(ikev1 ? "IKEv1" : "IKEv2")\(natt ? " --natt" : "")" }
    }

    static let cases = [false, true].flatMap { v1 in [false, true].map { Case(ikev1: v1, natt: $0) } }
    static let client = IPv4Address(192, 0, 2, 77)

    static func configuration(_ c: Case) -> DPDClientConfiguration {
        var base = ClientConfiguration(gateway: InMemoryLab.vip, sources: [client], psk: InMemoryLab.psk)
        base.service = InMemoryLab.inside
        base.forceUDPEncapsulation = c.natt
        var config = DPDClientConfiguration(base: base, hold: .seconds(60), dpdDelay: .seconds(2))
        if c.ikev1 { config.ikev1 = IKEv1ClientOptions(policies: [ISAKMPPolicy.seedPolicies[0]]) }
        return config
    }

    /// Delivers the adapter's sends to the gateway and the answers back until both are quiet.
    static func pump(_ held: inout HeldTunnelInitiator, _ first: [TunnelEvent], lab: inout IKEv1InMemoryLab) -> [TunnelEvent] {
        var pending = first
        var seen: [TunnelEvent] = []
        for _ in 0..<20 where !pending.isEmpty {
            var next: [TunnelEvent] = []
            for event in pending {
                seen.append(event)
                guard case .send(let bytes, let to, let from) = event else { continue }
                var out: [GatewayOutput] = []
                lab.gateway.receiveUDP(from.port == 500 ? bytes : markedIKEDatagram(bytes), from: from, to: to, now: lab.now, into: &out)
                for case .udp(let reply, let src, let dst) in out {
                    next += held.receive(src.port == 500 ? reply : Array(reply.dropFirst(4)), from: src, to: dst, now: lab.now)
                }
            }
            pending = next
        }
        return seen
    }

    static func establish(_ c: Case, lab: inout IKEv1InMemoryLab) throws -> (HeldTunnelInitiator, ChildSA) {
        var held = DPDClientRunner.makeInitiator(client, configuration: configuration(c), crypto: OpenSSLCryptoProvider())
        let events = pump(&held, held.start(now: lab.now), lab: &lab)
        #expect(events.filter { if case .established = $0 { true } else { false } }.count == 1)
        #expect(!events.contains { if case .down = $0 { true } else { false } })
        let child = try #require(events.lazy.compactMap { if case .install(let child) = $0 { child } else { nil } }.first)
        return (held, child)
    }

    @Test("up through the adapter (IKEv1: main mode, then quick mode inside it), ESP framing as asked, a liveness check answered",
          arguments: cases)
    func upAndAlive(_ c: Case) throws {
        var lab = IKEv1InMemoryLab()
        var (held, child) = try Self.establish(c, lab: &lab)
        #expect(held.isEstablished)
        #expect(child.udpEncapsulation == c.natt)
        #expect(held.peerPort == (c.natt ? 4500 : 500))
        lab.now = lab.now + .seconds(3)
        let answer = Self.pump(&held, held.checkLiveness(now: lab.now), lab: &lab)
        #expect(answer.contains { if case .send = $0 { true } else { false } }, "a liveness request went out")
        #expect(!answer.contains { if case .down = $0 { true } else { false } })
        #expect(!answer.contains { if case .dropped = $0 { true } else { false } })
        // IKEv1 says so explicitly (R-U-THERE-ACK, RFC 3706 §5.6); IKEv2's answer is simply accepted.
        #expect(answer.contains { if case .alive = $0 { true } else { false } } == c.ikev1)
    }

    @Test("an unanswered liveness check: down exactly dpdDetection − dpdDelay later (the JSON's dpdDetectionSeconds is what happens)",
          arguments: cases)
    func deadPeer(_ c: Case) throws {
        var lab = IKEv1InMemoryLab()
        var (held, _) = try Self.establish(c, lab: &lab)
        let config = Self.configuration(c)
        let asked = lab.now
        var events = held.checkLiveness(now: asked)
        var sends = 0
        var downAt: MonotonicTime?
        var reason = ""
        for _ in 0..<40 {
            sends += events.filter { if case .send = $0 { true } else { false } }.count
            if let down = events.lazy.compactMap({ if case .down(let r) = $0 { r } else { nil } }).first {
                downAt = lab.now
                reason = down
                break
            }
            guard let next = events.lazy.compactMap({ if case .schedule(let t) = $0 { t } else { nil } }).min() else { break }
            lab.now = next
            events = held.handleTimers(now: lab.now)
        }
        let at = try #require(downAt, "never declared dead")
        #expect((at - asked).nanoseconds == config.dpdDetection.nanoseconds - config.dpdDelay.nanoseconds, "\(reason)")
        #expect(sends == 4, "the request and three retransmissions (IKEv1: four R-U-THEREs)")
        #expect(reason.contains(c.ikev1 ? "peerDead" : "timeout"), "\(reason)")
        #expect(!held.isEstablished)
    }
}
