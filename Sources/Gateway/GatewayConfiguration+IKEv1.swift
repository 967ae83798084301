import IKE
import IPsecCrypto
import SLBWire

/// IKEv1 settings of `slb gateway` (IOS `crypto isakmp policy N`, `crypto ipsec transform-set`).
/// Keys come from the shared PSK file (`PSKTable.ikev1Keys`) and DPD from `--dpd`.
public struct IKEv1GatewayOptions: Sendable {
    /// Walked in priority order; the first offered transform matching one is taken (IOS).
    public var policies: [ISAKMPPolicy]
    public var quickMode: QuickModePolicy
    /// Answer IKEv1 at all; when false every version-1 datagram is dropped and counted.
    public var enabled: Bool

    public init(policies: [ISAKMPPolicy] = Self.defaultPolicies, quickMode: QuickModePolicy = Self.defaultQuickMode, enabled: Bool = true) {
        self.policies = policies
        self.quickMode = quickMode
        self.enabled = enabled
    }

    /// The seeds' policies (3DES/AES, MD5/SHA-1/SHA-256, groups 2, 5, 14: seed 002 Example
    /// 6-14, seed 004 `crypto isakmp policy`), then what strongSwan 5.9 offers by default in
    /// IKEv1 that we implement (AES-CBC 128/256 with SHA-256/384/512 over MODP 2048, then
    /// Curve25519 and ECP 256/384; MODP ≥ 3072 is not implemented).
    public static let defaultPolicies: [ISAKMPPolicy] = ISAKMPPolicy.seedPolicies + [
        ISAKMPPolicy(priority: 10, encryption: .aesCBC, keyLength: 16, hash: .sha256, group: .modp2048),
        ISAKMPPolicy(priority: 11, encryption: .aesCBC, keyLength: 16, hash: .sha1, group: .modp2048),
        ISAKMPPolicy(priority: 12, encryption: .aesCBC, keyLength: 32, hash: .sha384, group: .modp2048),
        ISAKMPPolicy(priority: 13, encryption: .aesCBC, keyLength: 32, hash: .sha512, group: .modp2048),
        ISAKMPPolicy(priority: 14, encryption: .aesCBC, keyLength: 16, hash: .sha256, group: .modp1024),
    ] + ISAKMPPolicy.ellipticCurvePolicies

    /// The seeds' transform sets, then AES-128/SHA-256 (what strongSwan 5.9 offers by default
    /// in IKEv1 besides AES-GCM, which IKEv1 quick mode here does not negotiate) and
    /// AES-256/SHA-1. IOS defaults: 3600 s, 4 608 000 KB.
    public static let defaultQuickMode = QuickModePolicy(
        transformSets: QuickModePolicy.seeds.transformSets + [.espAES128SHA256, .espAES256SHA])

    /// `policy PRIORITY ENC HASH GROUP [LIFETIME]`, e.g. `10 aes256 sha256 14 86400`
    /// (ENC: 3des, aes, aes128, aes192, aes256; HASH: md5, sha, sha1, sha256, sha384, sha512;
    /// GROUP: 2, 5, 14, 19, 20, 31). nil when a word is not understood.
    public static func parsePolicy(_ text: String) -> ISAKMPPolicy? {
        let w = text.split(whereSeparator: { $0 == " " || $0 == "," }).map { $0.lowercased() }
        guard w.count == 4 || w.count == 5, let priority = Int(w[0]), priority > 0 else { return nil }
        let enc: (EncryptionAlgorithm, Int)
        switch w[1] {
        case "3des": enc = (.tripleDESCBC, 24)
        case "aes", "aes128": enc = (.aesCBC, 16)
        case "aes192": enc = (.aesCBC, 24)
        case "aes256": enc = (.aesCBC, 32)
        default: return nil
        }
        let hash: HashAlgorithm
        switch w[2] {
        case "md5": hash = .md5
        case "sha", "sha1": hash = .sha1
        case "sha256": hash = .sha256
        case "sha384": hash = .sha384
        case "sha512": hash = .sha512
        default: return nil
        }
        let group: DHGroup
        switch w[3] {
        case "2": group = .modp1024
        case "5": group = .modp1536
        case "14": group = .modp2048
        case "19": group = .ecp256
        case "20": group = .ecp384
        case "31": group = .curve25519
        default: return nil
        }
        var lifetime = TimeSpan.seconds(86400)
        if w.count == 5 {
            // IOS `lifetime 60…86400`.
            guard let s = UInt64(w[4]), (60...86400).contains(s) else { return nil }
            lifetime = .seconds(s)
        }
        return ISAKMPPolicy(priority: priority, encryption: enc.0, keyLength: enc.1, hash: hash, group: group, lifetime: lifetime)
    }
}

extension GatewayConfiguration {
    /// `--dpd SECONDS` is IOS `crypto isakmp keepalive SECONDS 2 periodic` for IKEv1 (RFC 3706:
    /// R-U-THERE after that much silence, 5 retries 2 s apart, then the SA and its ESP SAs go).
    public var ikev1DPD: DPDPolicy? { livenessInterval.map { DPDPolicy(interval: $0, periodic: true) } }

    var ikev1ResponderConfiguration: IKEv1ResponderConfiguration {
        var c = IKEv1ResponderConfiguration(policies: ikev1.policies, quickMode: ikev1.quickMode,
                                            preSharedKeys: preSharedKeys.ikev1Keys, dpd: ikev1DPD)
        c.forceUDPEncapsulation = forceUDPEncapsulation
        c.virtualIP = virtualIP
        return c
    }
}

extension PSKTable {
    /// IKEv1 main mode with pre-shared keys must choose the key before it sees the peer's
    /// identity (RFC 2409 §5.4): by the peer's address. Longest prefix wins among the file's
    /// `A.B.C.D/N` lines, its dotted-quad identity lines (as /32) and `*` (as 0.0.0.0/0).
    public var ikev1Keys: PreSharedKeyTable {
        var table = PreSharedKeyTable()
        if let d = defaultKey, let any = IPv4Mask(prefixLength: 0) {
            table.add(d, for: IPv4Network(address: IPv4Address(0), mask: any))
        }
        if let host = IPv4Mask(prefixLength: 32) {
            for (identity, key) in byIdentity where identity.type == .ipv4Address && identity.data.count == 4 {
                let a = IPv4Address(UInt32(identity.data[0]) << 24 | UInt32(identity.data[1]) << 16
                                    | UInt32(identity.data[2]) << 8 | UInt32(identity.data[3]))
                table.add(key, for: IPv4Network(address: a, mask: host))
            }
        }
        // Explicit prefixes last: a `/32` line overrides the same address's identity line.
        for e in addressPrefixes.entries { table.add(e.key, for: e.network) }
        return table
    }
}
