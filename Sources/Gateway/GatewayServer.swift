#if canImport(Glibc)
import Glibc
#endif
import ControlSocket
import Foundation
import GatewayShow
import IKE
import Logging
import SLBWire

/// `slb gateway`: the sockets, the event loop and the control socket around `GatewayCore`.
///
/// Sockets, per bound address (the VIP, then each `--listen` address): UDP 500, UDP 4500 and
/// a raw IP-protocol-50 socket. Everything runs on one dedicated thread: poll() over the
/// sockets and the control listener, with the timeout set by the IKE responder's next
/// deadline (capped at one second for the ESP lifetime sweep). Replies leave by the socket
/// bound to the address the request reached, so they come from the VIP.
public final class GatewayServer: @unchecked Sendable {
    // @unchecked: built on the caller's thread, then used only by the loop thread (the
    // creator just waits for it in `run`).
    private var core: GatewayCore
    private let sockets: [DatagramSocket]
    private let control: ControlServer?
    private let udpByEndpoint: [IKEEndpoint: Int]
    private let rawByAddress: [IPv4Address: Int]
    private let logger: Logger

    /// Largest datagram read: the IPv4 maximum (RFC 791), so nothing valid is truncated.
    static let receiveBufferSize = 65_535
    /// Datagrams drained from one socket per poll wakeup, so one busy socket cannot starve the rest.
    static let receiveBatch = 64
    /// Longest poll() sleep: the ESP hard-lifetime sweep runs at least this often.
    static let housekeepingMilliseconds: Int32 = 1000

    public init(configuration: GatewayConfiguration, controlPath: String?, logger: Logger) throws {
        // The control socket first: if a datagram socket then fails, it closes on the way out.
        let controlServer = try controlPath.map { path throws(ControlSocketError) in try ControlServer(path: path) }
        var opened: [DatagramSocket] = []
        do {
            for address in configuration.boundAddresses {
                opened.append(try DatagramSocket.udp(address, port: 500))
                opened.append(try DatagramSocket.udp(address, port: 4500))
                opened.append(try DatagramSocket.rawESP(address))
            }
        } catch {
            for s in opened { s.close() }
            throw error
        }
        sockets = opened
        var udp: [IKEEndpoint: Int] = [:]
        var raw: [IPv4Address: Int] = [:]
        for (i, s) in opened.enumerated() {
            switch s.kind {
            case .udp: udp[IKEEndpoint(s.localAddress, s.localPort)] = i
            case .rawESP: raw[s.localAddress] = i
            }
        }
        udpByEndpoint = udp
        rawByAddress = raw
        control = controlServer
        core = GatewayCore(configuration: configuration, now: MonotonicClock.now())
        self.logger = logger
    }

    deinit {
        for s in sockets { s.close() }
    }

    /// Runs the loop on its own thread until SIGTERM/SIGINT.
    public func run() {
        StopSignal.install()
        LoopThread.runAndWait { [self] in loop() }
    }

    private func loop() {
        StopSignal.acceptOnThisThread()
        var buffer = [UInt8](repeating: 0, count: Self.receiveBufferSize)
        var output: [GatewayOutput] = []
        output.reserveCapacity(Self.receiveBatch)
        var pollSet = sockets.map { pollfd(fd: $0.fileDescriptor, events: Int16(POLLIN), revents: 0) }
        if let control { pollSet.append(pollfd(fd: control.fileDescriptor, events: Int16(POLLIN), revents: 0)) }
        logger.info("gateway up", metadata: [
            "gateway.vip": "\(core.configuration.virtualIP)",
            "gateway.addresses": "\(core.configuration.boundAddresses.map { "\($0)" }.joined(separator: " "))",
            "gateway.control": "\(control?.path ?? "none")",
        ])
        while StopSignal.requested == 0 {
            let now = MonotonicClock.now()
            var timeout = Self.housekeepingMilliseconds
            if let deadline = core.nextIKEDeadline {
                let wait = deadline > now ? (deadline - now).nanoseconds / 1_000_000 + 1 : 0
                timeout = Int32(min(UInt64(timeout), wait))
            }
            _ = pollReadable(&pollSet, timeoutMilliseconds: timeout)
            for (i, entry) in pollSet.enumerated() where entry.revents & Int16(POLLIN) != 0 {
                if i < sockets.count {
                    drain(sockets[i], buffer: &buffer, output: &output)
                } else {
                    control?.servePending(answer)
                }
            }
            core.handleTimers(now: MonotonicClock.now(), into: &output)
            flush(&output)
            for event in core.takeEvents() { log(event) }
        }
        logger.info("gateway stopping")
    }

    private func drain(_ socket: DatagramSocket, buffer: inout [UInt8], output: inout [GatewayOutput]) {
        for _ in 0..<Self.receiveBatch {
            guard let (count, from, port) = socket.receive(into: &buffer) else { return }
            let now = MonotonicClock.now()
            guard count <= buffer.count else {
                core.countEdgeDrop(socket.kind == .udp ? "udp.oversize" : "esp.oversize")
                continue
            }
            switch socket.kind {
            case .udp:
                core.receiveUDP(Array(buffer[0..<count]), from: IKEEndpoint(from, port),
                                to: IKEEndpoint(socket.localAddress, socket.localPort), now: now, into: &output)
            case .rawESP:
                guard let (source, payload) = ipv4Payload(buffer, count: count) else {
                    core.countEdgeDrop("esp.badOuterIPv4")
                    continue
                }
                core.receiveRawESP(Array(payload), from: source, now: now, into: &output)
            }
            flush(&output)
        }
    }

    private func flush(_ output: inout [GatewayOutput]) {
        for o in output {
            let sent: Bool
            switch o {
            case .udp(let bytes, let from, let to):
                guard let i = udpByEndpoint[from] else { core.countEdgeDrop("send.noSocket"); continue }
                sent = sockets[i].send(bytes, to: to.address, port: to.port)
            case .rawESP(let bytes, let from, let to):
                guard let i = rawByAddress[from] else { core.countEdgeDrop("send.noSocket"); continue }
                sent = sockets[i].send(bytes, to: to, port: 0)
            }
            if !sent { core.countEdgeDrop("send.failed") }
        }
        output.removeAll(keepingCapacity: true)
    }

    private func log(_ event: GatewayEvent) {
        func hex(_ v: UInt32) -> Logger.MetadataValue { "\(String(v, radix: 16))" }
        func spis(_ id: IKESAIdentifier) -> Logger.Metadata {
            ["ike.spi_i": "\(ShowNames.hex64(id.spiI))", "ike.spi_r": "\(ShowNames.hex64(id.spiR))"]
        }
        switch event {
        case .ikeEstablished(let id, let peer, let identity, let tunnel):
            logger.info("IKE SA established", metadata: spis(id).merging([
                "ike.peer": "\(peer)", "ike.identity": "\(identity)", "ike.tunnel": "\(tunnel)"]) { a, _ in a })
        case .ikeDeleted(let id):
            logger.info("IKE SA deleted", metadata: spis(id))
        case .ikeRekeyed(let old, let new):
            logger.info("IKE SA rekeyed", metadata: spis(new).merging([
                "ike.old_spi_r": "\(ShowNames.hex64(old.spiR))"]) { a, _ in a })
        case .childInstalled(let i, let o, let udp, let id):
            logger.info("Child SA installed", metadata: spis(id).merging([
                "esp.spi_in": hex(i), "esp.spi_out": hex(o), "esp.udp": "\(udp)"]) { a, _ in a })
        case .childDeleted(let i):
            logger.info("Child SA deleted", metadata: ["esp.spi_in": hex(i)])
        case .childExpired(let i):
            logger.notice("Child SA hard lifetime expired, DELETE sent", metadata: ["esp.spi_in": hex(i)])
        case .ikeExpired(let id):
            logger.notice("IKE SA lifetime expired, DELETE sent", metadata: spis(id))
        case .childRekeyStarted(let i):
            logger.info("Child SA soft lifetime reached, rekeying", metadata: ["esp.spi_in": hex(i)])
        case .ikeFailed(let reason):
            logger.notice("IKE SA failed", metadata: ["ike.failure": "\(reason)"])
        case .ikev1Event(let e):
            let metadata = e.metadata.mapValues { Logger.MetadataValue.string($0) }
            if e.notice { logger.notice("\(e.message)", metadata: metadata) } else { logger.info("\(e.message)", metadata: metadata) }
        }
    }

    /// Control requests: `snapshot` → the JSON `GatewaySnapshot`.
    private func answer(_ request: [UInt8]) -> (ControlFrame.Status, [UInt8]) {
        guard String(decoding: request, as: UTF8.self) == GatewayControl.snapshotRequest else {
            return (.badRequest, Array("unknown request; expected '\(GatewayControl.snapshotRequest)'".utf8))
        }
        let snapshot = core.snapshot(now: MonotonicClock.now())
        guard let json = try? GatewayControl.encode(snapshot) else { return (.badRequest, Array("encoding failed".utf8)) }
        return (.ok, json)
    }
}

/// The gateway's control protocol on top of `ControlSocket`.
public enum GatewayControl {
    public static let snapshotRequest = "snapshot"
    public static let defaultPath = "/run/vpnslb/gateway.sock"

    public static func encode(_ snapshot: GatewaySnapshot) throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return Array(try encoder.encode(snapshot))
    }

    public static func decode(_ bytes: [UInt8]) throws -> GatewaySnapshot {
        try JSONDecoder().decode(GatewaySnapshot.self, from: Data(bytes))
    }

    /// Asks the gateway at `path` for its snapshot.
    public static func fetchSnapshot(path: String) throws -> GatewaySnapshot {
        try decode(ControlClient.request(path: path, Array(snapshotRequest.utf8)))
    }
}
