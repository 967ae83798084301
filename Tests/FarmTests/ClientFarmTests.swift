#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Gateway
import GatewayShow
import Lab
import SLBCore
import SLBWire
import Testing

/// Issue 5, through the SLB: the project's client opens 200 raw-ESP tunnels (one per lab
/// client address, 192.0.2.10-.209) to the VIP behind `slb run`, with the farm in dispatched
/// mode (MAC rewrite; the gateways answer from the VIP) and in directed mode (`nat server`:
/// VIP rewritten to the real, which serves on its own address and still proves the VIP).
extension FarmNamespaceTests {
    @Suite struct ClientFarmTests {
        struct ClientReport: Decodable {
            var tunnels: Int
            var established: Int
            var pingOK: Int
            var results: [ClientResult]
        }

        static let tunnels = 200
        static let pings = 3

        @Test("200 tunnels through the SLB: every tunnel pings, the gateways' nft ESP counters cover every ESP packet sent, the ESP vserver holds 200 connections, each client's ISAKMP and ESP sit on the real whose gateway holds its SAs; inner addresses come from that gateway's pool",
              arguments: [false, true])
        func twoHundredTunnels(directed: Bool) throws {
            let lab = try FarmLab()
            defer { lab.tearDown() }
            let slb = try SLBRunProcess(lab, config: gatewayFarm(directed: directed))
            defer { slb.stop() }
            try #require(slb.waitUntilForwarding(to: lab.plan.gatewayNumbers.compactMap(lab.plan.gatewayAddress), in: lab),
                             "the SLB cannot reach every real: \(slb.log.prefix(3000))")

            let started = Date()
            let run = lab.inNamespace(lab.plan.clientNamespace, [
                try #require(FarmLab.slbPath), "client", "--gateway", LabAddressPlan.vip.description,
                "--source", LabAddressPlan.firstPublicClient.description, "--count", "\(Self.tunnels)",
                "--pings", "\(Self.pings)", "--psk-file", lab.gateways.pskPath, "--time-limit", "60", "--keep", "--json",
            ], timeout: 90)
            let seconds = Date().timeIntervalSince(started)
            let report = try #require(try? JSONDecoder().decode(ClientReport.self, from: Data(run.stdout.utf8)),
                                      "slb client exit \(run.status): \(run.stdout.prefix(2000)) \(run.stderr.prefix(2000))")
            #expect(report.tunnels == Self.tunnels)
            #expect(report.established == Self.tunnels, "\(report.results.filter { !$0.established }.prefix(5))")
            #expect(report.pingOK == Self.tunnels, "\(report.results.filter { !$0.pingOK }.prefix(5))")
            #expect(report.results.allSatisfy { $0.udpEncapsulation == false }, "no NAT is visible through the SLB: raw ESP")
            #expect(report.results.allSatisfy { $0.gatewayIdentity == LabAddressPlan.vip.description
                                                && $0.gatewayEndpoint == "\(LabAddressPlan.vip):500" })

            // The SLB's table: 200 ESP connections; each client's ISAKMP and ESP on one real.
            #expect(try slb.vserverConnections("IPSEC-ESP") == Self.tunnels)
            #expect(try slb.vserverConnections("IPSEC-ISAKMP") == Self.tunnels)
            let connections = try slb.connections()
            #expect(connections.count == 2 * Self.tunnels, "show ip slb conns: one ISAKMP and one ESP row per client")
            var realOf: [IPv4Address: IPv4Address] = [:]
            for (client, rows) in Dictionary(grouping: connections, by: \.client) {
                let reals = Set(rows.map(\.real))
                #expect(reals.count == 1, "\(client) split over \(reals)")
                #expect(Set(rows.map(\.vserver)) == ["IPSEC-ISAKMP", "IPSEC-ESP"], "\(client): \(rows.map(\.vserver))")
                realOf[client] = reals.first
            }
            #expect(realOf.count == Self.tunnels)
            let perReal = Dictionary(grouping: realOf.values, by: { $0 }).mapValues(\.count)
            #expect(perReal.values.allSatisfy { abs($0 - Self.tunnels / 3) <= 1 }, "round robin, weight 1 each: \(perReal)")

            // Each gateway holds exactly the SAs of the clients the SLB gave it, ESP counted by nft.
            let gateways = LabGateways(controller: lab.controller)
            var espReceived: UInt64 = 0
            for n in lab.plan.gatewayNumbers {
                let address = try #require(lab.plan.gatewayAddress(n))
                let snapshot = try lab.gatewaySnapshot(n)
                let assigned = Set(realOf.filter { $0.value == address }.map(\.key.description))
                #expect(Set(snapshot.ikeSAs.map(\.remoteAddress)) == assigned, "gw\(n)'s IKE SAs are not the clients the SLB sent it")
                #expect(Set(snapshot.ipsecSAs.map(\.remoteAddress)) == assigned)
                // Dispatched: the gateway was reached at the VIP; directed: at its own address.
                let local = directed ? address.description : LabAddressPlan.vip.description
                #expect(snapshot.ipsecSAs.allSatisfy { $0.localAddress == local && $0.remoteUDPPort == nil }, "gw\(n)")
                let decrypted = snapshot.ipsecSAs.map(\.packetsDecrypted).reduce(0, +)
                let encrypted = snapshot.ipsecSAs.map(\.packetsEncrypted).reduce(0, +)
                let counters = try gateways.espCounters(namespace: lab.plan.gatewayNamespace(n))
                #expect(counters.input >= decrypted && counters.output >= encrypted,
                        "gw\(n) nft esp in \(counters.input) out \(counters.output), SAs decrypted \(decrypted) encrypted \(encrypted)")
                espReceived += counters.input
            }
            // Where packets went, for the record (and for any failure above).
            let dataplane = slb.dataplaneCounters()
            print("slb run \(directed ? "directed" : "dispatched"): \(dataplane.joined(separator: " | "))")
            let events = slb.log.split(separator: "\n").filter { $0.contains("slb.real.") || $0.contains("slb.probe.") }
            if !events.isEmpty { print("slb events: \(events.joined(separator: " | "))") }
            for n in lab.plan.gatewayNumbers {
                let drops = try lab.gatewaySnapshot(n).drops.filter { $0.count > 0 }.map { "\($0.name)=\($0.count)" }
                if !drops.isEmpty { print("gw\(n) drops: \(drops.joined(separator: " "))") }
            }
            for failed in report.results where !failed.pingOK {
                print("tunnel \(failed.source): established \(failed.established), pings \(failed.pingsAnswered)/\(failed.pingsSent), \(failed.failure ?? "")")
            }
            let espSent = UInt64(report.results.map(\.pingsSent).reduce(0, +))
            #expect(espSent == UInt64(Self.tunnels * Self.pings))
            #expect(espReceived >= espSent, "the gateways' nft counters saw \(espReceived) ESP packets, the clients sent \(espSent)")
            print("farm \(directed ? "directed" : "dispatched"): \(report.established)/\(Self.tunnels) tunnels, \(report.pingOK) pinging, "
                  + "client run \(String(format: "%.2f", seconds)) s, nft esp_in \(espReceived) for \(espSent) sent, per real \(perReal.sorted { $0.key < $1.key }.map(\.value)), "
                  + "median IKE \(report.results.compactMap(\.ikeMilliseconds).sorted()[safe: Self.tunnels / 2] ?? 0) ms")

            // Inner addresses (CP, RFC 7296 §3.15): six more clients ask for one; each gets it
            // from the pool of the gateway the SLB sent it to (pools are disjoint per gateway).
            let more = lab.inNamespace(lab.plan.clientNamespace, [
                try #require(FarmLab.slbPath), "client", "--source", "192.0.2.240", "--count", "6", "--request-address",
                "--pings", "1", "--psk-file", lab.gateways.pskPath, "--time-limit", "30", "--keep", "--json",
            ], timeout: 60)
            let pooled = try #require(try? JSONDecoder().decode(ClientReport.self, from: Data(more.stdout.utf8)),
                                      "slb client --request-address exit \(more.status): \(more.stdout.prefix(2000)) \(more.stderr.prefix(2000))")
            #expect(pooled.pingOK == 6, "\(pooled.results.filter { !$0.pingOK })")
            let later = try slb.connections()
            for result in pooled.results {
                let client = try #require(IPv4Address(result.source))
                let real = Set(later.filter { $0.client == client }.map(\.real))
                let n = try #require(real.count == 1 ? real.first.flatMap(lab.gatewayNumber(of:)) : nil, "\(client) on \(real)")
                let assigned = try #require(result.virtualAddress.flatMap(IPv4Address.init), "\(client): no inner address")
                #expect(lab.gateways.pool(n)?.contains(assigned) == true, "\(client) got \(assigned) from gw\(n), pool \(lab.gateways.pool(n)?.description ?? "none")")
            }
        }
    }
}

extension Array {
    subscript(safe index: Int) -> Element? { indices.contains(index) ? self[index] : nil }
}
