#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Gateway
import GatewayShow
import Testing

/// `slb gateway` and `slb client` (and strongSwan) on a real wire between two namespaces.
@Suite(.serialized, .enabled(if: NamespaceLab.isAvailable, Comment(rawValue: NamespaceLab.unavailableReason ?? "")))
struct GatewayNamespaceTests {
    struct ClientReport: Decodable {
        var tunnels: Int
        var established: Int
        var pingOK: Int
        var results: [ClientResult]
    }

    func runClient(_ lab: NamespaceLab, count: Int, pings: Int = 3, keep: Bool = true, extra: [String] = []) throws -> ClientReport {
        let r = lab.inNS(lab.clientNS, [NamespaceLab.slbPath, "client", "--gateway", NamespaceLab.vip,
                                        "--source", NamespaceLab.clientBase, "--count", "\(count)", "--pings", "\(pings)",
                                        "--psk-file", lab.pskPath, "--time-limit", "30", "--json"] + (keep ? ["--keep"] : []) + extra)
        guard let report = try? JSONDecoder().decode(ClientReport.self, from: Data(r.stdout.utf8)) else {
            throw LabError("slb client exit \(r.status): \(r.stdout) \(r.stderr)")
        }
        return report
    }

    func snapshot(_ lab: NamespaceLab) throws -> GatewaySnapshot {
        let r = lab.show(["crypto", "ipsec", "sa", "--json"])
        guard r.status == 0 else { throw LabError("show failed: \(r.stderr)") }
        return try GatewayControl.decode(Array(r.stdout.utf8))
    }

    @Test func twentyClientTunnelsOverRawESPAllPing() throws {
        let lab = try NamespaceLab()
        defer { lab.tearDown() }
        let gateway = try lab.startGateway()
        let started = Date()
        let report = try runClient(lab, count: 20)
        let seconds = Date().timeIntervalSince(started)
        #expect(report.tunnels == 20)
        #expect(report.established == 20, "\(report.results.filter { !$0.established })")
        #expect(report.pingOK == 20, "\(report.results.filter { !$0.pingOK })")
        #expect(report.results.allSatisfy { $0.udpEncapsulation == false }, "no NAT here: raw ESP")
        #expect(report.results.allSatisfy { $0.gatewayIdentity == NamespaceLab.vip })

        let snap = try snapshot(lab)
        let gatewayPairs = Set(snap.ipsecSAs.map { [$0.inboundSPI, $0.outboundSPI] })
        let clientPairs = Set(report.results.compactMap { r in r.outboundSPI.flatMap { o in r.inboundSPI.map { [o, $0] } } })
        #expect(clientPairs.count == 20)
        #expect(gatewayPairs == clientPairs, "the gateway's inbound SPI is the client's outbound one and vice versa")
        #expect(snap.ikeSAs.count == 20)
        #expect(snap.ipsecSAs.allSatisfy { $0.echoRepliesSent == 3 && $0.remoteUDPPort == nil })
        let text = lab.show(["crypto", "ipsec", "sa"]).stdout
        #expect(text.components(separatedBy: "interface: gateway").count == 21)
        let ike = lab.show(["crypto", "ikev2", "sa", "detail"]).stdout
        #expect(ike.components(separatedBy: "READY").count == 21)
        #expect(gateway.isRunning)
        print("20 tunnels + 60 pings through slb gateway in \(String(format: "%.2f", seconds)) s (client process, debug build); IKE ms: \(report.results.compactMap(\.ikeMilliseconds).sorted())")
    }

    @Test func garbageOnEverySocketIsCountedAndTheGatewaySurvives() throws {
        let lab = try NamespaceLab()
        defer { lab.tearDown() }
        let gateway = try lab.startGateway()
        // Garbage UDP to 500 and 4500, a keepalive, ESP-in-UDP with an unknown SPI, and raw
        // ESP that is truncated or has an unknown SPI.
        let script = """
            import socket
            vip = "\(NamespaceLab.vip)"
            u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            u.bind(("192.0.2.1", 0))
            for payload in [b"", b"\\x01", b"garbage" * 10, b"\\x00" * 28, bytes(range(256))]:
                u.sendto(payload, (vip, 500))
            for payload in [b"\\xff", b"\\x01", b"\\x00\\x00\\x00\\x00junk", b"\\x12\\x34\\x56\\x78" + b"\\x00" * 60]:
                u.sendto(payload, (vip, 4500))
            r = socket.socket(socket.AF_INET, socket.SOCK_RAW, 50)
            for payload in [b"\\x00\\x01", b"\\x12\\x34\\x56\\x78\\x00\\x00\\x00\\x01" + b"\\x00" * 64]:
                r.sendto(payload, (vip, 0))
            """
        let sent = lab.inNS(lab.clientNS, ["python3", "-c", script])
        #expect(sent.status == 0, "\(sent.stderr)")
        usleep(300_000)
        #expect(gateway.isRunning)
        let snap = try snapshot(lab)
        let drops = Dictionary(uniqueKeysWithValues: snap.drops.map { ($0.name, $0.count) })
        #expect(drops["natt.keepalive"] == 1)
        #expect((drops["natt.invalid"] ?? 0) >= 1)
        #expect(drops["esp.badSPI"] == 2, "unknown SPI over UDP and raw: \(drops)")
        #expect(drops["esp.truncated"] == 1, "\(drops)")
        let ikeDrops = snap.drops.filter { $0.name.hasPrefix("ike.") }.map(\.count).reduce(0, +)
        #expect(ikeDrops >= 4, "\(drops)")
        // Still serving after the garbage; without --keep the client deletes its IKE SAs
        // (INFORMATIONAL D) and the gateway forgets them and their Child SAs.
        let report = try runClient(lab, count: 2, pings: 1, keep: false)
        #expect(report.pingOK == 2)
        let after = try snapshot(lab)
        #expect(after.ikeSAs.isEmpty && after.ipsecSAs.isEmpty, "\(after.ikeSAs) \(after.ipsecSAs)")
    }

    /// Directed mode (`nat server` farm): the SLB rewrites VIP → real address. Simulated
    /// with nftables DNAT on the client's output path; the gateway serves on its own address
    /// (`--listen`) but computes NAT-D and IDr over the VIP, so the client sees no NAT and
    /// keeps raw ESP, and the translation back makes replies come from the VIP.
    @Test func directedModeBehindDNATStaysRawESP() throws {
        let lab = try NamespaceLab()
        defer { lab.tearDown() }
        _ = try lab.startGateway(extra: ["--listen", NamespaceLab.gatewayAddress])
        let rules = """
            table ip slbsim {
              chain out {
                type nat hook output priority -100; policy accept;
                ip daddr \(NamespaceLab.vip) dnat to \(NamespaceLab.gatewayAddress)
              }
            }

            """
        let rulesPath = lab.dir + "/dnat.nft"
        try rules.write(toFile: rulesPath, atomically: true, encoding: .utf8)
        let nft = lab.inNS(lab.clientNS, ["nft", "-f", rulesPath])
        try #require(nft.status == 0, "nft: \(nft.stderr)")
        let report = try runClient(lab, count: 3)
        #expect(report.pingOK == 3, "\(report.results)")
        #expect(report.results.allSatisfy { $0.udpEncapsulation == false }, "the SLB's translation stays invisible")
        #expect(report.results.allSatisfy { $0.gatewayEndpoint == NamespaceLab.vip + ":500" })
        let snap = try snapshot(lab)
        #expect(snap.ikeSAs.count == 3)
        #expect(snap.ikeSAs.allSatisfy { $0.localAddress == NamespaceLab.gatewayAddress && !$0.natDetected })
        #expect(snap.ipsecSAs.allSatisfy { $0.localAddress == NamespaceLab.gatewayAddress && $0.remoteUDPPort == nil })
    }

    /// `--force-natt`: the gateway fakes a NAT, our client floats to 4500 and its ESP and
    /// the echo replies travel inside UDP (RFC 3948).
    @Test func forcedNATTPutsOurClientsOnUDP4500() throws {
        let lab = try NamespaceLab()
        defer { lab.tearDown() }
        _ = try lab.startGateway(extra: ["--force-natt"])
        let report = try runClient(lab, count: 3)
        #expect(report.pingOK == 3, "\(report.results)")
        #expect(report.results.allSatisfy { $0.udpEncapsulation == true })
        let snap = try snapshot(lab)
        #expect(snap.ikeSAs.allSatisfy { $0.natDetected && $0.localPort == 4500 && $0.remotePort == 4500 })
        #expect(snap.ipsecSAs.allSatisfy { $0.remoteUDPPort == 4500 && $0.echoRepliesSent == 3 })
    }

    /// `--pool`: clients that ask for an inner address (CP) get one each and ping from it.
    @Test func poolAddressesAreAssignedAndUsedInsideTheTunnel() throws {
        let lab = try NamespaceLab()
        defer { lab.tearDown() }
        _ = try lab.startGateway(extra: ["--pool", "198.51.100.192/26"])
        let report = try runClient(lab, count: 4, extra: ["--request-address"])
        #expect(report.pingOK == 4, "\(report.results)")
        let assigned = report.results.compactMap(\.virtualAddress)
        #expect(Set(assigned).count == 4)
        #expect(assigned.allSatisfy { $0.hasPrefix("198.51.100.") })
        let snap = try snapshot(lab)
        #expect(Set(snap.ikeSAs.compactMap(\.assignedAddress)) == Set(assigned))
        #expect(Set(snap.ipsecSAs.map(\.remoteSelector.address)) == Set(assigned), "TSi narrowed to the assigned address")
    }

    @Test func pskFileReadableByOthersIsRefused() throws {
        let lab = try NamespaceLab()
        defer { lab.tearDown() }
        chmod(lab.pskPath, 0o644)
        let r = lab.inNS(lab.gatewayNS, [NamespaceLab.slbPath, "gateway", "--vip", NamespaceLab.vip, "--psk-file", lab.pskPath,
                                         "--control", lab.controlPath], timeout: 10)
        #expect(r.status == 1)
        #expect(r.stderr.contains("must not be readable or writable by group or others"))
    }

    @Test func controlSocketRefusesNonRoot() throws {
        let lab = try NamespaceLab()
        defer { lab.tearDown() }
        _ = try lab.startGateway()
        // Open the file modes so only the SO_PEERCRED check stands between nobody and the gateway.
        chmod(lab.dir, 0o755)
        chmod(lab.dir + "/run", 0o755)
        chmod(lab.controlPath, 0o666)
        let r = NamespaceLab.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", NamespaceLab.slbPath,
                                  "gateway", "show", "crypto", "ipsec", "sa", "--control", lab.controlPath], timeout: 10)
        #expect(r.status == 1)
        #expect(r.stderr.contains("refused"), "\(r.stderr)")
        #expect(lab.show(["crypto", "ipsec", "sa"]).status == 0, "root still gets an answer")
    }

    static let strongSwanMissing: String? = {
        for path in ["/usr/lib/ipsec/charon", "/usr/sbin/swanctl"] where !FileManager.default.isExecutableFile(atPath: path) {
            return "strongSwan not installed (\(path)); apt-get install strongswan-charon strongswan-swanctl libcharon-extra-plugins libstrongswan-standard-plugins libstrongswan-extra-plugins"
        }
        guard FileManager.default.fileExists(atPath: "/dev/net/tun") else { return "kernel-libipsec needs /dev/net/tun" }
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/ping") || FileManager.default.isExecutableFile(atPath: "/bin/ping") else {
            return "ping not installed (iputils-ping)"
        }
        return nil
    }()

    /// charon in the client namespace (testbed.md: own STRONGSWAN_CONF, own vici socket,
    /// private /run) with connection `v2`, child `t`, initiated; returns the swanctl prefix.
    /// `ikeExtra`/`childExtra`: further swanctl.conf lines for the connection and the child.
    func startStrongSwan(_ lab: NamespaceLab, ikeExtra: [String] = [], childExtra: [String] = []) throws -> (env: [String], vici: String) {
        let ss = lab.dir + "/strongswan"
        try FileManager.default.createDirectory(atPath: ss + "/run", withIntermediateDirectories: true)
        let vici = "unix://\(ss)/charon.vici"
        try """
            charon {
              load = random nonce openssl pem pkcs1 x509 pubkey kdf curve25519 aes sha1 sha2 hmac gcm kernel-libipsec kernel-netlink socket-default vici updown
              retransmit_timeout = 1
              retransmit_base = 1.4
              retransmit_tries = 3
              plugins {
                vici {
                  socket = \(vici)
                }
                kernel-libipsec {
                  allow_peer_ts = no
                }
              }
            }

            """.write(toFile: ss + "/strongswan.conf", atomically: true, encoding: .utf8)
        try """
            connections {
              v2 {
                version = 2
                local_addrs = 192.0.2.1
                remote_addrs = \(NamespaceLab.vip)
                proposals = aes128-sha256-x25519, aes256gcm16-prfsha256-modp2048
                mobike = no
                \(ikeExtra.joined(separator: "\n    "))
                local {
                  auth = psk
                  id = client1.example
                }
                remote {
                  auth = psk
                  id = \(NamespaceLab.vip)
                }
                children {
                  t {
                    remote_ts = 203.0.113.1/32
                    esp_proposals = aes128-sha256, aes128gcm16
                    \(childExtra.joined(separator: "\n        "))
                  }
                }
              }
            }
            secrets {
              ike-any {
                secret = "lab-psk-0123456789"
              }
            }

            """.write(toFile: ss + "/swanctl.conf", atomically: true, encoding: .utf8)
        // testbed.md: own STRONGSWAN_CONF, own vici socket, private /run (compiled-in pid file).
        try lab.start(in: lab.clientNS, ["env", "STRONGSWAN_CONF=\(ss)/strongswan.conf", "unshare", "-m", "sh", "-c",
                                         "mount --bind \(ss)/run /run && exec /usr/lib/ipsec/charon"], log: "charon.log")
        var viciUp = false
        for _ in 0..<200 where !viciUp {
            viciUp = FileManager.default.fileExists(atPath: ss + "/charon.vici")
            if !viciUp { usleep(25_000) }
        }
        try #require(viciUp, "charon did not open its vici socket: \(lab.log("charon.log"))")
        let env = ["env", "STRONGSWAN_CONF=\(ss)/strongswan.conf", "swanctl"]
        let load = lab.inNS(lab.clientNS, env + ["--load-all", "--noprompt", "--uri", vici, "--file", ss + "/swanctl.conf"])
        try #require(load.status == 0, "\(load.stdout) \(load.stderr)")
        let initiate = lab.inNS(lab.clientNS, env + ["--initiate", "--uri", vici, "--child", "t", "--timeout", "20"], timeout: 30)
        try #require(initiate.status == 0, "\(initiate.stdout) \(initiate.stderr) \(lab.log("gateway.log"))")

        return (env, vici)
    }

    @Test(.enabled(if: strongSwanMissing == nil, Comment(rawValue: strongSwanMissing ?? "")))
    func strongSwanConnectsPingsAndSPIsMatch() throws {
        let lab = try NamespaceLab()
        defer { lab.tearDown() }
        _ = try lab.startGateway()
        let (env, vici) = try startStrongSwan(lab)
        let ping = lab.inNS(lab.clientNS, ["ping", "-c", "3", "-W", "2", "-I", "192.0.2.1", "203.0.113.1"], timeout: 20)
        #expect(ping.status == 0, "\(ping.stdout)")
        #expect(ping.stdout.contains("3 received"), "\(ping.stdout)")

        let list = lab.inNS(lab.clientNS, env + ["--list-sas", "--uri", vici])
        // "    in  12ae19f4,      0 bytes, ..." / "    out e141110f, ..."
        func spi(_ direction: String) -> UInt32? {
            for line in list.stdout.split(separator: "\n") {
                let words = line.split(separator: " ")
                if words.count >= 2, words[0] == direction { return UInt32(words[1].trimmingCharacters(in: [","]), radix: 16) }
            }
            return nil
        }
        let strongSwanIn = try #require(spi("in"), "\(list.stdout)")
        let strongSwanOut = try #require(spi("out"), "\(list.stdout)")
        let snap = try snapshot(lab)
        let row = try #require(snap.ipsecSAs.first)
        #expect(snap.ipsecSAs.count == 1)
        #expect(row.inboundSPI == strongSwanOut && row.outboundSPI == strongSwanIn)
        #expect(row.remoteUDPPort == 4500, "kernel-libipsec always encapsulates")
        #expect(row.echoRepliesSent == 3)
        #expect(snap.ikeSAs.first?.remoteID == "client1.example")
        #expect(snap.ikeSAs.first?.localPort == 4500, "answers leave from 4500 after the float")
    }

    func dropCount(_ snap: GatewaySnapshot, _ name: String) -> UInt64 { snap.drops.first { $0.name == name }?.count ?? 0 }

    struct HeldReport: Decodable {
        var tunnels: Int
        var upAtEnd: Int
        var results: [DPDClientResult]
    }

    /// RFC 3948 §2.3: a held `--natt` tunnel idle on UDP 4500 for `--natt-keepalive` seconds
    /// sends the one-octet NAT-keepalive; the gateway drops and counts each one and the
    /// tunnel keeps working. A raw-ESP tunnel sends none.
    @Test(arguments: [true, false])
    func heldNATTTunnelsSendKeepalivesWhenIdle(natt: Bool) throws {
        let lab = try NamespaceLab()
        defer { lab.tearDown() }
        _ = try lab.startGateway()
        let r = lab.inNS(lab.clientNS, [NamespaceLab.slbPath, "client", "--gateway", NamespaceLab.vip,
                                        "--source", NamespaceLab.clientBase, "--count", "2", "--psk-file", lab.pskPath,
                                        "--hold", "5", "--dpd", "30", "--ping-interval", "2000", "--natt-keepalive", "1", "--json"]
                                       + (natt ? ["--natt"] : []), timeout: 30)
        let report = try #require(try? JSONDecoder().decode(HeldReport.self, from: Data(r.stdout.utf8)), "\(r.stdout) \(r.stderr)")
        #expect(report.upAtEnd == 2)
        #expect(report.results.allSatisfy { $0.pingsSent >= 2 && $0.pingsAnswered == $0.pingsSent }, "\(report.results)")
        let sent = report.results.map { $0.natKeepalivesSent ?? 0 }
        let counted = dropCount(try snapshot(lab), "natt.keepalive")
        if natt {
            // Pings at 0, 2, 4 s: the 4500 socket is idle for 1 s after each, so about one
            // keepalive between pings; never one right after a ping.
            #expect(sent.allSatisfy { (2...4).contains($0) }, "\(sent)")
            #expect(counted == UInt64(sent.reduce(0, +)), "the gateway counted \(counted) of \(sent)")
        } else {
            #expect(sent == [0, 0] && counted == 0)
        }
    }

    /// strongSwan rekeys its IKE SA (every ~6 s) and its Child SA (every ~4 s) itself; the
    /// gateway follows both (new SPIs, old ones deleted) and the tunnel keeps answering.
    @Test(.enabled(if: strongSwanMissing == nil, Comment(rawValue: strongSwanMissing ?? "")))
    func strongSwanRekeysThroughTheGatewayAndKeepsPinging() throws {
        let lab = try NamespaceLab()
        defer { lab.tearDown() }
        _ = try lab.startGateway()
        _ = try startStrongSwan(lab, ikeExtra: ["rekey_time = 6s", "over_time = 2s", "rand_time = 1s"],
                                childExtra: ["rekey_time = 4s", "life_time = 8s", "rand_time = 1s"])
        let before = try snapshot(lab)
        let firstIKE = try #require(before.ikeSAs.first?.localSPI)
        let firstChild = try #require(before.ipsecSAs.first?.inboundSPI)
        let ping = lab.inNS(lab.clientNS, ["ping", "-c", "14", "-i", "1", "-W", "2", "-I", "192.0.2.1", "203.0.113.1"], timeout: 40)
        #expect(ping.stdout.contains("14 received"), "\(ping.stdout) \(lab.log("gateway.log"))")
        let after = try snapshot(lab)
        #expect(after.ikeSAs.count == 1 && after.ipsecSAs.count == 1, "old SAs deleted: \(after)")
        #expect(after.ikeSAs.first?.localSPI != firstIKE, "the IKE SA was rekeyed")
        #expect(after.ipsecSAs.first?.inboundSPI != firstChild, "the Child SA was rekeyed")
        #expect(after.ikeSAs.first?.tunnelID == before.ikeSAs.first?.tunnelID)
        #expect(dropCount(after, "esp.expired") == 0 && dropCount(after, "esp.rekeyStarted") == 0)
        #expect(dropCount(after, "esp.badSPI") == 0, "no packet arrived on a deleted SA")
    }

    /// strongSwan would rekey after an hour; the gateway's ESP lifetime is 16 s, so at its
    /// soft limit (15 s) the gateway rekeys the Child SA itself, strongSwan accepts it, and
    /// the tunnel keeps answering on the new SAs (both ends agree on them).
    @Test(.enabled(if: strongSwanMissing == nil, Comment(rawValue: strongSwanMissing ?? "")))
    func gatewayRekeysAStrongSwanChildSAAtItsSoftLifetime() throws {
        let lab = try NamespaceLab()
        defer { lab.tearDown() }
        _ = try lab.startGateway(extra: ["--esp-lifetime", "16"])
        let (env, vici) = try startStrongSwan(lab)
        let firstChild = try #require(try snapshot(lab).ipsecSAs.first?.inboundSPI)
        let ping = lab.inNS(lab.clientNS, ["ping", "-c", "19", "-i", "1", "-W", "2", "-I", "192.0.2.1", "203.0.113.1"], timeout: 40)
        #expect(ping.stdout.contains("19 received"), "\(ping.stdout) \(lab.log("gateway.log"))")
        let after = try snapshot(lab)
        #expect(dropCount(after, "esp.rekeyStarted") == 1, "\(after.drops)")
        #expect(dropCount(after, "esp.expired") == 0)
        #expect(dropCount(after, "ike.failed.notified") == 0)
        let row = try #require(after.ipsecSAs.first)
        #expect(after.ipsecSAs.count == 1, "the old pair was deleted")
        #expect(row.inboundSPI != firstChild)
        let list = lab.inNS(lab.clientNS, env + ["--list-sas", "--uri", vici]).stdout
        #expect(list.contains(String(row.inboundSPI, radix: 16)) && list.contains(String(row.outboundSPI, radix: 16)),
                "strongSwan uses the gateway's new pair: \(list)")
    }
}
