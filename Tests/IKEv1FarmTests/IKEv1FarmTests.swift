#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Gateway
import GatewayShow
import Lab
import SLBCore
import SLBShow
import SLBWire
import Testing

/// Issue 6, through the SLB: `slb lab up` (an `slb gateway` in every gateway namespace) behind
/// `slb run`; IKEv1 clients dial the VIP. `FarmLab.swift` is h/farm's lab fixture (a symlink
/// to Tests/FarmTests, so both targets use the same one); `IKEv1StrongSwan.swift` links to
/// the GatewayTests copy.
@Suite(.serialized, .enabled(if: FarmLab.unavailableReason == nil, Comment(rawValue: FarmLab.unavailableReason ?? "")))
struct IKEv1FarmTests {
    struct ClientReport: Decodable {
        var tunnels: Int
        var established: Int
        var pingOK: Int
        var results: [ClientResult]
    }

    static let tunnels = 100
    static let pings = 3

    func farm(_ lab: FarmLab, directed: Bool) throws -> SLBRunProcess {
        let slb = try SLBRunProcess(lab, config: gatewayFarm(directed: directed))
        guard slb.waitUntilForwarding(to: lab.plan.gatewayNumbers.compactMap(lab.plan.gatewayAddress), in: lab) else {
            slb.stop()
            throw FarmError("the SLB does not forward to every real: \(slb.log)")
        }
        return slb
    }

    @Test("100 IKEv1 tunnels of slb client --ike v1 through the SLB: all ping over raw ESP, each client's ISAKMP and ESP on one real, that gateway holds its ISAKMP and IPsec SAs",
          arguments: [false, true])
    func hundredIKEv1Tunnels(directed: Bool) throws {
        let lab = try FarmLab()
        defer { lab.tearDown() }
        let slb = try farm(lab, directed: directed)
        defer { slb.stop() }

        let started = Date()
        let run = lab.inNamespace(lab.plan.clientNamespace, [
            try #require(FarmLab.slbPath), "client", "--ike", "v1", "--gateway", LabAddressPlan.vip.description,
            "--source", LabAddressPlan.firstPublicClient.description, "--count", "\(Self.tunnels)",
            "--pings", "\(Self.pings)", "--psk-file", lab.gateways.pskPath, "--time-limit", "60", "--keep", "--json",
        ], timeout: 90)
        let seconds = Date().timeIntervalSince(started)
        let report = try #require(try? JSONDecoder().decode(ClientReport.self, from: Data(run.stdout.utf8)),
                                  "slb client exit \(run.status): \(run.stdout.prefix(2000)) \(run.stderr.prefix(2000))")
        #expect(report.established == Self.tunnels, "\(report.results.filter { !$0.established }.prefix(5))")
        #expect(report.pingOK == Self.tunnels, "\(report.results.filter { !$0.pingOK }.prefix(5))")
        #expect(report.results.allSatisfy { $0.udpEncapsulation == false }, "no NAT is visible through the SLB: raw ESP")
        #expect(report.results.allSatisfy { $0.gatewayIdentity == LabAddressPlan.vip.description
                                            && $0.gatewayEndpoint == "\(LabAddressPlan.vip):500" })

        // The SLB's table: each client's ISAKMP and ESP on one real.
        #expect(try slb.vserverConnections("IPSEC-ESP") == Self.tunnels)
        #expect(try slb.vserverConnections("IPSEC-ISAKMP") == Self.tunnels)
        var realOf: [IPv4Address: IPv4Address] = [:]
        for (client, rows) in Dictionary(grouping: try slb.connections(), by: \.client) {
            let reals = Set(rows.map(\.real))
            #expect(reals.count == 1, "\(client) split over \(reals)")
            #expect(Set(rows.map(\.vserver)) == ["IPSEC-ISAKMP", "IPSEC-ESP"], "\(client): \(rows.map(\.vserver))")
            realOf[client] = reals.first
        }
        #expect(realOf.count == Self.tunnels)

        // Each gateway holds the ISAKMP and IPsec SAs of exactly the clients the SLB gave it.
        var perGateway: [Int] = []
        for n in lab.plan.gatewayNumbers {
            let address = try #require(lab.plan.gatewayAddress(n))
            let snapshot = try lab.gatewaySnapshot(n)
            let assigned = Set(realOf.filter { $0.value == address }.map(\.key.description))
            #expect(Set(snapshot.isakmpSAs.map(\.destination)) == assigned, "gw\(n)'s ISAKMP SAs are not the clients the SLB sent it")
            #expect(snapshot.isakmpSAs.allSatisfy { $0.state == "QM_IDLE" && !$0.natDetected })
            #expect(Set(snapshot.ipsecSAs.map(\.remoteAddress)) == assigned)
            let local = directed ? address.description : LabAddressPlan.vip.description
            #expect(snapshot.ipsecSAs.allSatisfy { $0.localAddress == local && $0.remoteUDPPort == nil && $0.echoRepliesSent == 3 },
                    "gw\(n)")
            perGateway.append(snapshot.isakmpSAs.count)
        }
        #expect(perGateway.reduce(0, +) == Self.tunnels)
        let ike = report.results.compactMap(\.ikeMilliseconds).sorted()
        print("IKEv1 farm \(directed ? "directed" : "dispatched"): \(report.established)/\(Self.tunnels) tunnels, \(report.pingOK) pinging, "
              + "client run \(String(format: "%.2f", seconds)) s, ISAKMP SAs per gateway \(perGateway), "
              + "median MM+QM \(ike.isEmpty ? 0 : ike[ike.count / 2]) ms")
    }

    @Test("strongSwan 5.9 IKEv1 (main mode, PSK, DPD, kernel-libipsec) through the SLB: connects, pings, DPD answered, one real in the SLB's table, SPIs match that gateway's show")
    func strongSwanIKEv1ThroughTheSLB() throws {
        try #require(FarmLab.strongSwanMissing == nil, Comment(rawValue: FarmLab.strongSwanMissing ?? ""))
        let lab = try FarmLab()
        defer { lab.tearDown() }
        let slb = try farm(lab, directed: false)
        defer { slb.stop() }
        let address = IPv4Address(192, 0, 2, 2)
        let namespace = try lab.addClientHost(1, address: address)
        let ss = try IKEv1StrongSwan.configure(directory: lab.stateDirectory + "/strongswan-v1", local: "\(address)",
                                               vip: "\(LabAddressPlan.vip)", service: "\(LabGatewayPlan.serviceAddress)",
                                               psk: try lab.psk(), dpdDelay: 1)
        let charon = try Daemon(["ip", "netns", "exec", namespace] + ss.charonCommand, log: ss.directory + "/charon.log")
        defer { charon.stop() }
        try #require(ss.waitForVici(), "charon did not open its vici socket: \(charon.log)")
        let load = lab.inNamespace(namespace, ss.swanctl(["--load-all", "--noprompt", "--file", ss.directory + "/swanctl.conf"]))
        try #require(load.status == 0, "\(load.stdout) \(load.stderr)")
        let initiate = lab.inNamespace(namespace, ss.swanctl(["--initiate", "--child", "t", "--timeout", "20"]), timeout: 30)
        try #require(initiate.status == 0, "\(initiate.stdout) \(initiate.stderr) \(slb.log.suffix(2000))")

        let ping = lab.inNamespace(namespace, ["ping", "-c", "3", "-W", "2", LabGatewayPlan.serviceAddress.description], timeout: 20)
        #expect(ping.stdout.contains("3 received"), "\(ping.stdout)")
        // DPD (RFC 3706): strongSwan probes after 1 s without inbound traffic; the ACK comes
        // back through the SLB from the gateway holding the SA.
        #expect(charon.waitFor("[ HASH N(DPD_ACK) ]", seconds: 8), "\(charon.log.split(separator: "\n").filter { $0.contains("DPD") })")

        let rows = try slb.connections().filter { $0.client == address }
        #expect(Set(rows.map(\.vserver)) == ["IPSEC-ISAKMP", "IPSEC-NATT"], "kernel-libipsec floats to 4500: \(rows)")
        let reals = Set(rows.map(\.real))
        #expect(reals.count == 1, "\(address) split over \(reals)")
        let n = try #require(reals.first.flatMap(lab.gatewayNumber(of:)))
        let snapshot = try lab.gatewaySnapshot(n)
        let isakmp = try #require(snapshot.isakmpSAs.first)
        #expect(snapshot.isakmpSAs.count == 1 && isakmp.state == "QM_IDLE" && isakmp.destination == "\(address)" && isakmp.peerSupportsDPD)
        let spis = try #require(ss.spis(lab.inNamespace(namespace, ss.swanctl(["--list-sas"])).stdout))
        let ipsec = try #require(snapshot.ipsecSAs.first)
        #expect(ipsec.inboundSPI == spis.outbound && ipsec.outboundSPI == spis.inbound)
        #expect(ipsec.remoteUDPPort == 4500 && ipsec.echoRepliesSent == 3)
        for other in lab.plan.gatewayNumbers where other != n {
            #expect(try lab.gatewaySnapshot(other).isakmpSAs.isEmpty, "gw\(other) holds no SA of this client")
        }
    }
}
