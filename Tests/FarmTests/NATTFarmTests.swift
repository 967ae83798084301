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

/// `slb client --natt` through `slb run`: clients that pretend to be behind a NAT (strongSwan
/// `encap = yes`) move IKE to UDP 4500 after IKE_SA_INIT / MM4 and carry ESP in UDP 4500, so
/// the SLB's NAT-T vserver holds their connections and the sticky group keeps each client's
/// UDP 500 and UDP 4500 on one real (spec ike.md §0.5). Plain IKEv2, IKEv1 and held IKEv2.
extension FarmNamespaceTests {
    @Suite struct NATTFarmTests {
        struct ClientReport: Decodable {
            var tunnels: Int
            var established: Int
            var pingOK: Int
            var results: [ClientResult]
        }

        struct HeldReport: Decodable {
            var tunnels: Int
            var upAtEnd: Int
            var results: [DPDClientResult]
        }

        /// 192.0.2.10-.21 IKEv2, .40-.45 IKEv1, .60-.63 held IKEv2.
        static let v2 = (first: IPv4Address(192, 0, 2, 10), count: 12)
        static let v1 = (first: IPv4Address(192, 0, 2, 40), count: 6)
        static let held = (first: IPv4Address(192, 0, 2, 60), count: 4)

        static func addresses(_ run: (first: IPv4Address, count: Int)) -> [IPv4Address] {
            (0..<run.count).map { IPv4Address(run.first.value + UInt32($0)) }
        }

        @Test("slb client --natt (IKEv2, --ike v1, --hold) through slb run to 3 gateways: every tunnel pings over ESP-in-UDP, each client's ISAKMP and NAT-T rows sit on one real and no ESP row exists, that real's gateway shows NAT detected and port 4500")
        func nattClientsThroughTheSLB() throws {
            let lab = try FarmLab()
            defer { lab.tearDown() }
            let slb = try SLBRunProcess(lab, config: gatewayFarm(directed: false))
            defer { slb.stop() }
            try #require(slb.waitUntilForwarding(to: lab.plan.gatewayNumbers.compactMap(lab.plan.gatewayAddress), in: lab),
                         "the SLB cannot reach every real: \(slb.log.prefix(3000))")
            let slbPath = try #require(FarmLab.slbPath)
            func client(_ run: (first: IPv4Address, count: Int), _ extra: [String], timeout: TimeInterval = 60) -> FarmLab.ShellResult {
                lab.inNamespace(lab.plan.clientNamespace, [
                    slbPath, "client", "--natt", "--gateway", LabAddressPlan.vip.description, "--source", run.first.description,
                    "--count", "\(run.count)", "--psk-file", lab.gateways.pskPath, "--json",
                ] + extra, timeout: timeout)
            }

            // IKEv2: IKE_SA_INIT on 500, IKE_AUTH, pings and everything after on 4500.
            let v2Run = client(Self.v2, ["--pings", "3", "--keep", "--time-limit", "40"])
            let v2 = try #require(try? JSONDecoder().decode(ClientReport.self, from: Data(v2Run.stdout.utf8)),
                                  "slb client --natt exit \(v2Run.status): \(v2Run.stdout.prefix(2000)) \(v2Run.stderr.prefix(2000))")
            #expect(v2.established == Self.v2.count && v2.pingOK == Self.v2.count, "\(v2.results.filter { !$0.pingOK }.prefix(4))")
            #expect(v2.results.allSatisfy { $0.udpEncapsulation == true && $0.gatewayEndpoint == "\(LabAddressPlan.vip):4500" },
                    "\(v2.results.map { "\($0.udpEncapsulation.map(String.init) ?? "-") \($0.gatewayEndpoint ?? "-")" })")

            // IKEv1: MM1-MM4 on 500, MM5 on to 4500, UDP-encapsulated tunnel mode.
            let v1Run = client(Self.v1, ["--ike", "v1", "--pings", "3", "--keep", "--time-limit", "40"])
            let v1 = try #require(try? JSONDecoder().decode(ClientReport.self, from: Data(v1Run.stdout.utf8)),
                                  "slb client --ike v1 --natt exit \(v1Run.status): \(v1Run.stdout.prefix(2000)) \(v1Run.stderr.prefix(2000))")
            #expect(v1.established == Self.v1.count && v1.pingOK == Self.v1.count, "\(v1.results.filter { !$0.pingOK }.prefix(4))")
            #expect(v1.results.allSatisfy { $0.udpEncapsulation == true }, "\(v1.results.map(\.udpEncapsulation))")

            // Held IKEv2 (--hold): no DELETE at the end, so the SAs stay for inspection. Pings
            // 1.5 s apart leave the 4500 socket idle long enough for NAT-keepalives (RFC 3948
            // §2.3, every 1 s of idleness), which the SLB must forward on the client's NAT-T
            // connection to its real.
            let heldRun = client(Self.held, ["--hold", "5", "--dpd", "3", "--ping-interval", "1500", "--natt-keepalive", "1"], timeout: 40)
            let held = try #require(try? JSONDecoder().decode(HeldReport.self, from: Data(heldRun.stdout.utf8)),
                                    "slb client --hold --natt exit \(heldRun.status): \(heldRun.stdout.prefix(2000)) \(heldRun.stderr.prefix(2000))")
            #expect(held.upAtEnd == Self.held.count)
            #expect(held.results.allSatisfy { $0.udpEncapsulation == true && $0.pingsAnswered >= 3 && $0.deadPeers == 0
                                               && ($0.natKeepalivesSent ?? 0) >= 1 }, "\(held.results)")

            // The SLB: each client has an ISAKMP and a NAT-T row (ESP rides in UDP 4500, so no
            // ESP row), both on one real — the sticky group at work.
            let connections = try slb.connections()
            var realOf: [IPv4Address: IPv4Address] = [:]
            for client in Self.addresses(Self.v2) + Self.addresses(Self.v1) + Self.addresses(Self.held) {
                let rows = connections.filter { $0.client == client }
                #expect(Set(rows.map(\.vserver)) == ["IPSEC-ISAKMP", "IPSEC-NATT"], "\(client): \(rows.map(\.vserver))")
                #expect(rows.first { $0.vserver == "IPSEC-NATT" }?.clientPort == 4500, "\(client): \(rows)")
                let reals = Set(rows.map(\.real))
                #expect(reals.count == 1, "\(client) split over \(reals)")
                realOf[client] = reals.first
            }
            let total = Self.v2.count + Self.v1.count + Self.held.count
            #expect(try slb.vserverConnections("IPSEC-NATT") == total)
            #expect(Set(realOf.values).count == 3, "round robin spreads the NAT-T clients over all three reals: \(realOf)")

            // Each gateway: the IKE SAs of the IKEv2 clients it was given, NAT detected, peer
            // and local port 4500; the IPsec SAs carried in UDP 4500; the ISAKMP SAs likewise.
            let v2Clients = Set((Self.addresses(Self.v2) + Self.addresses(Self.held)).map(\.description))
            let v1Clients = Set(Self.addresses(Self.v1).map(\.description))
            var echoReplies: UInt64 = 0
            for n in lab.plan.gatewayNumbers {
                let address = try #require(lab.plan.gatewayAddress(n))
                let snapshot = try lab.gatewaySnapshot(n)
                let assigned = Set(realOf.filter { $0.value == address }.map(\.key.description))
                #expect(Set(snapshot.ikeSAs.map(\.remoteAddress)) == assigned.intersection(v2Clients), "gw\(n)")
                #expect(snapshot.ikeSAs.allSatisfy { $0.natDetected && $0.remotePort == 4500 && $0.localPort == 4500 },
                        "gw\(n): \(snapshot.ikeSAs.map { "\($0.remoteAddress):\($0.remotePort) nat \($0.natDetected)" })")
                #expect(Set(snapshot.isakmpSAs.map(\.destination)) == assigned.intersection(v1Clients), "gw\(n)")
                #expect(snapshot.isakmpSAs.allSatisfy { $0.natDetected && $0.remotePort == 4500 && $0.localPort == 4500 }, "gw\(n)")
                #expect(Set(snapshot.ipsecSAs.map(\.remoteAddress)) == assigned, "gw\(n)")
                #expect(snapshot.ipsecSAs.allSatisfy { $0.remoteUDPPort == 4500 && $0.packetsDecrypted >= 3 }, "gw\(n)")
                let keepalivesSent = held.results.filter { assigned.contains($0.source) }.map { $0.natKeepalivesSent ?? 0 }.reduce(0, +)
                let keepalivesCounted = snapshot.drops.first { $0.name == "natt.keepalive" }?.count ?? 0
                #expect(keepalivesCounted == UInt64(keepalivesSent),
                        "gw\(n) counted \(keepalivesCounted) NAT-keepalives, its held clients sent \(keepalivesSent)")
                echoReplies += snapshot.ipsecSAs.map(\.echoRepliesSent).reduce(0, +)
            }
            // The operator's own command on one gateway: `show crypto ikev2 sa --json`.
            let ikev2 = FarmLab.shell([slbPath, "gateway", "show", "crypto", "ikev2", "sa", "--json", "--control", lab.gateways.controlPath(1)])
            let shown = try GatewayControl.decode(Array(ikev2.stdout.utf8))
            #expect(!shown.ikeSAs.isEmpty && shown.ikeSAs.allSatisfy { $0.natDetected && $0.localPort == 4500 && $0.remotePort == 4500 },
                    "gw1 show crypto ikev2 sa --json: \(ikev2.stdout.prefix(1500))")
            let answered = (v2.results + v1.results).map(\.pingsAnswered).reduce(0, +) + held.results.map(\.pingsAnswered).reduce(0, +)
            #expect(echoReplies >= UInt64(answered), "the gateways sent \(echoReplies) echo replies, the clients counted \(answered)")
            let perReal = Dictionary(grouping: realOf.values, by: { $0 }).mapValues(\.count)
            print("natt farm: IKEv2 \(v2.pingOK)/\(Self.v2.count), IKEv1 \(v1.pingOK)/\(Self.v1.count), held \(held.upAtEnd)/\(Self.held.count) "
                  + "tunnels pinging over UDP 4500; per real \(perReal.sorted { $0.key < $1.key }.map(\.value)); "
                  + "median IKE \(v2.results.compactMap(\.ikeMilliseconds).sorted()[safe: Self.v2.count / 2] ?? 0) ms")
        }
    }
}
