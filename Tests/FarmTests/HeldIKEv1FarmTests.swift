#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Gateway
import GatewayShow
import Lab
import SLBWire
import Testing

/// `slb client --hold --ike v1` through `slb run` with an IKE probe and `failaction purge`:
/// one gateway's `slb gateway` is killed (SIGKILL, by PID); the SLB fails and purges that
/// real; its clients' R-U-THEREs (RFC 3706) go unanswered, they declare the peer dead and run
/// main mode + quick mode again, which the SLB places on a live gateway; the other clients
/// never notice. Raw ESP and `--natt` (UDP 4500) clients side by side.
extension FarmNamespaceTests {
    @Suite struct HeldIKEv1FarmTests {
        struct HeldReport: Decodable {
            var tunnels: Int
            var upAtEnd: Int
            var dpdDetectionSeconds: Double
            var results: [DPDClientResult]
        }

        static let dpd = 2
        static let victim = 2

        static func config() -> String {
            // Both probes: the ping alone would keep passing on a host whose IKE process died.
            var text = "ip slb probe GW-PING ping\n interval 1\n faildetect 2\nip slb probe GW-IKE ike\n interval 1\n faildetect 2\n"
            text += "ip slb serverfarm GATEWAYS\n failaction purge\n probe GW-PING\n probe GW-IKE\n"
            for n in 1...3 { text += " real \(LabAddressPlan.gateway(n)?.description ?? "")\n  weight 1\n  inservice\n" }
            for (name, virtual) in [("IPSEC-ISAKMP", "udp isakmp"), ("IPSEC-NATT", "udp 4500"), ("IPSEC-ESP", "esp")] {
                text += "ip slb vserver \(name)\n virtual \(LabAddressPlan.vip) \(virtual)\n serverfarm GATEWAYS\n sticky 3600 group 1\n idle 60\n inservice\n"
            }
            return text
        }

        /// Which live gateway holds an ISAKMP SA of each client (client → gateway numbers).
        static func placement(_ lab: FarmLab, gateways: [Int]) -> [String: [Int]] {
            var out: [String: [Int]] = [:]
            for n in gateways {
                guard let snapshot = try? lab.gatewaySnapshot(n) else { continue }
                for sa in snapshot.isakmpSAs where sa.state == "QM_IDLE" { out[sa.destination, default: []].append(n) }
            }
            return out
        }

        static func waitUntil(seconds: Double, _ condition: () -> Bool) -> Bool {
            let deadline = Date().addingTimeInterval(seconds)
            while Date() < deadline {
                if condition() { return true }
                usleep(250_000)
            }
            return condition()
        }

        @Test("a gateway killed under held IKEv1 clients: IKE probe fails and purges it, its clients declare the peer dead by R-U-THERE after dpd + 4 s and re-land on a live gateway with main mode + quick mode, the others keep their first SA; raw ESP and --natt alike",
              arguments: [false, true])
        func gatewayKilled(natt: Bool) throws {
            let lab = try FarmLab()
            defer { lab.tearDown() }
            let slb = try SLBRunProcess(lab, config: Self.config())
            defer { slb.stop() }
            let all = Array(lab.plan.gatewayNumbers)
            try #require(slb.waitUntilForwarding(to: all.compactMap(lab.plan.gatewayAddress), in: lab),
                         "the SLB cannot reach every real: \(slb.log.prefix(3000))")

            let count = 9
            let first = IPv4Address(192, 0, 2, natt ? 60 : 30)
            let sources = (0..<count).map { IPv4Address(first.value + UInt32($0)).description }
            let out = lab.stateDirectory + "/held-v1.json"
            let client = try Daemon(["sh", "-c", "exec ip netns exec \(lab.plan.clientNamespace) \(try #require(FarmLab.slbPath)) client "
                                     + "--ike v1 --hold 90 --dpd \(Self.dpd) --ping-interval 200 --gateway \(LabAddressPlan.vip) "
                                     + "--source \(first) --count \(count) --psk-file \(lab.gateways.pskPath) --json"
                                     + (natt ? " --natt" : "") + " > \(out)"], log: lab.stateDirectory + "/held-v1.log")
            defer { client.stop() }

            var before: [String: [Int]] = [:]
            let placed = Self.waitUntil(seconds: 20) {
                before = Self.placement(lab, gateways: all)
                return sources.allSatisfy { before[$0]?.count == 1 }
            }
            try #require(placed, "not every held IKEv1 client connected: \(before) \(client.log.suffix(2000))")
            let victims = sources.filter { before[$0] == [Self.victim] }
            try #require(!victims.isEmpty, "round robin put no client on gateway \(Self.victim): \(before)")
            usleep(1_000_000)   // some answered pings before the failure

            // Kill gateway 2's `slb gateway` (the PID `slb lab up` recorded, found by namespace).
            let pid = try #require(lab.state?.processes.first { p in
                FarmLab.shell(["ip", "netns", "identify", "\(p.pid)"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
                    == lab.plan.gatewayNamespace(Self.victim)
            }?.pid, "no recorded gateway process in \(lab.plan.gatewayNamespace(Self.victim))")
            let killedAt = Date()
            #expect(kill(pid, SIGKILL) == 0)
            let victimAddress = try #require(lab.plan.gatewayAddress(Self.victim)).description
            #expect(Self.waitUntil(seconds: 8) { slb.log.contains("slb.purge real=\(victimAddress)") },
                    "no purge of \(victimAddress): \(slb.log.suffix(2000))")
            let down = slb.log.split(separator: "\n").first { $0.hasPrefix("slb.real.down real=\(victimAddress)") }
            #expect(down?.contains("GW-IKE") == true, "the IKE probe failed the real: \(down ?? "no slb.real.down")")

            // Every client: one ISAKMP SA on a live gateway; the victims' new ones in time.
            let live = all.filter { $0 != Self.victim }
            let dpdDetection = Double(Self.dpd + 4)
            var after: [String: [Int]] = [:]
            let settled = Self.waitUntil(seconds: dpdDetection + 15) {
                after = Self.placement(lab, gateways: live)
                return sources.allSatisfy { after[$0]?.count == 1 }
            }
            let relanded = Date().timeIntervalSince(killedAt)
            #expect(settled, "not every client re-landed within \(dpdDetection + 15) s: \(after)")
            usleep(1_500_000)   // answered pings on the new SAs
            client.stop()       // SIGTERM: the held client reports and exits
            let report = try #require(try? JSONDecoder().decode(HeldReport.self, from: Data(contentsOf: URL(fileURLWithPath: out))),
                                      "no report: \((try? String(contentsOfFile: out, encoding: .utf8)) ?? "") \(client.log.suffix(2000))")
            #expect(report.tunnels == count && report.upAtEnd == count, "\(report.results.filter { !$0.upAtEnd })")
            #expect(report.dpdDetectionSeconds == dpdDetection)
            for r in report.results {
                if victims.contains(r.source) {
                    #expect(r.deadPeers >= 1 && r.establishments >= 2, "\(r)")
                    #expect(r.failures.contains { $0.contains("peerDead") }, "declared dead by DPD: \(r.failures)")
                    // The outage: at least the silence before the first R-U-THERE, at most detection + re-landing.
                    #expect((r.longestGap ?? 0) >= Double(Self.dpd) && (r.longestGap ?? 99) <= dpdDetection + 6, "\(r)")
                } else {
                    #expect(r.deadPeers == 0 && r.establishments == 1, "a client of a live gateway was disturbed: \(r)")
                }
                #expect(r.udpEncapsulation == natt, "\(r)")
            }
            let gaps = report.results.filter { victims.contains($0.source) }.compactMap(\.longestGap)
            print("held IKEv1\(natt ? " --natt" : ""): \(victims.count) of \(count) clients on the killed gateway, all re-landed after "
                  + String(format: "%.1f s; outages %.2f-%.2f s (DPD detection %.0f s)", relanded, gaps.min() ?? 0, gaps.max() ?? 0, dpdDetection))
        }
    }
}
