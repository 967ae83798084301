#if canImport(Glibc)
import Glibc
#endif
import CryptoOpenSSL
import ESP
import IKE
import IPsecCrypto
import SLBWire

/// IKEv1 settings of `slb client --ike v1`.
public struct IKEv1ClientOptions: Sendable {
    /// Offered in this order in MM1; the gateway takes its highest-priority match.
    public var policies: [ISAKMPPolicy]
    public var quickMode: QuickModePolicy
    /// `--ikev1-dpd SECONDS`: periodic R-U-THERE from the client, and one probe after the pings
    /// whose ACK is reported per tunnel.
    public var dpd: DPDPolicy?

    public init(policies: [ISAKMPPolicy] = IKEv1GatewayOptions.defaultPolicies, quickMode: QuickModePolicy = .seeds,
                dpd: DPDPolicy? = nil) {
        self.policies = policies
        self.quickMode = quickMode
        self.dpd = dpd
    }
}

/// `slb client --ike v1`: many IKEv1 tunnels (main mode PSK + quick mode) with the project's
/// `IKEv1Initiator`, one per source address, each pinging the service through its ESP SA
/// (raw ESP unless a NAT is detected). Same shape as `ClientRunner`: one thread over poll(),
/// bounded in tunnels, pings and time.
public final class IKEv1ClientRunner: @unchecked Sendable {
    // @unchecked: used by the loop thread only; the creating thread waits for it.
    private let configuration: ClientConfiguration
    private let options: IKEv1ClientOptions
    private let crypto = OpenSSLCryptoProvider()
    private var tunnels: [Tunnel] = []

    private enum Phase { case waiting, negotiating, pinging, probing, closing, done }
    private typealias SocketRole = ClientSockets.Role

    private struct Tunnel {
        var local: IPv4Address
        var sockets: ClientSockets
        var initiator: IKEv1Initiator
        var phase: Phase = .waiting
        var started: MonotonicTime?
        var wakeup: MonotonicTime?
        var inbound: InboundSA?
        var outbound: OutboundSA?
        var child: ChildSA?
        var pingsSent = 0
        var pingsAnswered = 0
        var outstanding: (sequence: UInt16, deadline: MonotonicTime)?
        var probeDeadline: MonotonicTime?
        var firstPingAt: MonotonicTime?
        var result: ClientResult

    }

    /// How long the post-ping R-U-THERE may take (RFC 3706 leaves it to the implementation).
    static let probeTimeout = TimeSpan.seconds(3)
    static let tickMilliseconds: Int64 = 20
    /// The responder installs its ESP SAs when QM3 arrives (RFC 2409 §5.5); QM3 (UDP) and our
    /// first ESP packet (raw socket) can be reordered on the way (different sockets, and
    /// here different CPUs' backlogs), so the first ping waits a little. Without this,
    /// about 1 in 10 first pings met an unknown SPI (measured, 50 tunnels).
    static let firstPingDelay = TimeSpan.milliseconds(30)
    static let receiveBatch = 64

    public init(configuration: ClientConfiguration, options: IKEv1ClientOptions) throws {
        self.configuration = configuration
        self.options = options
        var built: [Tunnel] = []
        do {
            for source in configuration.sources {
                let sockets = try ClientSockets(source: source)
                var ic = IKEv1InitiatorConfiguration(
                    local: IKEEndpoint(source, 500), peer: IKEEndpoint(configuration.gateway, 500), psk: configuration.psk,
                    policies: options.policies, quickMode: options.quickMode, dpd: options.dpd)
                // IDci/IDcr (RFC 2409 §5.5): this address ↔ the service, so the gateway's
                // selector check passes the ping (without IDs they would be the ISAKMP peers).
                ic.quickModeIDs = (local: .ipv4(source), remote: .ipv4(configuration.service))
                ic.forceUDPEncapsulation = configuration.forceUDPEncapsulation
                built.append(Tunnel(local: source, sockets: sockets,
                                    initiator: IKEv1Initiator(configuration: ic, crypto: crypto),
                                    result: ClientResult(source: "\(source)", established: false, pingsSent: 0, pingsAnswered: 0)))
            }
        } catch {
            for t in built { t.sockets.close() }
            throw error
        }
        tunnels = built
    }

    deinit {
        for t in tunnels { t.sockets.close() }
    }

    public func run() -> [ClientResult] {
        LoopThread.runAndWait { [self] in loop() }
        return tunnels.map(\.result)
    }

    private func loop() {
        let deadline = MonotonicClock.now() + configuration.timeLimit
        var buffer = [UInt8](repeating: 0, count: 65_535)
        var pollSet = ClientPollSet(tunnels.map(\.sockets))
        while true {
            var now = MonotonicClock.now()
            if now >= deadline || tunnels.allSatisfy({ $0.phase == .done }) { break }
            startTunnels(now: now)
            var timeout = Self.tickMilliseconds
            if let next = tunnels.compactMap(\.wakeup).min() {
                timeout = next > now ? min(timeout, Int64((next - now).nanoseconds / 1_000_000) + 1) : 0
            }
            pollSet.wait(timeoutMilliseconds: Int32(timeout)) { drain(tunnel: $0, role: $1, buffer: &buffer) }
            now = MonotonicClock.now()
            for i in tunnels.indices {
                if let w = tunnels[i].wakeup, w <= now {
                    tunnels[i].wakeup = nil
                    perform(tunnels[i].initiator.handleTimers(now: now), tunnel: i, now: now)
                }
                pace(tunnel: i, now: now)
            }
        }
        for i in tunnels.indices where tunnels[i].result.failure == nil && !tunnels[i].result.established {
            tunnels[i].result.failure = "time limit"
        }
    }

    private func startTunnels(now: MonotonicTime) {
        var inFlight = tunnels.filter { $0.phase == .negotiating }.count
        for i in tunnels.indices where tunnels[i].phase == .waiting {
            guard inFlight < configuration.concurrency else { return }
            tunnels[i].phase = .negotiating
            tunnels[i].started = now
            inFlight += 1
            perform(tunnels[i].initiator.start(now: now), tunnel: i, now: now)
        }
    }

    private func drain(tunnel i: Int, role: SocketRole, buffer: inout [UInt8]) {
        let socket = tunnels[i].sockets.socket(role)
        for _ in 0..<Self.receiveBatch {
            guard let (count, from, port) = socket.receive(into: &buffer) else { return }
            let now = MonotonicClock.now()
            guard count <= buffer.count else { continue }
            switch ClientDatagram(role: role, buffer: buffer, count: count) {
            case .ike(let message, let localPort):
                perform(tunnels[i].initiator.receive(message, from: IKEEndpoint(from, port),
                                                     to: IKEEndpoint(tunnels[i].local, localPort), now: now),
                        tunnel: i, now: now)
            case .esp(let packet):
                receiveESP(packet, tunnel: i, now: now)
            case nil:
                continue
            }
        }
    }

    private func perform(_ actions: [IKEv1Action], tunnel i: Int, now: MonotonicTime) {
        for action in actions {
            switch action {
            case .send(let bytes, let to, let from):
                if from.port == 500 {
                    tunnels[i].sockets.ike500.send(bytes, to: to.address, port: to.port)
                } else {
                    tunnels[i].sockets.ike4500.send(markedIKEDatagram(bytes), to: to.address, port: to.port)
                }
            case .schedule(let at):
                tunnels[i].wakeup = at
            case .phase1Established(let info):
                tunnels[i].result.ikeSPIi = ShowNames.hex64(info.cookies.initiator)
                tunnels[i].result.ikeSPIr = ShowNames.hex64(info.cookies.responder)
                tunnels[i].result.gatewayEndpoint = "\(info.peer)"
                tunnels[i].result.gatewayIdentity = info.peerIdentity.map(GatewayCore.identity)
                tunnels[i].result.udpEncapsulation = info.nat.detected
                perform(tunnels[i].initiator.startQuickMode(now: now), tunnel: i, now: now)
            case .installChildSA(let c):
                install(c, tunnel: i, now: now)
            case .deleteChildSA(let inbound, _, _, _):
                if tunnels[i].inbound?.spi == inbound {
                    tunnels[i].inbound = nil
                    tunnels[i].outbound = nil
                }
            case .deleteISAKMPSA(_, let reason):
                if tunnels[i].phase == .closing {
                    tunnels[i].phase = .done
                } else if tunnels[i].phase != .done {
                    tunnels[i].result.failure = "ISAKMP SA deleted: \(reason.rawValue)"
                    tunnels[i].phase = .done
                }
            case .peerAlive:
                if tunnels[i].phase == .probing {
                    tunnels[i].result.dpdAcknowledged = true
                    close(tunnel: i, now: now)
                }
            case .failed(let f):
                if tunnels[i].phase != .done && tunnels[i].phase != .closing {
                    tunnels[i].result.failure = "\(f)"
                }
                tunnels[i].phase = .done
            case .natDetected, .peerDead, .dropped, .childSAsMoved:
                break
            }
        }
    }

    private func install(_ c: IKEv1ChildSA, tunnel i: Int, now: MonotonicTime) {
        do throws(ESPError) {
            tunnels[i].inbound = try c.child.inboundSA(now: now)
            tunnels[i].outbound = try c.child.outboundSA(now: now)
            tunnels[i].child = c.child
            tunnels[i].result.established = true
            tunnels[i].result.ikeMilliseconds = tunnels[i].started.map { (now - $0).nanoseconds / 1_000_000 }
            tunnels[i].result.inboundSPI = c.child.inboundSPI
            tunnels[i].result.outboundSPI = c.child.outboundSPI
            tunnels[i].result.udpEncapsulation = c.child.udpEncapsulation
            tunnels[i].firstPingAt = now + Self.firstPingDelay
            if tunnels[i].phase == .negotiating { tunnels[i].phase = .pinging }
        } catch {
            tunnels[i].result.failure = "ESP SA: \(error)"
            tunnels[i].phase = .done
        }
    }

    /// Next ping when none is outstanding; after the last, the DPD probe (with `--dpd`),
    /// then DELETE (ESP and ISAKMP, RFC 2408 §3.15) unless the SAs are kept.
    private func pace(tunnel i: Int, now: MonotonicTime) {
        if tunnels[i].phase == .probing, let d = tunnels[i].probeDeadline, now >= d {
            tunnels[i].result.dpdAcknowledged = false
            close(tunnel: i, now: now)
            return
        }
        guard tunnels[i].phase == .pinging else { return }
        if let f = tunnels[i].firstPingAt, now < f { return }
        if let o = tunnels[i].outstanding {
            guard now >= o.deadline else { return }
            tunnels[i].outstanding = nil
        }
        if tunnels[i].pingsSent < configuration.pings {
            sendPing(tunnel: i, now: now)
            return
        }
        if options.dpd != nil {
            tunnels[i].phase = .probing
            tunnels[i].probeDeadline = now + Self.probeTimeout
            perform(tunnels[i].initiator.probePeer(now: now), tunnel: i, now: now)
            return
        }
        close(tunnel: i, now: now)
    }

    private func close(tunnel i: Int, now: MonotonicTime) {
        if configuration.keepSAs {
            tunnels[i].phase = .done
            return
        }
        tunnels[i].phase = .closing
        perform(tunnels[i].initiator.deleteISAKMPSA(now: now), tunnel: i, now: now)
        // DELETE is not acknowledged (RFC 2408 §3.15): nothing to wait for.
        tunnels[i].phase = .done
    }

    private func sendPing(tunnel i: Int, now: MonotonicTime) {
        guard var outbound = tunnels[i].outbound, let child = tunnels[i].child else { return }
        let sequence = UInt16(truncatingIfNeeded: tunnels[i].pingsSent + 1)
        let icmp = FrameBuilder.icmpEcho(request: true, identifier: UInt16(truncatingIfNeeded: i), sequence: sequence,
                                         payload: Array("vpnslb ikev1 client ping".utf8))
        let inner = FrameBuilder.ipv4(FrameBuilder.IPv4Fields(source: tunnels[i].local, destination: configuration.service),
                                      protocol: .icmp, payload: icmp)
        tunnels[i].pingsSent += 1
        tunnels[i].result.pingsSent = tunnels[i].pingsSent
        tunnels[i].outstanding = (sequence, now + configuration.pingTimeout)
        guard let esp = try? outbound.seal(inner, now: now, crypto: crypto) else { return }
        tunnels[i].outbound = outbound
        if child.udpEncapsulation {
            tunnels[i].sockets.ike4500.send(esp, to: configuration.gateway, port: tunnels[i].initiator.info?.peer.port ?? 4500)
        } else {
            tunnels[i].sockets.esp.send(esp, to: configuration.gateway, port: 0)
        }
    }

    private func receiveESP(_ packet: [UInt8], tunnel i: Int, now: MonotonicTime) {
        guard var inbound = tunnels[i].inbound, let decapsulated = try? inbound.open(packet, now: now, crypto: crypto) else { return }
        tunnels[i].inbound = inbound
        let reply = decapsulated.payload
        let parsed = reply.withUnsafeBytes { IPv4Header.parse($0, at: 0, verifyChecksum: true) }
        guard case .success(let ip) = parsed, ip.ipProtocol == .icmp, ip.source == configuration.service,
              reply.count >= ip.headerLength + ICMPMessage.headerLength else { return }
        let h = ip.headerLength
        guard reply[h] == ICMPMessage.echoReply,
              UInt16(reply[h + 4]) << 8 | UInt16(reply[h + 5]) == UInt16(truncatingIfNeeded: i),
              let o = tunnels[i].outstanding,
              UInt16(reply[h + 6]) << 8 | UInt16(reply[h + 7]) == o.sequence else { return }
        tunnels[i].outstanding = nil
        tunnels[i].pingsAnswered += 1
        tunnels[i].result.pingsAnswered = tunnels[i].pingsAnswered
        pace(tunnel: i, now: now)
    }
}
