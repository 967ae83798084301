#if canImport(Glibc)
import Glibc
#endif
import CryptoOpenSSL
import ESP
import IKE
import IPsecCrypto
import SLBWire

/// `slb client --hold`: tunnels that stay up for a while, ping through themselves at a steady
/// pace, run dead peer detection and re-initiate when the peer is dead — what a VPN client
/// with `dpd_action = restart` does (RFC 7296 §2.4: a peer that does not answer a request
/// after the retransmissions is dead; strongSwan's `dpd_delay`: check liveness after that
/// much inbound silence). IKEv2, or IKEv1 (`ikev1`): main mode + quick mode, liveness by
/// R-U-THERE (RFC 3706), re-initiation with fresh cookies. It measures each tunnel's outage:
/// the longest gap between two answered pings.
public struct DPDClientConfiguration: Sendable {
    public var base: ClientConfiguration
    /// How long the tunnels are held; the run ends then (no DELETE is sent: the gateways'
    /// SAs stay for inspection).
    public var hold: TimeSpan
    /// Inbound silence (no IKE, no ESP) before a liveness check (empty INFORMATIONAL, §1.4).
    public var dpdDelay: TimeSpan
    public var pingInterval: TimeSpan
    /// The liveness check's retransmissions; their sum plus `dpdDelay` is the detection time.
    public var retransmission: RetransmissionPolicy
    /// Wait before re-initiating after a failed negotiation (an immediate DPD restart is not
    /// delayed), so a dead farm is not hammered.
    public var retryDelay: TimeSpan
    /// IKEv1 instead of IKEv2 (`--ike v1`): these policies and transform sets.
    public var ikev1: IKEv1ClientOptions?
    /// IKEv1 liveness: R-U-THEREs `ikev1RetryInterval` apart, the peer dead when
    /// `ikev1Retries` + 1 of them went unanswered (RFC 3706 §5.5 leaves the numbers to us;
    /// IOS retries 5 times 2 s apart, shorter here so a farm failover is seen within seconds).
    public var ikev1RetryInterval: TimeSpan
    public var ikev1Retries: Int
    /// NAT-keepalive (RFC 3948 §2.3): a UDP-encapsulated tunnel that has sent nothing on
    /// 4500 for this long sends the one octet 0xFF, so a NAT (or a stateful SLB/firewall)
    /// in front keeps the client's mapping. strongSwan's `keep_alive` default, 20 s; nil = off.
    public var natKeepalive: TimeSpan?

    public init(base: ClientConfiguration, hold: TimeSpan, dpdDelay: TimeSpan) {
        self.base = base
        self.hold = hold
        self.dpdDelay = dpdDelay
        self.pingInterval = .milliseconds(200)
        self.retransmission = RetransmissionPolicy(initialTimeout: .seconds(1), backoffPerMille: 1400, retransmissions: 3)
        self.retryDelay = .seconds(1)
        self.ikev1 = nil
        self.ikev1RetryInterval = .seconds(1)
        self.ikev1Retries = 3
        self.natKeepalive = .seconds(20)
    }

    /// The IKEv1 machine's DPD policy: on demand only (never periodic, and the runner never
    /// calls `noteTraffic`), so a probe goes out only when the runner asks after `dpdDelay`
    /// of inbound silence, exactly as for IKEv2; the machine retries and declares death.
    var ikev1DPD: DPDPolicy {
        DPDPolicy(interval: dpdDelay, retryInterval: ikev1RetryInterval, retries: ikev1Retries, periodic: false)
    }

    /// dpdDelay + every wait of the liveness request (first send and each retransmission;
    /// IKEv1: each R-U-THERE's wait, the last one's ending in the verdict).
    public var dpdDetection: TimeSpan {
        if ikev1 != nil {
            return TimeSpan(nanoseconds: dpdDelay.nanoseconds &+ ikev1RetryInterval.nanoseconds &* UInt64(max(0, ikev1Retries) + 1))
        }
        var total = dpdDelay.nanoseconds
        var wait = retransmission.initialTimeout.nanoseconds
        for _ in 0...max(0, retransmission.retransmissions) {
            total &+= wait
            wait = wait / 1000 &* retransmission.backoffPerMille
        }
        return TimeSpan(nanoseconds: total)
    }
}

/// One held tunnel's story.
public struct DPDClientResult: Codable, Sendable, Equatable {
    public var source: String
    /// IKE SAs established over the run (1 = never re-initiated).
    public var establishments: Int
    /// Peers declared dead by DPD.
    public var deadPeers: Int
    public var pingsSent: Int
    public var pingsAnswered: Int
    /// Seconds since the start of the run.
    public var firstAnswer: Double?
    public var lastAnswer: Double?
    /// The longest gap between two answered pings (the outage), and when it ended.
    public var longestGap: Double?
    public var longestGapEnded: Double?
    /// Up with a Child SA when the hold ended.
    public var upAtEnd: Bool
    /// The latest Child SA's framing: ESP in UDP 4500 (RFC 3948) or raw ESP.
    public var udpEncapsulation: Bool?
    /// NAT-keepalives sent (UDP-encapsulated tunnels only).
    public var natKeepalivesSent: Int?
    public var failures: [String]
}

public final class DPDClientRunner: @unchecked Sendable {
    // @unchecked: used by the loop thread only; the creating thread waits for it.
    private let configuration: DPDClientConfiguration
    private let crypto = OpenSSLCryptoProvider()
    private var tunnels: [Tunnel] = []

    private enum Phase { case waiting, negotiating, up }
    private typealias SocketRole = ClientSockets.Role

    private struct Tunnel {
        var local: IPv4Address
        var sockets: ClientSockets
        var initiator: HeldTunnelInitiator
        var phase: Phase = .waiting
        var startAfter: MonotonicTime
        var wakeup: MonotonicTime?
        var inbound: InboundSA?
        var outbound: OutboundSA?
        var child: ChildSA?
        var lastInbound: MonotonicTime
        /// Last datagram sent from the 4500 socket (IKE or ESP): the keepalive's idle clock.
        var lastSent4500 = MonotonicTime.zero
        var livenessPending = false
        var nextPing: MonotonicTime
        var sequence: UInt16 = 0
        var result: DPDClientResult

    }

    public init(configuration: DPDClientConfiguration) throws {
        self.configuration = configuration
        var built: [Tunnel] = []
        do {
            for source in configuration.base.sources {
                let sockets = try ClientSockets(source: source)
                built.append(Tunnel(local: source, sockets: sockets, initiator: makeInitiator(source),
                                    startAfter: .zero, lastInbound: .zero, nextPing: .zero,
                                    result: DPDClientResult(source: "\(source)", establishments: 0, deadPeers: 0, pingsSent: 0,
                                                            pingsAnswered: 0, upAtEnd: false, failures: [])))
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

    /// A fresh initiator (new SPIi or cookies, nonces, keys) for a source: every
    /// (re-)initiation is a new IKE SA, as strongSwan's restart is.
    private func makeInitiator(_ source: IPv4Address) -> HeldTunnelInitiator {
        Self.makeInitiator(source, configuration: configuration, crypto: crypto)
    }

    static func makeInitiator(_ source: IPv4Address, configuration: DPDClientConfiguration,
                              crypto: OpenSSLCryptoProvider) -> HeldTunnelInitiator {
        let base = configuration.base
        if let v1 = configuration.ikev1 {
            var ic = IKEv1InitiatorConfiguration(local: IKEEndpoint(source, 500), peer: IKEEndpoint(base.gateway, 500), psk: base.psk,
                                                 policies: v1.policies, quickMode: v1.quickMode, dpd: configuration.ikev1DPD)
            // IDci/IDcr = this address ↔ the service, as `IKEv1ClientRunner` (the gateway's selector check).
            ic.quickModeIDs = (local: .ipv4(source), remote: .ipv4(base.service))
            ic.forceUDPEncapsulation = base.forceUDPEncapsulation
            ic.retransmission = configuration.retransmission
            return .v1(IKEv1Initiator(configuration: ic, crypto: crypto))
        }
        var ic = IKEv2InitiatorConfiguration(
            local: IKEEndpoint(source, 500), peer: IKEEndpoint(base.gateway, 500),
            identity: .ipv4(source.wireBytes), psk: base.psk, ike: base.ike, dhGroup: base.dhGroup,
            child: ChildSAPolicy(esp: base.esp, localSelectors: [.host(source)], remoteSelectors: [.host(base.service)]))
        ic.peerIdentity = base.gatewayIdentity ?? .ipv4(base.gateway.wireBytes)
        ic.retransmission = configuration.retransmission
        ic.forceUDPEncapsulation = base.forceUDPEncapsulation
        return .v2(IKEv2Initiator(configuration: ic, crypto: crypto))
    }

    /// Runs until the hold ends or SIGTERM/SIGINT arrives (then reports as usual).
    public func run() -> [DPDClientResult] {
        StopSignal.install()
        LoopThread.runAndWait { [self] in
            StopSignal.acceptOnThisThread()
            loop()
        }
        return tunnels.map(\.result)
    }

    static let tickMilliseconds: Int64 = 20
    static let receiveBatch = 64

    private var started = MonotonicTime.zero

    private func loop() {
        started = MonotonicClock.now()
        let deadline = started + configuration.hold
        var buffer = [UInt8](repeating: 0, count: 65_535)
        var pollSet = ClientPollSet(tunnels.map(\.sockets))
        while true {
            var now = MonotonicClock.now()
            if now >= deadline || StopSignal.requested != 0 { break }
            startTunnels(now: now)
            pollSet.wait(timeoutMilliseconds: Int32(Self.tickMilliseconds)) { drain(tunnel: $0, role: $1, buffer: &buffer) }
            now = MonotonicClock.now()
            for i in tunnels.indices {
                if let w = tunnels[i].wakeup, w <= now {
                    tunnels[i].wakeup = nil
                    perform(tunnels[i].initiator.handleTimers(now: now), tunnel: i, now: now)
                }
                guard tunnels[i].phase == .up else { continue }
                // DPD: inbound silence for dpdDelay → one liveness request (retransmitted by
                // the initiator; exhausted → .failed(.timeout) → restart).
                if !tunnels[i].livenessPending, now - tunnels[i].lastInbound >= configuration.dpdDelay {
                    tunnels[i].livenessPending = true
                    perform(tunnels[i].initiator.checkLiveness(now: now), tunnel: i, now: now)
                }
                if tunnels[i].phase == .up, now >= tunnels[i].nextPing {
                    sendPing(tunnel: i, now: now)
                    tunnels[i].nextPing = now + configuration.pingInterval
                }
                if let keepalive = configuration.natKeepalive, tunnels[i].phase == .up,
                   tunnels[i].child?.udpEncapsulation == true, now - tunnels[i].lastSent4500 >= keepalive {
                    sendNATKeepalive(tunnel: i, now: now)
                }
            }
        }
        for i in tunnels.indices { tunnels[i].result.upAtEnd = tunnels[i].phase == .up }
    }

    private func seconds(_ t: MonotonicTime) -> Double { Double((t - started).nanoseconds) / 1e9 }

    private func startTunnels(now: MonotonicTime) {
        var inFlight = tunnels.filter { $0.phase == .negotiating }.count
        for i in tunnels.indices where tunnels[i].phase == .waiting && tunnels[i].startAfter <= now {
            guard inFlight < configuration.base.concurrency else { return }
            tunnels[i].phase = .negotiating
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
                receiveIKE(message, from: IKEEndpoint(from, port), to: IKEEndpoint(tunnels[i].local, localPort), tunnel: i, now: now)
            case .esp(let packet):
                receiveESP(packet, tunnel: i, now: now)
            case nil:
                continue
            }
        }
    }

    private func receiveIKE(_ datagram: [UInt8], from: IKEEndpoint, to: IKEEndpoint, tunnel i: Int, now: MonotonicTime) {
        let before = tunnels[i].initiator.isEstablished
        let events = tunnels[i].initiator.receive(datagram, from: from, to: to, now: now)
        // Any IKE message the SA accepts is proof of life (a dropped one is not).
        if before, !events.contains(where: { if case .dropped = $0 { true } else { false } }) {
            tunnels[i].lastInbound = now
            tunnels[i].livenessPending = false
        }
        perform(events, tunnel: i, now: now)
    }

    private func perform(_ events: [TunnelEvent], tunnel i: Int, now: MonotonicTime) {
        for event in events {
            switch event {
            case .send(let bytes, let to, let from):
                if from.port == 500 {
                    tunnels[i].sockets.ike500.send(bytes, to: to.address, port: to.port)
                } else {
                    tunnels[i].sockets.ike4500.send(markedIKEDatagram(bytes), to: to.address, port: to.port)
                    tunnels[i].lastSent4500 = now
                }
            case .schedule(let at):
                tunnels[i].wakeup = at
            case .established:
                tunnels[i].result.establishments += 1
            case .install(let child):
                install(child, tunnel: i, now: now)
            case .deleteChild(let inbound):
                if tunnels[i].inbound?.spi == inbound {
                    tunnels[i].inbound = nil
                    tunnels[i].outbound = nil
                    tunnels[i].child = nil
                }
            case .alive:
                tunnels[i].lastInbound = now
                tunnels[i].livenessPending = false
            case .down(let reason):
                restart(tunnel: i, now: now, reason: reason)
                return
            case .dropped:
                break
            }
        }
    }

    /// The peer is dead (DPD exhausted), deleted the SA, or the negotiation failed: start over
    /// with a fresh IKE SA (`dpd_action = restart`).
    private func restart(tunnel i: Int, now: MonotonicTime, reason: String) {
        let wasUp = tunnels[i].phase == .up
        if wasUp { tunnels[i].result.deadPeers += 1 }
        if tunnels[i].result.failures.count < 16 { tunnels[i].result.failures.append(reason) }
        tunnels[i].initiator = makeInitiator(tunnels[i].local)
        tunnels[i].inbound = nil
        tunnels[i].outbound = nil
        tunnels[i].child = nil
        tunnels[i].wakeup = nil
        tunnels[i].livenessPending = false
        tunnels[i].phase = .waiting
        tunnels[i].startAfter = wasUp ? now : now + configuration.retryDelay
    }

    private func install(_ child: ChildSA, tunnel i: Int, now: MonotonicTime) {
        do throws(ESPError) {
            tunnels[i].inbound = try child.inboundSA(now: now)
            tunnels[i].outbound = try child.outboundSA(now: now)
            tunnels[i].child = child
            tunnels[i].result.udpEncapsulation = child.udpEncapsulation
            tunnels[i].phase = .up
            tunnels[i].lastInbound = now
            // IKEv1: the gateway installs on QM3, which our first ESP packet can overtake.
            tunnels[i].nextPing = configuration.ikev1 == nil ? now : now + IKEv1ClientRunner.firstPingDelay
        } catch {
            if tunnels[i].result.failures.count < 16 { tunnels[i].result.failures.append("ESP SA: \(error)") }
        }
    }

    private func sendPing(tunnel i: Int, now: MonotonicTime) {
        guard var outbound = tunnels[i].outbound, let child = tunnels[i].child else { return }
        tunnels[i].sequence &+= 1
        let icmp = FrameBuilder.icmpEcho(request: true, identifier: UInt16(truncatingIfNeeded: i), sequence: tunnels[i].sequence,
                                         payload: Array("vpnslb dpd client".utf8))
        let inner = FrameBuilder.ipv4(FrameBuilder.IPv4Fields(source: tunnels[i].local, destination: configuration.base.service),
                                      protocol: .icmp, payload: icmp)
        tunnels[i].result.pingsSent += 1
        guard let esp = try? outbound.seal(inner, now: now, crypto: crypto) else { return }
        tunnels[i].outbound = outbound
        if child.udpEncapsulation {
            tunnels[i].sockets.ike4500.send(esp, to: configuration.base.gateway, port: tunnels[i].initiator.peerPort ?? 4500)
            tunnels[i].lastSent4500 = now
        } else {
            tunnels[i].sockets.esp.send(esp, to: configuration.base.gateway, port: 0)
        }
    }

    /// RFC 3948 §2.3: one octet 0xFF to the peer's NAT-T port; the gateway drops and counts it
    /// (`natt.keepalive`).
    private func sendNATKeepalive(tunnel i: Int, now: MonotonicTime) {
        tunnels[i].sockets.ike4500.send(FrameBuilder.natKeepalive, to: configuration.base.gateway,
                                        port: tunnels[i].initiator.peerPort ?? 4500)
        tunnels[i].lastSent4500 = now
        tunnels[i].result.natKeepalivesSent = (tunnels[i].result.natKeepalivesSent ?? 0) + 1
    }

    private func receiveESP(_ packet: [UInt8], tunnel i: Int, now: MonotonicTime) {
        guard var inbound = tunnels[i].inbound, let decapsulated = try? inbound.open(packet, now: now, crypto: crypto) else { return }
        tunnels[i].inbound = inbound
        tunnels[i].lastInbound = now
        let reply = decapsulated.payload
        let parsed = reply.withUnsafeBytes { IPv4Header.parse($0, at: 0, verifyChecksum: true) }
        guard case .success(let ip) = parsed, ip.ipProtocol == .icmp, ip.source == configuration.base.service,
              reply.count >= ip.headerLength + ICMPMessage.headerLength else { return }
        let h = ip.headerLength
        guard reply[h] == ICMPMessage.echoReply, UInt16(reply[h + 4]) << 8 | UInt16(reply[h + 5]) == UInt16(truncatingIfNeeded: i) else { return }
        tunnels[i].result.pingsAnswered += 1
        let t = seconds(now)
        if let last = tunnels[i].result.lastAnswer, t - last > (tunnels[i].result.longestGap ?? 0) {
            tunnels[i].result.longestGap = t - last
            tunnels[i].result.longestGapEnded = t
        }
        if tunnels[i].result.firstAnswer == nil { tunnels[i].result.firstAnswer = t }
        tunnels[i].result.lastAnswer = t
    }
}
