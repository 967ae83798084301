#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// A strongSwan 5.9 IKEv1 initiator's files (own STRONGSWAN_CONF, vici socket and private
/// /run, testbed.md): main mode with a PSK, DPD after `dpdDelay` seconds without inbound traffic, kernel-libipsec loaded before
/// kernel-netlink so ESP is handled in user space (and always UDP-encapsulated).
struct IKEv1StrongSwan {
    let directory: String
    var vici: String { "unix://\(directory)/charon.vici" }

    static func configure(directory: String, local: String, vip: String, service: String, psk: String,
                          dpdDelay: Int = 30, proposals: String = "aes128-sha1-modp2048, 3des-sha1-modp1024",
                          espProposals: String = "aes128-sha1, 3des-md5",
                          ikeRekey: [String] = ["rekey_time = 4h"], childRekey: [String] = ["rekey_time = 1h"]) throws -> IKEv1StrongSwan {
        try FileManager.default.createDirectory(atPath: directory + "/run", withIntermediateDirectories: true)
        try """
            charon {
              load = random nonce openssl pem pkcs1 x509 pubkey kdf curve25519 aes des md5 sha1 sha2 hmac gcm kernel-libipsec kernel-netlink socket-default vici updown
              retransmit_timeout = 1
              retransmit_base = 1.4
              retransmit_tries = 3
              filelog {
                stderr {
                  path = /dev/stderr
                  flush_line = yes
                  default = 1
                  ike = 2
                }
              }
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
        try """
            connections {
              v1 {
                version = 1
                aggressive = no
                local_addrs = \(local)
                remote_addrs = \(vip)
                proposals = \(proposals)
                dpd_delay = \(dpdDelay)s
                \(ikeRekey.joined(separator: "\n    "))
                local {
                  auth = psk
                  id = \(local)
                }
                remote {
                  auth = psk
                  id = \(vip)
                }
                children {
                  t {
                    remote_ts = \(service)/32
                    esp_proposals = \(espProposals)
                    \(childRekey.joined(separator: "\n        "))
                    dpd_action = clear
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
        return IKEv1StrongSwan(directory: directory)
    }

    var charonCommand: [String] {
        ["env", "STRONGSWAN_CONF=\(directory)/strongswan.conf", "unshare", "-m", "sh", "-c",
         "mount --bind \(directory)/run /run && exec /usr/lib/ipsec/charon"]
    }

    func swanctl(_ arguments: [String]) -> [String] {
        ["env", "STRONGSWAN_CONF=\(directory)/strongswan.conf", "swanctl"] + arguments + ["--uri", vici]
    }

    func waitForVici(seconds: Double = 10) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if FileManager.default.fileExists(atPath: directory + "/charon.vici") { return true }
            usleep(25_000)
        }
        return false
    }

    /// (in, out) SPIs of the one Child SA in `swanctl --list-sas` ("in  c1a2b3c4, ...").
    func spis(_ listing: String) -> (inbound: UInt32, outbound: UInt32)? {
        func spi(_ direction: Substring) -> UInt32? {
            for line in listing.split(separator: "\n") {
                let words = line.split(separator: " ")
                if words.count >= 2, words[0] == direction { return UInt32(words[1].trimmingCharacters(in: [","]), radix: 16) }
            }
            return nil
        }
        guard let i = spi("in"), let o = spi("out") else { return nil }
        return (i, o)
    }
}
