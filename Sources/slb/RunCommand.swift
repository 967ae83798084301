import ArgumentParser
import Dataplane
import Dispatch
import Foundation
import Lab
import Runtime
import SLBConfig
import SLBCore
import SLBShow
import SLBWire
#if canImport(Glibc)
import Glibc
#endif

/// `slb run FILE`: the load balancer. VIP packets are read on the public interface (BPF filter
/// from the vservers), the engine picks a real, the frame leaves on the inside interface with
/// the real's MAC (dispatched mode) or also the real's address (directed mode, `nat server`,
/// whose replies are read on the inside interface and sent back to the client from the VIP).
/// The host kernel is told to drop that traffic (nftables table `ip vpnslb`, removed at exit).
/// Events and counters go to standard error; SIGUSR1 prints a report.
struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run the load balancer on a configuration (dispatched and directed mode).",
        discussion: "In the lab: ip netns exec vslb-lab-slb slb run Farms/three-gateways.cfg")

    enum Backend: String, ExpressibleByArgument, CaseIterable {
        case packetSocket = "packet-socket"
        case pcap
    }

    @Argument(help: "Configuration file (IOS syntax).")
    var file: String

    @Option(name: .customLong("public"), help: "Interface the clients' VIP traffic arrives on.")
    var publicInterface: String = "brc"

    @Option(name: .customLong("inside"), help: "Interface the reals are reached on.")
    var insideInterface: String = "brg"

    @Option(help: "Packet I/O: packet-socket (AF_PACKET TPACKET_V3 + sendmmsg) or pcap.")
    var backend: Backend = .packetSocket

    @Option(name: .customLong("for"), help: "Stop after DURATION seconds (90, 30s, 5m).")
    var duration: String?

    @Option(name: .customLong("report-json"), help: "On SIGUSR1 also write the engine snapshot (connections included) to FILE as JSON.")
    var reportJSON: String?

    @OptionGroup var runtime: RuntimeOptions

    func run() throws {
        let text: String
        do throws(ConfigurationFile.ReadError) { text = try ConfigurationFile.read(path: file) } catch {
            throw ValidationError("\(file): \(error)")
        }
        let result = ConfigParser.parse(text, file: file)
        for diagnostic in result.diagnostics { log(diagnostic.description) }
        guard let configuration = result.configuration else { throw ExitCode.failure }
        var seconds: Int?
        if let duration {
            guard let value = LabDuration.seconds(duration) else { throw ValidationError("--for: like 90, 30s or 5m") }
            seconds = value
        }

        let engine = Engine(configuration: configuration)
        let services = try runtime.makeServices(configuration: configuration, file: file, text: text)
        services.restore(into: engine, now: Dataplane.Clock.now)
        var capture = CaptureSet(configuration: configuration,
                                 ingress: .init(publicInterface: publicInterface, insideInterface: insideInterface))
        let filter = try CaptureSet.program(capture.vipFilter)
        let mac = try RunCommand.macAddress(of: insideInterface)
        let publicMAC = try RunCommand.macAddress(of: publicInterface)
        let replies = DirectedReplyMap(configuration: configuration)
        for ambiguity in replies.ambiguities { log("slb.run.directed.ambiguous \(ambiguity)") }
        // Always a filter (reject-all without directed-mode reals), so the inside socket has a
        // receive ring that a reload adding directed-mode reals can switch on.
        let replyFilter = try CaptureSet.program(capture.replyFilter)
        let now = Dataplane.Clock.now
        let targets = engine.probeTargets.filter { !$0.probes.isEmpty }
        let prober = PingProber(targets: engine.probeTargets, socket: try ICMPEcho(), now: now)

        do {
            try VIPDropTable.load(script: capture.dropTable)
        } catch {
            // A kernel without netdev tables: the prerouting drops alone keep the guarantee.
            log("slb.run.nft.ingress-unavailable \(error) (dropping at prerouting only)")
            capture = CaptureSet(configuration: configuration)
            try VIPDropTable.load(script: capture.dropTable)
        }
        defer { VIPDropTable.remove() }

        switch backend {
        case .packetSocket:
            let rx = try PacketSocketIO(.init(interface: publicInterface, filter: filter))
            let tx = try PacketSocketIO(.init(interface: insideInterface, filter: replyFilter))
            try serve(engine: engine, rx: rx, tx: tx, mac: mac, publicMAC: publicMAC, prober: prober, filter: filter,
                      seconds: seconds, probed: targets.count, services: services, capture: capture)
        case .pcap:
            let rx = try PcapIO(.init(interface: publicInterface, filter: filter))
            let tx = try PcapIO(.init(interface: insideInterface, filter: replyFilter))
            try serve(engine: engine, rx: rx, tx: tx, mac: mac, publicMAC: publicMAC, prober: prober, filter: filter,
                      seconds: seconds, probed: targets.count, services: services, capture: capture)
        }
    }

    private func serve<RX: PacketIO, TX: PacketIO>(engine: Engine, rx: RX, tx: TX, mac: MACAddress, publicMAC: MACAddress,
                                                   prober: PingProber, filter: BPFProgram, seconds: Int?, probed: Int,
                                                   services: SLBRuntime, capture: CaptureSet) throws {
        let forwarder = Forwarder(engine: engine, sourceMAC: mac, batchLimit: rx.batchLimit, publicMAC: publicMAC)
        let loop = ForwardingLoop(forwarder: forwarder, receive: rx, transmit: tx, prober: prober,
                                  neighbourDevice: insideInterface, publicDevice: publicInterface,
                                  describe: RunCommand.showTables, log: { log($0) })
        // One hook: the runtime, wrapped by the IKE prober when the farms have ike probes,
        // wrapped by the --report-json writer when asked for. Each passes everything on.
        let ikeProber = try IKEProber.forRun(engine: engine, insideInterface: insideInterface, sourceMAC: mac,
                                             next: services, log: { log($0) })
        let inner: any ForwardingLoopHook = ikeProber ?? services
        let snapshotHook = reportJSON.map { SnapshotFileHook(path: $0, next: inner) }
        loop.hook = snapshotHook ?? inner
        loop.capture = capture
        loop.managesDropTable = true
        let reloadSignal = DispatchSource.makeSignalSource(signal: SIGHUP, queue: .global())
        signal(SIGHUP, SIG_IGN)
        reloadSignal.setEventHandler { services.requestReload() }
        reloadSignal.resume()
        defer { reloadSignal.cancel() }
        let stop = DispatchSemaphore(value: 0)
        var sources: [any DispatchSourceSignal] = []
        for sig in [SIGINT, SIGTERM, SIGUSR1] {
            signal(sig, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            source.setEventHandler {
                if sig == SIGUSR1 {
                    loop.requestReport()
                    snapshotHook?.request()
                } else {
                    stop.signal()
                }
            }
            source.resume()
            sources.append(source)
        }
        loop.start()
        log("slb.run.ready public=\(publicInterface) inside=\(insideInterface) backend=\(backend.rawValue) "
            + "reals=\(engine.probeTargets.count) probed=\(probed) filter=\"\(filter.expression)\""
            + (forwarder.replies.isEmpty ? "" : " reply-filter=\"\(ReplyFilter.expression(for: forwarder.replies) ?? "")\""))
        if let seconds { _ = stop.wait(timeout: .now() + .seconds(seconds)) } else { stop.wait() }
        loop.stop()
        try loop.wait()
        services.shutdown(engine: engine, now: Dataplane.Clock.now)
        sources.forEach { $0.cancel() }
        log("slb.run.stopped")
    }

    /// `show ip slb reals`, `vservers` and `stats`, as IOS prints them.
    @Sendable static func showTables(_ snapshot: SLBSnapshot) -> String {
        [ShowRequest(table: .reals(farm: nil)), ShowRequest(table: .vservers(name: nil)), ShowRequest(table: .stats)]
            .map { request in
                let table = (try? ShowRenderer.render(request, snapshot)) ?? ""
                return request.command + "\n" + table
            }.joined(separator: "\n")
    }

    /// The inside interface's MAC (the forwarded frames' new source), from sysfs.
    static func macAddress(of interface: String) throws -> MACAddress {
        let path = "/sys/class/net/\(interface)/address"
        guard let text = try? String(contentsOfFile: path, encoding: .utf8),
              let mac = MACAddress(text.trimmingCharacters(in: .whitespacesAndNewlines)) else {
            throw ValidationError("no such interface \(interface) (\(path))")
        }
        return mac
    }
}

/// Events and reports: one line each on standard error (unbuffered), dotted names first.
@Sendable func log(_ line: String) {
    FileHandle.standardError.write(Data((line + "\n").utf8))
}
