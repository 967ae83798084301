#if canImport(Glibc)
import Glibc
#endif
import CryptoOpenSSL
import ESP
import IKE
import IPsecCrypto
import SLBWire

/// What `slb client` is asked to do.
public struct ClientConfiguration: Sendable {
    public var gateway: IPv4Address
    /// One tunnel per source address; each tunnel's sockets are bound to its own address.
    public var sources: [IPv4Address]
    public var psk: [UInt8]
    /// IDr to send and require; nil = the gateway address as ID_IPV4_ADDR.
    public var gatewayIdentity: IdentificationPayload?
    /// The inside address pinged through each tunnel (TSr).
    public var service: IPv4Address
    public var pings: Int
    public var pingTimeout: TimeSpan
    /// Whole run, IKE included; the client stops by itself at this limit.
    public var timeLimit: TimeSpan
    /// IKE negotiations in flight at once.
    public var concurrency: Int
    /// Leave the SAs up (no DELETE) so a test can inspect the gateway afterwards.
    public var keepSAs: Bool
    public var ike: ProposalPolicy
    public var dhGroup: DHGroup
    public var esp: ProposalPolicy
    /// Ask for an inner address (CP INTERNAL_IP4_ADDRESS, RFC 7296 §3.15) and ping from it;
    /// otherwise the inner source is the tunnel's own source address.
    public var requestVirtualAddress: Bool
    /// `--natt`: pretend to be behind a NAT (strongSwan's `encap = yes`): a NAT-D source hash
    /// that matches nothing (RFC 7296 §2.23 / RFC 3947 §3.2), so IKE moves to UDP 4500 with the
    /// non-ESP marker and ESP is carried in UDP 4500 both ways (RFC 3948).
    public var forceUDPEncapsulation: Bool

    /// `slb client` accepts at most this many tunnels (the lab plan has ≤ 350 clients).
    public static let maximumTunnels = 1000
    public static let maximumPings = 1000

    public init(gateway: IPv4Address, sources: [IPv4Address], psk: [UInt8]) {
        self.gateway = gateway
        self.sources = sources
        self.psk = psk
        self.gatewayIdentity = nil
        self.service = GatewayConfiguration.defaultInsideAddress
        self.pings = 3
        self.pingTimeout = .seconds(1)
        self.timeLimit = .seconds(30)
        self.concurrency = 16
        self.keepSAs = false
        self.ike = .gatewayIKE
        self.dhGroup = .curve25519
        self.esp = .gatewayESP
        self.requestVirtualAddress = false
        self.forceUDPEncapsulation = false
    }
}

/// One tunnel's outcome, as `slb client` reports it (text and JSON).
public struct ClientResult: Codable, Sendable, Equatable {
    public var source: String
    public var established: Bool
    public var ikeMilliseconds: UInt64?
    public var pingsSent: Int
    public var pingsAnswered: Int
    public var ikeSPIi: String?
    public var ikeSPIr: String?
    /// The SPI the client receives on (the gateway's outbound SPI) and the one it sends to.
    public var inboundSPI: UInt32?
    public var outboundSPI: UInt32?
    public var udpEncapsulation: Bool?
    /// The endpoint that answered IKE and the identity it proved (the SLB hides which real
    /// it was: every real answers from the VIP with the VIP's identity).
    public var gatewayEndpoint: String?
    public var gatewayIdentity: String?
    /// The inner address the gateway assigned (CP reply), when one was requested.
    public var virtualAddress: String?
    /// IKEv1 with `--dpd`: whether the gateway answered our R-U-THERE (RFC 3706).
    public var dpdAcknowledged: Bool?
    public var failure: String?

    public var pingOK: Bool { pingsSent > 0 && pingsAnswered == pingsSent }
}

/// Runs many IKEv2 tunnels with the project's initiator, one per source address, and pings
/// through each. Single-threaded over poll(), on its own thread; bounded in tunnels, pings
/// and time.
public final class ClientRunner: @unchecked Sendable {
    // @unchecked: used by the loop thread only; the creating thread waits for it.
    private let configuration: ClientConfiguration
    private let crypto = OpenSSLCryptoProvider()
    private var tunnels: [Tunnel] = []

    private enum Phase { case waiting, negotiating, pinging, closing, done }
    private typealias SocketRole = ClientSockets.Role

    private struct Tunnel {
        var local: IPv4Address
        var sockets: ClientSockets
        var initiator: IKEv2Initiator
        var phase: Phase = .waiting
        var started: MonotonicTime?
        var wakeup: MonotonicTime?
        var inbound: InboundSA?
        var outbound: OutboundSA?
        var child: ChildSA?
        var pingsSent = 0
        var pingsAnswered = 0
        var outstanding: (sequence: UInt16, deadline: MonotonicTime)?
        var innerSource: IPv4Address
        var result: ClientResult

    }

    public init(configuration: ClientConfiguration) throws {
        self.configuration = configuration
        var built: [Tunnel] = []
        do {
            for source in configuration.sources {
                let sockets = try ClientSockets(source: source)
                var ic = IKEv2InitiatorConfiguration(
                    local: IKEEndpoint(source, 500), peer: IKEEndpoint(configuration.gateway, 500),
                    identity: .ipv4(source.wireBytes), psk: configuration.psk, ike: configuration.ike,
                    dhGroup: configuration.dhGroup,
                    child: ChildSAPolicy(esp: configuration.esp,
                                         // With CP the responder narrows 0.0.0.0/0 to the address it assigns.
                                         localSelectors: [configuration.requestVirtualAddress ? .anyIPv4 : .host(source)],
                                         remoteSelectors: [.host(configuration.service)]))
                ic.requestVirtualAddress = configuration.requestVirtualAddress
                ic.forceUDPEncapsulation = configuration.forceUDPEncapsulation
                ic.peerIdentity = configuration.gatewayIdentity ?? .ipv4(configuration.gateway.wireBytes)
                built.append(Tunnel(local: source, sockets: sockets,
                                    initiator: IKEv2Initiator(configuration: ic, crypto: crypto), innerSource: source,
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

    /// Runs every tunnel to completion (or the time limit) on a dedicated thread.
    public func run() -> [ClientResult] {
        LoopThread.runAndWait { [self] in loop() }
        return tunnels.map(\.result)
    }

    /// poll() timeout cap so pings and starts are paced even with no traffic.
    static let tickMilliseconds: Int64 = 50
    /// After the pings, how long DELETEs may take to be answered.
    static let closingGrace = TimeSpan.seconds(2)

    private func loop() {
        let start = MonotonicClock.now()
        let deadline = start + configuration.timeLimit
        var buffer = [UInt8](repeating: 0, count: 65_535)
        var pollSet = ClientPollSet(tunnels.map(\.sockets))
        var closingDeadline: MonotonicTime?
        while true {
            var now = MonotonicClock.now()
            if now >= deadline { break }
            if let c = closingDeadline, now >= c { break }
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
                    let actions = tunnels[i].initiator.handleTimers(now: now)
                    perform(actions, tunnel: i, now: now)
                }
                pace(tunnel: i, now: now)
            }
            if closingDeadline == nil, tunnels.allSatisfy({ $0.phase == .done || $0.phase == .closing }) {
                if tunnels.allSatisfy({ $0.phase == .done }) { break }
                closingDeadline = now + Self.closingGrace
            }
            if closingDeadline != nil, tunnels.allSatisfy({ $0.phase == .done }) { break }
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

    /// Datagrams read from one socket per wakeup, so one busy socket cannot starve the rest.
    static let receiveBatch = 64

    private func drain(tunnel i: Int, role: SocketRole, buffer: inout [UInt8]) {
        let socket = tunnels[i].sockets.socket(role)
        for _ in 0..<Self.receiveBatch {
            guard let (count, from, port) = socket.receive(into: &buffer) else { return }
            let now = MonotonicClock.now()
            guard count <= buffer.count else { continue }
            switch ClientDatagram(role: role, buffer: buffer, count: count) {
            case .ike(let message, _):
                perform(tunnels[i].initiator.receive(message, from: IKEEndpoint(from, port), now: now), tunnel: i, now: now)
            case .esp(let packet):
                receiveESP(packet, tunnel: i, now: now)
            case nil:
                continue
            }
        }
    }

    private func perform(_ actions: [IKEAction], tunnel i: Int, now: MonotonicTime) {
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
            case .established(let info):
                tunnels[i].result.established = true
                tunnels[i].result.ikeMilliseconds = tunnels[i].started.map { (now - $0).nanoseconds / 1_000_000 }
                tunnels[i].result.ikeSPIi = ShowNames.hex64(info.id.spiI)
                tunnels[i].result.ikeSPIr = ShowNames.hex64(info.id.spiR)
                tunnels[i].result.gatewayEndpoint = "\(info.peer)"
                tunnels[i].result.gatewayIdentity = ShowNames.identity(info.peerIdentity)
                tunnels[i].result.udpEncapsulation = info.udpEncapsulation
                tunnels[i].result.virtualAddress = info.virtualAddress.map { "\($0)" }
                tunnels[i].innerSource = info.virtualAddress ?? tunnels[i].local
            case .installChildSA(let child, _):
                install(child, tunnel: i, now: now)
            case .deleteChildSA(let inbound, _, _):
                if tunnels[i].inbound?.spi == inbound {
                    tunnels[i].inbound = nil
                    tunnels[i].outbound = nil
                }
            case .deleteIKESA:
                if tunnels[i].phase == .closing { tunnels[i].phase = .done }
            case .rekeyedIKESA:
                break
            case .failed(let f):
                if tunnels[i].phase == .closing {
                    tunnels[i].phase = .done
                } else if tunnels[i].phase != .done {
                    tunnels[i].result.failure = "\(f)"
                    tunnels[i].phase = .done
                }
            case .dropped:
                break
            }
        }
    }

    private func install(_ child: ChildSA, tunnel i: Int, now: MonotonicTime) {
        do throws(ESPError) {
            let transform = try ESPTransform(encryption: child.suite.encryption, keyLength: child.suite.keyLength,
                                             integrity: child.suite.integrity)
            tunnels[i].inbound = try InboundSA(spi: child.inboundSPI, transform: transform,
                                               keyMaterial: child.inboundKeys.encryption + child.inboundKeys.integrity, now: now)
            tunnels[i].outbound = try OutboundSA(spi: child.outboundSPI, transform: transform,
                                                 keyMaterial: child.outboundKeys.encryption + child.outboundKeys.integrity, now: now)
            tunnels[i].child = child
            tunnels[i].result.inboundSPI = child.inboundSPI
            tunnels[i].result.outboundSPI = child.outboundSPI
            tunnels[i].result.udpEncapsulation = child.udpEncapsulation
            if tunnels[i].phase == .negotiating { tunnels[i].phase = .pinging }
        } catch {
            tunnels[i].result.failure = "ESP SA: \(error)"
            tunnels[i].phase = .done
        }
    }

    /// Sends the next ping when none is outstanding; after the last, closes the tunnel.
    private func pace(tunnel i: Int, now: MonotonicTime) {
        guard tunnels[i].phase == .pinging else { return }
        if let o = tunnels[i].outstanding {
            guard now >= o.deadline else { return }
            tunnels[i].outstanding = nil
        }
        if tunnels[i].pingsSent < configuration.pings {
            sendPing(tunnel: i, now: now)
            return
        }
        if configuration.keepSAs {
            tunnels[i].phase = .done
        } else {
            tunnels[i].phase = .closing
            perform(tunnels[i].initiator.delete(now: now), tunnel: i, now: now)
        }
    }

    private func sendPing(tunnel i: Int, now: MonotonicTime) {
        guard var outbound = tunnels[i].outbound, let child = tunnels[i].child else { return }
        let sequence = UInt16(truncatingIfNeeded: tunnels[i].pingsSent + 1)
        let identifier = UInt16(truncatingIfNeeded: i)
        let icmp = FrameBuilder.icmpEcho(request: true, identifier: identifier, sequence: sequence,
                                         payload: Array("vpnslb client ping".utf8))
        let inner = FrameBuilder.ipv4(FrameBuilder.IPv4Fields(source: tunnels[i].innerSource, destination: configuration.service),
                                      protocol: .icmp, payload: icmp)
        tunnels[i].pingsSent += 1
        tunnels[i].result.pingsSent = tunnels[i].pingsSent
        tunnels[i].outstanding = (sequence, now + configuration.pingTimeout)
        guard let esp = try? outbound.seal(inner, now: now, crypto: crypto) else { return }
        tunnels[i].outbound = outbound
        if child.udpEncapsulation {
            let port = tunnels[i].initiator.ikeSA?.peer.port ?? 4500
            tunnels[i].sockets.ike4500.send(esp, to: configuration.gateway, port: port)
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
