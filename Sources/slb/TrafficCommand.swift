import ArgumentParser
import Dataplane
import Foundation
import Lab
import SLBWire
import Traffic

/// `slb traffic`: lab IPsec client traffic (ISAKMP, NAT-T, raw ESP) towards a VIP, bounded in
/// rate and time. Only RFC 5737 destinations; run it in the lab's client namespace
/// (`--netns vslb-lab-cli`, or under `ip netns exec`).
struct TrafficCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "traffic",
        abstract: "Send lab IPsec client traffic (ISAKMP, NAT-T, ESP) to a VIP at a bounded rate for a bounded time.")

    @Option(help: "Clients, each from its own lab address (192.0.2.10–.254, then 198.51.100.129–.254).")
    var clients: Int = 10

    @Option(help: "Packets per second over all clients (0 = unpaced, with --fast).")
    var rate: Int = 100

    @Option(help: "Seconds to send (at most 3600).")
    var duration: Double = 5

    @Option(help: "Destination VIP (RFC 5737 only).")
    var vip: String = LabAddressPlan.vip.description

    @Option(name: .customLong("natt-share"), help: "Share of clients behind a NAT (UDP 4500 from a high port).")
    var nattShare: Double = 0

    @Flag(help: "Clients not behind a NAT send raw ESP (IP protocol 50) as data.")
    var esp = false

    @Flag(help: "sendmmsg batches of 64 per socket, for forwarding benchmarks.")
    var fast = false

    @Option(help: "Send only this kind: isakmp or esp.")
    var only: TrafficPlan.Only?

    @Option(help: "Stop after this many packets.")
    var count: Int?

    @Option(help: "Seed of the client population (NAT-T share and ports).")
    var seed: UInt64 = 1

    @Option(help: "Open the client sockets in this network namespace (e.g. vslb-lab-cli).")
    var netns: String?

    @Flag(help: "Print the report as JSON.")
    var json = false

    @Flag(help: "Print progress to stderr once a second.")
    var progress = false

    func run() throws {
        guard let address = IPv4Address(vip) else { throw ValidationError("--vip: not an IPv4 address") }
        let plan: TrafficPlan
        do {
            plan = try TrafficPlan(clients: clients, rate: rate, duration: duration, vip: address, nattShare: nattShare,
                                   esp: esp || only == .esp, mode: fast ? .fast : .paced, only: only,
                                   maximumPackets: count, seed: seed)
        } catch { throw ValidationError(error.description) }
        let generator: TrafficGenerator
        if let netns {
            generator = try NetworkNamespace.run(netns) { try TrafficGenerator(plan: plan) }
        } else {
            generator = try TrafficGenerator(plan: plan)
        }
        let report = generator.run(progress: progress ? { report in
            FileHandle.standardError.write(Data(String(format: "slb traffic: %.0f s, %d sent\n",
                                                      report.elapsedSeconds, report.totalSent).utf8))
        } : nil)
        print(json ? try report.json() : report.text)
    }
}

extension TrafficPlan.Only: ExpressibleByArgument {}
