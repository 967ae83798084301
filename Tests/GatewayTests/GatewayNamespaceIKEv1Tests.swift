#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Gateway
import GatewayShow
import Testing

/// IKEv1 against `slb gateway` on a real wire between two namespaces (no SLB): the
/// project's IKEv1 client many times over, and strongSwan 5.9 in IKEv1 main mode with DPD.
@Suite(.serialized, .enabled(if: NamespaceLab.isAvailable, Comment(rawValue: NamespaceLab.unavailableReason ?? "")))
struct GatewayNamespaceIKEv1Tests {
    func snapshot(_ lab: NamespaceLab) throws -> GatewaySnapshot {
        let r = lab.show(["crypto", "isakmp", "sa", "--json"])
        guard r.status == 0 else { throw LabError("show failed: \(r.stderr)") }
        return try GatewayControl.decode(Array(r.stdout.utf8))
    }

    /// strongSwan's charon in the client namespace, its configuration loaded and child `t`
    /// initiated (main mode + quick mode) to the gateway.
    func connect(_ lab: NamespaceLab, _ ss: IKEv1StrongSwan) throws {
        try lab.start(in: lab.clientNS, ss.charonCommand, log: "charon.log")
        try #require(ss.waitForVici(), "charon did not open its vici socket: \(lab.log("charon.log"))")
        let load = lab.inNS(lab.clientNS, ss.swanctl(["--load-all", "--noprompt", "--file", ss.directory + "/swanctl.conf"]))
        try #require(load.status == 0, "\(load.stdout) \(load.stderr)")
        let initiate = lab.inNS(lab.clientNS, ss.swanctl(["--initiate", "--child", "t", "--timeout", "20"]), timeout: 30)
        try #require(initiate.status == 0, "\(initiate.stdout) \(initiate.stderr) \(lab.log("gateway.log"))")
    }

    @Test("50 IKEv1 tunnels of slb client --ike v1 over raw ESP: all ping, DPD answered, show crypto isakmp sa lists them QM_IDLE, SPIs match")
    func fiftyIKEv1Tunnels() throws {
        let lab = try NamespaceLab()
        defer { lab.tearDown() }
        let gateway = try lab.startGateway()
        let started = Date()
        let r = lab.inNS(lab.clientNS, [NamespaceLab.slbPath, "client", "--ike", "v1", "--ikev1-dpd", "5", "--gateway", NamespaceLab.vip,
                                        "--source", NamespaceLab.clientBase, "--count", "50", "--pings", "3",
                                        "--psk-file", lab.pskPath, "--time-limit", "30", "--keep", "--json"], timeout: 45)
        let seconds = Date().timeIntervalSince(started)
        let report = try #require(try? JSONDecoder().decode(GatewayNamespaceTests.ClientReport.self, from: Data(r.stdout.utf8)),
                                  "slb client exit \(r.status): \(r.stdout.prefix(2000)) \(r.stderr.prefix(2000))")
        #expect(r.status == 0)
        #expect(report.established == 50 && report.pingOK == 50, "\(report.results.filter { !$0.pingOK }.prefix(3))")
        #expect(report.results.allSatisfy { $0.udpEncapsulation == false }, "no NAT: raw ESP")
        #expect(report.results.allSatisfy { $0.dpdAcknowledged == true }, "R-U-THERE answered")
        #expect(report.results.allSatisfy { $0.gatewayIdentity == NamespaceLab.vip })

        let snap = try snapshot(lab)
        #expect(snap.isakmpSAs.count == 50 && snap.isakmpSAs.allSatisfy { $0.state == "QM_IDLE" && $0.ipsecSACount == 1 })
        #expect(snap.ikeSAs.isEmpty)
        let gatewayPairs = Set(snap.ipsecSAs.map { [$0.inboundSPI, $0.outboundSPI] })
        let clientPairs = Set(report.results.compactMap { r in r.outboundSPI.flatMap { o in r.inboundSPI.map { [o, $0] } } })
        #expect(clientPairs.count == 50 && gatewayPairs == clientPairs)
        #expect(snap.ipsecSAs.allSatisfy { $0.echoRepliesSent == 3 && $0.remoteUDPPort == nil && $0.transform == "esp-3des esp-md5-hmac" })
        let text = lab.show(["crypto", "isakmp", "sa"]).stdout
        #expect(text.hasPrefix("dst             src             state            conn-id     slot\n"))
        #expect(text.components(separatedBy: "QM_IDLE").count == 51)
        #expect(lab.show(["crypto", "ipsec", "sa"]).stdout.components(separatedBy: "interface: gateway").count == 51)
        #expect(gateway.isRunning)
        print("IKEv1: 50 tunnels + 150 pings + 50 DPD through slb gateway in \(String(format: "%.2f", seconds)) s; "
              + "IKE ms (MM+QM) median \(report.results.compactMap(\.ikeMilliseconds).sorted()[25])")
    }

    /// Elliptic-curve phase-1 groups (RFC 5903 ECP 256/384, Curve25519) and PFS with them,
    /// against strongSwan 5.9.8's IKEv1: main mode, quick mode, pings, the group in show.
    /// "default" is strongSwan's own default offer (AES-128/SHA-256/Curve25519 in phase 1,
    /// AES-GCM or AES-128/SHA-256 in quick mode).
    @Test("strongSwan IKEv1 with ECP/Curve25519 phase 1 (and PFS), and with its default proposals, connects and pings", arguments: [
        (ike: "aes128-sha256-x25519", esp: "aes128-sha1-ecp256", group: 31),
        (ike: "aes256-sha384-ecp384", esp: "aes128-sha1", group: 20),
        (ike: "aes128-sha256-ecp256", esp: "aes128-sha1-x25519", group: 19),
        (ike: "default", esp: "default", group: 31),
    ])
    func strongSwanIKEv1EllipticCurves(ike: String, esp: String, group: Int) throws {
        try #require(GatewayNamespaceTests.strongSwanMissing == nil)
        let lab = try NamespaceLab()
        defer { lab.tearDown() }
        _ = try lab.startGateway()
        let ss = try IKEv1StrongSwan.configure(directory: lab.dir + "/strongswan", local: "192.0.2.1", vip: NamespaceLab.vip,
                                               service: "203.0.113.1", psk: "lab-psk-0123456789", proposals: ike, espProposals: esp)
        try connect(lab, ss)
        let ping = lab.inNS(lab.clientNS, ["ping", "-c", "3", "-W", "2", "-I", "192.0.2.1", "203.0.113.1"], timeout: 20)
        #expect(ping.stdout.contains("3 received"), "\(ping.stdout)")
        let row = try #require(try snapshot(lab).isakmpSAs.first)
        #expect(row.suite?.contains("/group\(group)/") == true, "\(row.suite ?? "nil")")
        #expect(row.state == "QM_IDLE")
    }

    /// strongSwan rekeys phase 1 (a new main mode at ~9 s, its IPsec SAs moved under it, the
    /// old ISAKMP SA left to expire at 12 s) and phase 2 (a new quick mode, the old pair kept
    /// until it expires). With "long" ESP SAs (rekey 20 s) the pair made under the first ISAKMP
    /// SA is still in use when that SA expires on the gateway: it must move to the new one, not
    /// be deleted (which cut the tunnel before). The tunnel keeps answering either way, and the
    /// gateway ends holding the pair strongSwan uses.
    @Test(arguments: [(childRekey: "4s", childLife: "8s"), (childRekey: "20s", childLife: "30s")])
    func strongSwanIKEv1RekeysKeepTheTunnelPinging(childRekey: String, childLife: String) throws {
        try #require(GatewayNamespaceTests.strongSwanMissing == nil)
        let lab = try NamespaceLab()
        defer { lab.tearDown() }
        _ = try lab.startGateway()
        let ss = try IKEv1StrongSwan.configure(directory: lab.dir + "/strongswan", local: "192.0.2.1", vip: NamespaceLab.vip,
                                               service: "203.0.113.1", psk: "lab-psk-0123456789",
                                               ikeRekey: ["rekey_time = 9s", "over_time = 3s", "rand_time = 1s"],
                                               childRekey: ["rekey_time = \(childRekey)", "life_time = \(childLife)", "rand_time = 1s"])
        try connect(lab, ss)
        let firstCookies = try #require(try snapshot(lab).isakmpSAs.first?.responderCookie)
        let ping = lab.inNS(lab.clientNS, ["ping", "-c", "16", "-i", "1", "-W", "2", "-I", "192.0.2.1", "203.0.113.1"], timeout: 40)
        #expect(ping.stdout.contains("16 received"), "\(ping.stdout) \(lab.log("gateway.log").suffix(3000))")
        let after = try snapshot(lab)
        let listing = lab.inNS(lab.clientNS, ss.swanctl(["--list-sas"])).stdout
        // The INSTALLED child is listed last ("in  SPI, ..." / "out SPI, ...").
        let installed = try #require(listing.components(separatedBy: "INSTALLED").last.flatMap { ss.spis($0) }, "\(listing)")
        #expect(after.ipsecSAs.contains { $0.inboundSPI == installed.outbound && $0.outboundSPI == installed.inbound },
                "the gateway holds the pair strongSwan uses: \(listing)")
        #expect(!after.isakmpSAs.contains { $0.responderCookie == firstCookies }, "the first ISAKMP SA expired")
        #expect(after.isakmpSAs.count == 1 && after.isakmpSAs.first?.state == "QM_IDLE")
        #expect(after.ipsecSAs.count <= 4, "old pairs end at their lifetime, not piling up: \(after.ipsecSAs.count)")
        #expect(after.ipsecSAs.allSatisfy { $0.tunnelID == after.isakmpSAs.first?.connectionID },
                "every pair belongs to the live ISAKMP SA")
    }

    /// DPD is checked one direction per run: whichever side probes first resets the other's
    /// idle timer (any authenticated IKE message counts as heard, RFC 3706 §5.3), so with both
    /// at 1 s nearly only strongSwan's probes are sent (its timer starts at MM6, ours at QM3).
    @Test("strongSwan 5.9 IKEv1 (main mode, PSK, kernel-libipsec) connects to slb gateway, pings through the tunnel, DPD answered in the direction under test, DELETE honoured",
          arguments: [(gatewayDPD: true, strongSwanDPD: 30), (gatewayDPD: false, strongSwanDPD: 1)])
    func strongSwanIKEv1(gatewayDPD: Bool, strongSwanDPD: Int) throws {
        try #require(GatewayNamespaceTests.strongSwanMissing == nil)
        let lab = try NamespaceLab()
        defer { lab.tearDown() }
        _ = try lab.startGateway(extra: gatewayDPD ? ["--dpd", "1"] : [])
        let ss = try IKEv1StrongSwan.configure(directory: lab.dir + "/strongswan", local: "192.0.2.1", vip: NamespaceLab.vip,
                                               service: "203.0.113.1", psk: "lab-psk-0123456789", dpdDelay: strongSwanDPD)
        try connect(lab, ss)

        let ping = lab.inNS(lab.clientNS, ["ping", "-c", "3", "-W", "2", "-I", "192.0.2.1", "203.0.113.1"], timeout: 20)
        #expect(ping.stdout.contains("3 received"), "\(ping.stdout)")
        usleep(3_000_000)
        let snap = try snapshot(lab)
        let row = try #require(snap.isakmpSAs.first, "\(lab.log("gateway.log"))")
        #expect(snap.isakmpSAs.count == 1 && row.state == "QM_IDLE" && row.destination == "192.0.2.1" && row.peerIdentity == "192.0.2.1")
        #expect(row.peerSupportsDPD && row.natDetected && row.remotePort == 4500,
                "kernel-libipsec fakes a NAT so ESP is UDP-encapsulated (RFC 3947 float)")
        let alive = snap.drops.first { $0.name == "ikev1.dpd.alive" }?.count ?? 0
        if gatewayDPD {
            #expect(alive >= 2, "strongSwan answered the gateway's R-U-THEREs: \(snap.drops)")
        } else {
            var charon = lab.log("charon.log")
            for _ in 0..<100 where !charon.contains("[ HASH N(DPD_ACK) ]") {
                usleep(100_000)
                charon = lab.log("charon.log")
            }
            #expect(charon.contains("[ HASH N(DPD) ]") && charon.contains("[ HASH N(DPD_ACK) ]"),
                    "strongSwan's R-U-THERE answered: \(charon.split(separator: "\n").filter { $0.contains("DPD") })")
        }
        let spis = try #require(ss.spis(lab.inNS(lab.clientNS, ss.swanctl(["--list-sas"])).stdout))
        let ipsec = try #require(snap.ipsecSAs.first)
        #expect(ipsec.inboundSPI == spis.outbound && ipsec.outboundSPI == spis.inbound && ipsec.tunnelID == row.connectionID)
        #expect(ipsec.remoteUDPPort == 4500 && ipsec.echoRepliesSent == 3)
        #expect(GatewayShowText.isakmpSA(snap).contains("192.0.2.1       203.0.113.100   QM_IDLE"))
        // strongSwan's terminate sends DELETEs (ESP, ISAKMP): the gateway forgets both.
        _ = lab.inNS(lab.clientNS, ss.swanctl(["--terminate", "--ike", "v1", "--timeout", "5"]), timeout: 10)
        usleep(300_000)
        let after = try snapshot(lab)
        #expect(after.isakmpSAs.isEmpty && after.ipsecSAs.isEmpty, "\(after.isakmpSAs)")
    }
}
