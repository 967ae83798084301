import ArgumentParser
import Foundation
import Gateway
import IKE
import SLBWire

/// `slb client`: many real IKEv2 tunnels with the project's initiator, one per source
/// address, each pinging the service address through its tunnel. Bounded; stops by itself.
struct ClientCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "client",
        abstract: "Bring up IKEv2 (or, with --ike v1, IKEv1) tunnels from distinct source addresses and ping through each.")

    @Option(help: "The gateway (VIP) to dial.")
    var gateway: String = "203.0.113.100"

    @Option(help: "Source address of a tunnel; repeatable. With --count, the first of a consecutive run.")
    var source: [String]

    @Option(help: "Number of tunnels from consecutive addresses starting at the first --source.")
    var count: Int?

    @Option(name: .customLong("psk-file"), help: "PSK file (same format as the gateway's); the gateway address's line or '*'.")
    var pskFile: String

    @Option(help: "Inside address to ping through each tunnel.")
    var service: String = "203.0.113.1"

    @Option(help: "Pings per tunnel.")
    var pings: Int = 3

    @Option(name: .customLong("ping-timeout"), help: "Milliseconds to wait for each echo reply.")
    var pingTimeout: UInt64 = 1000

    @Option(name: .customLong("time-limit"), help: "Seconds for the whole run.")
    var timeLimit: UInt64 = 30

    @Option(help: "IKE negotiations in flight at once.")
    var concurrency: Int = 16

    @Flag(name: .customLong("request-address"), help: "Ask the gateway for an inner address (its --pool) and ping from it.")
    var requestAddress = false

    @Flag(help: "Pretend to be behind a NAT (strongSwan encap = yes): IKE on UDP 4500 from IKE_AUTH / MM5 on, ESP in UDP 4500.")
    var natt = false

    @Flag(help: "Leave the SAs up at the end (no DELETE), so the gateway can be inspected.")
    var keep = false

    @Flag(help: "Print results as JSON.")
    var json = false

    @Option(help: "Hold the tunnels for SECONDS, pinging every --ping-interval, with DPD and re-initiation (dpd_action restart); IKEv2 or --ike v1.")
    var hold: UInt64?

    @Option(help: "With --hold: seconds of inbound silence before a DPD liveness check.")
    var dpd: UInt64 = 2

    @Option(name: .customLong("ping-interval"), help: "With --hold: milliseconds between pings through each tunnel.")
    var pingInterval: UInt64 = 200

    @Option(name: .customLong("natt-keepalive"), help: "With --hold: seconds without sending on UDP 4500 before a NAT-keepalive (RFC 3948 §2.3) on UDP-encapsulated tunnels; 0 = off.")
    var natKeepalive: UInt64 = 20

    @Option(help: "IKE version: v2 (default) or v1 (main mode PSK + quick mode).")
    var ike: String = "v2"

    @Option(name: .customLong("ikev1-dpd"), help: "IKEv1: periodic DPD every SECONDS of silence, and one R-U-THERE after the pings (reported per tunnel).")
    var ikev1DPD: UInt64?

    @Option(name: .customLong("ikev1-policy"), help: "IKEv1 policy to offer, 'PRIORITY ENC HASH GROUP [LIFETIME]'; repeatable (default: the gateway's defaults).")
    var ikev1Policy: [String] = []

    struct Report: Codable {
        var tunnels: Int
        var established: Int
        var pingOK: Int
        var results: [ClientResult]
    }

    func sourceAddresses() throws -> [IPv4Address] {
        var out: [IPv4Address] = []
        for s in source {
            guard let a = IPv4Address(s) else { throw ValidationError("--source: not an IPv4 address: \(s)") }
            out.append(a)
        }
        if let count {
            guard let first = out.first, count > 0 else { throw ValidationError("--count needs a --source and a positive value") }
            out = (0..<count).map { IPv4Address(first.value &+ UInt32($0)) }
        }
        return out
    }

    func validate() throws {
        let sources = try sourceAddresses()
        guard !sources.isEmpty else { throw ValidationError("give at least one --source") }
        guard sources.count <= ClientConfiguration.maximumTunnels else {
            throw ValidationError("at most \(ClientConfiguration.maximumTunnels) tunnels")
        }
        guard (0...ClientConfiguration.maximumPings).contains(pings) else { throw ValidationError("--pings out of range") }
        guard IPv4Address(gateway) != nil, IPv4Address(service) != nil else { throw ValidationError("bad --gateway or --service") }
        guard (1...3600).contains(timeLimit), concurrency > 0 else { throw ValidationError("bad --time-limit or --concurrency") }
        guard (1...60_000).contains(pingTimeout) else { throw ValidationError("--ping-timeout: 1…60000 ms") }
        guard ike == "v1" || ike == "v2" else { throw ValidationError("--ike: v1 or v2") }
        if hold != nil, ikev1DPD != nil { throw ValidationError("--hold runs its own DPD (--dpd); --ikev1-dpd is for short runs") }
        if ike == "v2", ikev1DPD != nil || !ikev1Policy.isEmpty { throw ValidationError("--ikev1-dpd and --ikev1-policy need --ike v1") }
        if let ikev1DPD { guard (1...86_400).contains(ikev1DPD) else { throw ValidationError("--ikev1-dpd: 1…86400 seconds") } }
        for p in ikev1Policy where IKEv1GatewayOptions.parsePolicy(p) == nil { throw ValidationError("--ikev1-policy: bad policy '\(p)'") }
    }

    func run() throws {
        guard let gatewayAddress = IPv4Address(gateway), let serviceAddress = IPv4Address(service) else { throw ExitCode(1) }
        let table: PSKTable
        do {
            table = try PSKFile.load(pskFile)
        } catch {
            FileHandle.standardError.write(Data("slb client: \(error)\n".utf8))
            throw ExitCode(1)
        }
        guard let psk = table.key(for: .ipv4(gatewayAddress.wireBytes)) else {
            FileHandle.standardError.write(Data("slb client: no key for \(gateway) and no '*' line in \(pskFile)\n".utf8))
            throw ExitCode(1)
        }
        var config = ClientConfiguration(gateway: gatewayAddress, sources: try sourceAddresses(), psk: psk)
        config.service = serviceAddress
        config.pings = pings
        config.pingTimeout = .milliseconds(pingTimeout)
        config.timeLimit = .seconds(timeLimit)
        config.concurrency = concurrency
        config.keepSAs = keep
        config.requestVirtualAddress = requestAddress
        config.forceUDPEncapsulation = natt
        var ikev1Options: IKEv1ClientOptions?
        if ike == "v1" {
            let policies = ikev1Policy.compactMap(IKEv1GatewayOptions.parsePolicy)
            var options = IKEv1ClientOptions(dpd: ikev1DPD.map { DPDPolicy(interval: .seconds($0), periodic: true) })
            if !policies.isEmpty { options.policies = policies }
            ikev1Options = options
        }
        if let hold { return try runHeld(config, ikev1: ikev1Options, hold: hold) }
        let results: [ClientResult]
        do {
            if let options = ikev1Options {
                results = try IKEv1ClientRunner(configuration: config, options: options).run()
            } else {
                results = try ClientRunner(configuration: config).run()
            }
        } catch {
            FileHandle.standardError.write(Data("slb client: \(error)\n".utf8))
            throw ExitCode(1)
        }
        let report = Report(tunnels: results.count, established: results.filter(\.established).count,
                            pingOK: results.filter(\.pingOK).count, results: results)
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            print(String(decoding: try encoder.encode(report), as: UTF8.self))
        } else {
            for r in results { print(Self.line(r)) }
            print("tunnels \(report.tunnels), established \(report.established), ping ok \(report.pingOK)")
        }
        if report.established != report.tunnels || (pings > 0 && report.pingOK != report.tunnels) { throw ExitCode(1) }
        if ikev1DPD != nil, results.contains(where: { $0.dpdAcknowledged != true }) { throw ExitCode(1) }
    }

    static func line(_ r: ClientResult) -> String {
        func hex(_ v: UInt32?) -> String { v.map { "0x" + String($0, radix: 16, uppercase: true) } ?? "-" }
        var s = r.source.padding(toLength: 16, withPad: " ", startingAt: 0)
        s += r.established ? "up   " : "DOWN "
        s += (r.ikeMilliseconds.map { "\($0) ms" } ?? "-").padding(toLength: 9, withPad: " ", startingAt: 0)
        s += "ping \(r.pingsAnswered)/\(r.pingsSent)  "
        s += "spi in \(hex(r.inboundSPI)) out \(hex(r.outboundSPI))  "
        s += r.udpEncapsulation == true ? "esp-udp  " : "esp-raw  "
        s += "gateway \(r.gatewayEndpoint ?? "-") id \(r.gatewayIdentity ?? "-")"
        if let v = r.virtualAddress { s += "  inner \(v)" }
        if let d = r.dpdAcknowledged { s += d ? "  dpd ack" : "  dpd UNANSWERED" }
        if let f = r.failure { s += "  failure: \(f)" }
        return s
    }
}
