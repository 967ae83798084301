#if canImport(Glibc)
import Glibc
#endif
import Foundation
import GatewayShow
import Lab
import SLBCore
import SLBWire
import Testing

/// Issue 5, through the SLB: three strongSwan clients (charon + swanctl, kernel-libipsec, each
/// in its own client namespace on the SLB's public bridge; no strongSwan in any gateway
/// namespace) dial the VIP through `slb run` (dispatched, round robin, weight 1 on each of the
/// three lab gateways).
extension FarmNamespaceTests {
    @Suite(.enabled(if: FarmLab.strongSwanMissing == nil, Comment(rawValue: FarmLab.strongSwanMissing ?? "")))
    struct StrongSwanFarmTests {
        /// One strongSwan instance: own STRONGSWAN_CONF, vici socket and private /run (testbed.md).
        struct StrongSwan {
            let namespace: String
            let address: IPv4Address
            let identity: String
            let directory: String
            let charon: Daemon
            var vici: String { "unix://\(directory)/charon.vici" }

            init(lab: FarmLab, namespace: String, address: IPv4Address, identity: String, psk: String) throws {
                self.namespace = namespace
                self.address = address
                self.identity = identity
                directory = lab.stateDirectory + "/strongswan-\(address)"
                try FileManager.default.createDirectory(atPath: directory + "/run", withIntermediateDirectories: true)
                try """
                    charon {
                      load = random nonce openssl pem pkcs1 x509 pubkey kdf curve25519 aes sha1 sha2 hmac gcm kernel-libipsec kernel-netlink socket-default vici updown
                      retransmit_timeout = 1
                      retransmit_base = 1.4
                      retransmit_tries = 3
                      plugins {
                        vici {
                          socket = unix://\(directory)/charon.vici
                        }
                        kernel-libipsec {
                          allow_peer_ts = no
                        }
                      }
                    }

                    """.write(toFile: directory + "/strongswan.conf", atomically: true, encoding: .utf8)
                // Rekey times far beyond the test: rekeying is exercised in memory (IKETests).
                try """
                    connections {
                      v2 {
                        version = 2
                        local_addrs = \(address)
                        remote_addrs = \(LabAddressPlan.vip)
                        proposals = aes128-sha256-x25519, aes256gcm16-prfsha256-modp2048
                        mobike = no
                        rekey_time = 4h
                        local {
                          auth = psk
                          id = \(identity)
                        }
                        remote {
                          auth = psk
                          id = \(LabAddressPlan.vip)
                        }
                        children {
                          t {
                            remote_ts = \(LabGatewayPlan.serviceAddress)/32
                            esp_proposals = aes128-sha256, aes128gcm16
                            rekey_time = 1h
                          }
                        }
                      }
                    }
                    secrets {
                      ike-lab {
                        secret = "\(psk)"
                      }
                    }

                    """.write(toFile: directory + "/swanctl.conf", atomically: true, encoding: .utf8)
                charon = try Daemon(["ip", "netns", "exec", namespace, "env", "STRONGSWAN_CONF=\(directory)/strongswan.conf",
                                     "unshare", "-m", "sh", "-c", "mount --bind \(directory)/run /run && exec /usr/lib/ipsec/charon"],
                                    log: directory + "/charon.log")
                let deadline = Date().addingTimeInterval(10)
                while !FileManager.default.fileExists(atPath: directory + "/charon.vici") {
                    guard Date() < deadline, charon.process.isRunning else {
                        charon.stop()
                        throw FarmError("charon in \(namespace) did not open its vici socket: \(charon.log)")
                    }
                    usleep(25_000)
                }
            }

            func swanctl(_ lab: FarmLab, _ arguments: [String], timeout: TimeInterval = 30) -> FarmLab.ShellResult {
                lab.inNamespace(namespace, ["env", "STRONGSWAN_CONF=\(directory)/strongswan.conf", "swanctl"] + arguments + ["--uri", vici],
                                timeout: timeout)
            }

            /// (in, out) SPIs of the one Child SA `swanctl --list-sas` lists ("in  c1a2b3c4, ...").
            func spis(_ lab: FarmLab) -> (inbound: UInt32, outbound: UInt32)? {
                let list = swanctl(lab, ["--list-sas"]).stdout
                func spi(_ direction: Substring) -> UInt32? {
                    for line in list.split(separator: "\n") {
                        let words = line.split(separator: " ")
                        if words.count >= 2, words[0] == direction { return UInt32(words[1].trimmingCharacters(in: [","]), radix: 16) }
                    }
                    return nil
                }
                guard let i = spi("in"), let o = spi("out") else { return nil }
                return (i, o)
            }
        }

        @Test("three strongSwan clients land one per gateway, ping through their tunnels, sit on one real each in the SLB's table, and their SPIs are the ones that gateway shows",
              arguments: [false, true])
        func threeStrongSwanClientsThroughTheSLB(directed: Bool) throws {
            let lab = try FarmLab()
            defer { lab.tearDown() }
            let slb = try SLBRunProcess(lab, config: gatewayFarm(directed: directed))
            defer { slb.stop() }
            try #require(slb.waitUntilForwarding(to: lab.plan.gatewayNumbers.compactMap(lab.plan.gatewayAddress), in: lab),
                             "the SLB cannot reach every real: \(slb.log.prefix(3000))")
            let psk = try lab.psk()

            // Public-segment spares 192.0.2.2-.4 (the lab's client host owns .10-.254).
            var clients: [StrongSwan] = []
            defer { for client in clients { client.charon.stop() } }
            for k in 1...3 {
                let address = IPv4Address(192, 0, 2, UInt8(1 + k))
                let namespace = try lab.addClientHost(k, address: address)
                clients.append(try StrongSwan(lab: lab, namespace: namespace, address: address, identity: "client\(k).example", psk: psk))
            }
            // One after another, so round robin hands each its own gateway.
            for client in clients {
                let load = client.swanctl(lab, ["--load-all", "--noprompt", "--file", client.directory + "/swanctl.conf"])
                try #require(load.status == 0, "\(load.stdout) \(load.stderr)")
                let initiate = client.swanctl(lab, ["--initiate", "--child", "t", "--timeout", "20"])
                try #require(initiate.status == 0, "\(client.address): \(initiate.stdout) \(initiate.stderr) \(slb.log)")
            }
            for client in clients {
                let ping = lab.inNamespace(client.namespace, ["ping", "-c", "3", "-W", "2", LabGatewayPlan.serviceAddress.description],
                                           timeout: 20)
                #expect(ping.stdout.contains("3 received"), "\(client.address): \(ping.stdout)")
            }

            // The SLB's connection table: each client's rows (500, 4500) on one real, one client per real.
            let connections = try slb.connections()
            var home: [IPv4Address: Int] = [:]
            for client in clients {
                let rows = connections.filter { $0.client == client.address }
                #expect(Set(rows.map(\.vserver)) == ["IPSEC-ISAKMP", "IPSEC-NATT"], "kernel-libipsec floats to 4500: \(rows)")
                let reals = Set(rows.map(\.real))
                #expect(reals.count == 1, "\(client.address) split over \(reals)")
                home[client.address] = reals.first.flatMap(lab.gatewayNumber(of:))
            }
            #expect(Set(home.values) == [1, 2, 3], "one client per gateway: \(home)")

            // SPIs: that gateway's `show crypto ipsec sa --json` = strongSwan's `--list-sas`.
            let snapshots = try lab.plan.gatewayNumbers.map { try lab.gatewaySnapshot($0) }
            #expect(snapshots.map(\.ipsecSAs.count) == [1, 1, 1])
            for client in clients {
                let spis = try #require(client.spis(lab), "no Child SA listed for \(client.address)")
                let n = try #require(home[client.address])
                let row = try #require(snapshots[n - 1].ipsecSAs.first)
                #expect(row.inboundSPI == spis.outbound && row.outboundSPI == spis.inbound,
                        "gw\(n): in \(row.inboundSPI) out \(row.outboundSPI); strongSwan in \(spis.inbound) out \(spis.outbound)")
                #expect(row.remoteAddress == client.address.description)
                #expect(row.remoteUDPPort == 4500, "kernel-libipsec always encapsulates")
                // Dispatched: reached at the VIP; directed: at the real's own address (--listen).
                #expect(row.localAddress == (directed ? lab.plan.gatewayAddress(n)?.description : LabAddressPlan.vip.description))
                #expect(row.echoRepliesSent == 3)
                #expect(snapshots[n - 1].ikeSAs.first?.remoteID == client.identity)
            }
            // strongSwan runs in the client hosts only: each gateway namespace holds just its gateway.
            for n in lab.plan.gatewayNumbers {
                let pids = FarmLab.shell(["ip", "netns", "pids", lab.plan.gatewayNamespace(n)]).stdout.split(separator: "\n")
                let names = pids.map { (try? String(contentsOfFile: "/proc/\($0)/comm", encoding: .utf8))?
                    .trimmingCharacters(in: .whitespacesAndNewlines) ?? "?" }
                #expect(names == ["slb"], "gw\(n) namespace runs \(names)")
            }
            for name in ["IPSEC-ISAKMP", "IPSEC-NATT"] {
                #expect(try slb.vserverConnections(name) == 3, "\(name)")
            }
        }
    }
}
