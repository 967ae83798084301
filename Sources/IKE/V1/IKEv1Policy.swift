import IPsecCrypto
import SLBWire

/// One `crypto isakmp policy <priority>` (IOS): the phase-1 algorithms this end accepts or
/// offers, always with pre-shared keys (`authentication pre-share`).
public struct ISAKMPPolicy: Hashable, Sendable {
    public var priority: Int
    /// `.tripleDESCBC` (`encr 3des`) or `.aesCBC` (`encr aes [128|256]`).
    public var encryption: EncryptionAlgorithm
    /// Cipher key length in octets: 24 for 3DES, 16/24/32 for AES.
    public var keyLength: Int
    public var hash: HashAlgorithm
    public var group: DHGroup
    /// `lifetime` (IOS default 86400 s).
    public var lifetime: TimeSpan
    /// A kilobyte lifetime to offer (RFC 2409 App. A life type 2); IOS never offers one.
    public var lifetimeKilobytes: UInt64?

    public init(priority: Int, encryption: EncryptionAlgorithm, keyLength: Int, hash: HashAlgorithm, group: DHGroup,
                lifetime: TimeSpan = .seconds(86400), lifetimeKilobytes: UInt64? = nil) {
        self.priority = priority
        self.encryption = encryption
        self.keyLength = keyLength
        self.hash = hash
        self.group = group
        self.lifetime = lifetime
        self.lifetimeKilobytes = lifetimeKilobytes
    }

    /// The policies of the seeds (spec §2.6): 3DES or AES-128/256, MD5/SHA-1/SHA2-256, groups 2/5/14.
    public static let seedPolicies: [ISAKMPPolicy] = [
        ISAKMPPolicy(priority: 1, encryption: .tripleDESCBC, keyLength: 24, hash: .sha1, group: .modp1024),
        ISAKMPPolicy(priority: 2, encryption: .tripleDESCBC, keyLength: 24, hash: .md5, group: .modp1024),
        ISAKMPPolicy(priority: 3, encryption: .aesCBC, keyLength: 16, hash: .sha1, group: .modp1536),
        ISAKMPPolicy(priority: 4, encryption: .aesCBC, keyLength: 32, hash: .sha256, group: .modp2048),
        ISAKMPPolicy(priority: 5, encryption: .aesCBC, keyLength: 32, hash: .sha1, group: .modp2048),
        ISAKMPPolicy(priority: 6, encryption: .aesCBC, keyLength: 16, hash: .md5, group: .modp1024),
    ]

    /// Elliptic-curve phase-1 policies: ECP 256/384 (RFC 5903: the KE data is x ‖ y, the
    /// shared secret x, exactly as in IKEv2) and Curve25519 (group 31, RFC 7748; IANA
    /// registers it for IKEv2, strongSwan and IOS 16 also negotiate it in IKEv1). strongSwan
    /// 5.9's default IKEv1 offer is its first algorithm of each kind: AES-128/SHA-256/
    /// Curve25519 (priority 15 here).
    public static let ellipticCurvePolicies: [ISAKMPPolicy] = [
        ISAKMPPolicy(priority: 15, encryption: .aesCBC, keyLength: 16, hash: .sha256, group: .curve25519),
        ISAKMPPolicy(priority: 16, encryption: .aesCBC, keyLength: 32, hash: .sha256, group: .curve25519),
        ISAKMPPolicy(priority: 17, encryption: .aesCBC, keyLength: 16, hash: .sha256, group: .ecp256),
        ISAKMPPolicy(priority: 18, encryption: .aesCBC, keyLength: 32, hash: .sha384, group: .ecp384),
    ]

    /// The phase-1 transform offering this policy (RFC 2409 App. A attributes).
    func transform(number: UInt8) -> ISAKMPTransform {
        var attributes: [ISAKMPAttribute] = [
            .integer(Phase1Attribute.encryptionAlgorithm, encryption == .tripleDESCBC ? Phase1Attribute.encryption3DES : Phase1Attribute.encryptionAES),
        ]
        if encryption == .aesCBC { attributes.append(.integer(Phase1Attribute.keyLength, UInt64(keyLength * 8))) }
        attributes += [
            .integer(Phase1Attribute.hashAlgorithm, Self.hashCode(hash)),
            .integer(Phase1Attribute.authenticationMethod, Phase1Attribute.authPreSharedKey),
            .integer(Phase1Attribute.groupDescription, UInt64(group.rawValue)),
            .integer(Phase1Attribute.lifeType, ISAKMPLifeType.seconds),
            .integer(Phase1Attribute.lifeDuration, lifetime.wholeSeconds),
        ]
        if let kb = lifetimeKilobytes {
            attributes += [.integer(Phase1Attribute.lifeType, ISAKMPLifeType.kilobytes), .integer(Phase1Attribute.lifeDuration, kb)]
        }
        return ISAKMPTransform(number: number, transformID: IPsecDOI.keyIKE, attributes: attributes)
    }

    static func hashCode(_ h: HashAlgorithm) -> UInt64 {
        switch h {
        case .md5: Phase1Attribute.hashMD5
        case .sha1: Phase1Attribute.hashSHA1
        case .sha256: Phase1Attribute.hashSHA256
        case .sha384: 5
        case .sha512: 6
        }
    }

    /// The suite a peer's transform asks for when it matches this policy, else nil.
    func accepts(_ t: ISAKMPTransform) -> IKEv1Phase1Suite? {
        let a = t.attributes
        guard t.transformID == IPsecDOI.keyIKE,
              a.integer(Phase1Attribute.authenticationMethod) == Phase1Attribute.authPreSharedKey,
              a.integer(Phase1Attribute.hashAlgorithm) == Self.hashCode(hash),
              a.integer(Phase1Attribute.groupDescription) == UInt64(group.rawValue)
        else { return nil }
        switch a.integer(Phase1Attribute.encryptionAlgorithm) {
        case Phase1Attribute.encryption3DES?:
            guard encryption == .tripleDESCBC, !a.contains(type: Phase1Attribute.keyLength) else { return nil }
        case Phase1Attribute.encryptionAES?:
            // RFC 3602 §5 / RFC 2409 App. A: AES always names its key length.
            guard encryption == .aesCBC, a.integer(Phase1Attribute.keyLength) == UInt64(keyLength * 8) else { return nil }
        default:
            return nil
        }
        let life = a.lifetimes(typeAttribute: Phase1Attribute.lifeType, durationAttribute: Phase1Attribute.lifeDuration)
        // RFC 2407 §4.5 default of 28800 s when no lifetime is proposed; never longer than ours.
        let offered = life.seconds.map { TimeSpan.seconds(min(max(1, $0), ISAKMPLimits.maximumLifetimeSeconds)) } ?? .seconds(28800)
        return IKEv1Phase1Suite(encryption: encryption, keyLength: keyLength, hash: hash, group: group,
                                lifetime: min(offered, lifetime), lifetimeKilobytes: life.kilobytes)
    }
}

/// The negotiated phase-1 algorithms and lifetime of an ISAKMP SA.
public struct IKEv1Phase1Suite: Hashable, Sendable, CustomStringConvertible {
    public var encryption: EncryptionAlgorithm
    public var keyLength: Int
    public var hash: HashAlgorithm
    public var group: DHGroup
    public var lifetime: TimeSpan
    /// Counted over the SA's own ISAKMP messages (quick modes, informationals).
    public var lifetimeKilobytes: UInt64?

    public var description: String {
        let enc = encryption == .tripleDESCBC ? "3des" : "aes\(keyLength * 8)"
        return "\(enc)/\(hash)/group\(group.rawValue)/\(lifetime.wholeSeconds)s"
    }
}

/// `crypto ipsec transform-set NAME esp-… esp-…-hmac`: one ESP transform this end accepts.
public struct IPsecTransformSet: Hashable, Sendable {
    public var name: String
    public var encryption: EncryptionAlgorithm
    public var keyLength: Int
    public var integrity: IntegrityAlgorithm

    public init(name: String, encryption: EncryptionAlgorithm, keyLength: Int, integrity: IntegrityAlgorithm) {
        self.name = name
        self.encryption = encryption
        self.keyLength = keyLength
        self.integrity = integrity
    }

    /// The seeds' sets: `esp-3des esp-md5-hmac`, `esp-3des esp-sha-hmac`, and the AES ones.
    public static let esp3desMD5 = IPsecTransformSet(name: "3DES_MD5", encryption: .tripleDESCBC, keyLength: 24, integrity: .hmacMD5_96)
    public static let esp3desSHA = IPsecTransformSet(name: "esp-tunnel-internet", encryption: .tripleDESCBC, keyLength: 24, integrity: .hmacSHA1_96)
    public static let espAES128SHA = IPsecTransformSet(name: "AES128_SHA", encryption: .aesCBC, keyLength: 16, integrity: .hmacSHA1_96)
    public static let espAES256SHA256 = IPsecTransformSet(name: "AES256_SHA256", encryption: .aesCBC, keyLength: 32, integrity: .hmacSHA256_128)

    /// Beyond the seeds: `esp-aes esp-sha256-hmac` (the non-AEAD half of strongSwan 5.9's
    /// default ESP offer in IKEv1: AES-128/HMAC-SHA2-256-128) and `esp-aes 256 esp-sha-hmac`.
    public static let espAES128SHA256 = IPsecTransformSet(name: "AES128_SHA256", encryption: .aesCBC, keyLength: 16, integrity: .hmacSHA256_128)
    public static let espAES256SHA = IPsecTransformSet(name: "AES256_SHA", encryption: .aesCBC, keyLength: 32, integrity: .hmacSHA1_96)

    static func authCode(_ i: IntegrityAlgorithm) -> UInt64? {
        switch i {
        case .hmacMD5_96: Phase2Attribute.authHMACMD5
        case .hmacSHA1_96: Phase2Attribute.authHMACSHA1
        case .hmacSHA256_128: Phase2Attribute.authHMACSHA256
        case .hmacSHA384_192, .hmacSHA512_256: nil
        }
    }

    var suite: ESPSuite { ESPSuite(encryption: encryption, keyLength: keyLength, integrity: integrity) }
}

/// Phase-2 policy: the transform sets of the crypto map, `set pfs`, `set security-association lifetime`.
public struct QuickModePolicy: Hashable, Sendable {
    public var transformSets: [IPsecTransformSet]
    /// Initiator: the PFS group to propose. Responder: the group it requires; nil accepts a
    /// peer's PFS with any supported group, or none (IOS without `set pfs`).
    public var pfsGroup: DHGroup?
    /// IOS defaults: 3600 s and 4 608 000 KB.
    public var lifetime: TimeSpan
    public var lifetimeKilobytes: UInt64

    public init(transformSets: [IPsecTransformSet], pfsGroup: DHGroup? = nil, lifetime: TimeSpan = .seconds(3600),
                lifetimeKilobytes: UInt64 = 4_608_000) {
        self.transformSets = transformSets
        self.pfsGroup = pfsGroup
        self.lifetime = lifetime
        self.lifetimeKilobytes = lifetimeKilobytes
    }

    public static let seeds = QuickModePolicy(transformSets: [.esp3desMD5, .esp3desSHA, .espAES128SHA, .espAES256SHA256])

    /// Groups acceptable for PFS when the responder does not require one.
    static let pfsGroups: [DHGroup] = [.modp1024, .modp1536, .modp2048, .ecp256, .ecp384, .curve25519]

    func transforms(udpEncapsulation: Bool) -> [ISAKMPTransform] {
        transformSets.enumerated().compactMap { i, set -> ISAKMPTransform? in
            guard let auth = IPsecTransformSet.authCode(set.integrity) else { return nil }
            var a: [ISAKMPAttribute] = [
                .integer(Phase2Attribute.lifeType, ISAKMPLifeType.seconds),
                .integer(Phase2Attribute.lifeDuration, lifetime.wholeSeconds),
                .integer(Phase2Attribute.lifeType, ISAKMPLifeType.kilobytes),
                .integer(Phase2Attribute.lifeDuration, lifetimeKilobytes),
                .integer(Phase2Attribute.encapsulationMode,
                         udpEncapsulation ? Phase2Attribute.encapsulationUDPTunnel : Phase2Attribute.encapsulationTunnel),
                .integer(Phase2Attribute.authenticationAlgorithm, auth),
            ]
            if let g = pfsGroup { a.append(.integer(Phase2Attribute.groupDescription, UInt64(g.rawValue))) }
            if set.encryption == .aesCBC { a.append(.integer(Phase2Attribute.keyLength, UInt64(set.keyLength * 8))) }
            let id = set.encryption == .tripleDESCBC ? Phase2Attribute.esp3DES : Phase2Attribute.espAES
            return ISAKMPTransform(number: UInt8(truncatingIfNeeded: i + 1), transformID: id, attributes: a)
        }
    }

    /// The negotiated parameters when the peer's ESP transform matches a set and the PFS rule.
    func accepts(_ t: ISAKMPTransform, keyExchangePresent: Bool) -> QuickModeSuite? {
        let a = t.attributes
        let encryption: EncryptionAlgorithm
        let keyLength: Int
        switch t.transformID {
        case Phase2Attribute.esp3DES:
            encryption = .tripleDESCBC
            keyLength = 24
        case Phase2Attribute.espAES:
            encryption = .aesCBC
            // RFC 3602 §5: without the attribute the key is 128 bits.
            keyLength = Int(a.integer(Phase2Attribute.keyLength) ?? 128) / 8
        default:
            return nil
        }
        guard let set = transformSets.first(where: {
            $0.encryption == encryption && $0.keyLength == keyLength
                && IPsecTransformSet.authCode($0.integrity) == a.integer(Phase2Attribute.authenticationAlgorithm)
        }) else { return nil }
        let mode = a.integer(Phase2Attribute.encapsulationMode) ?? Phase2Attribute.encapsulationTunnel
        guard [Phase2Attribute.encapsulationTunnel, Phase2Attribute.encapsulationUDPTunnel,
               Phase2Attribute.encapsulationUDPTunnelDraft].contains(mode) else { return nil }
        var pfs: DHGroup?
        if let g = a.integer(Phase2Attribute.groupDescription) {
            guard g <= UInt64(UInt16.max), let group = DHGroup(rawValue: UInt16(g)), keyExchangePresent,
                  pfsGroup.map({ $0 == group }) ?? Self.pfsGroups.contains(group) else { return nil }
            pfs = group
        } else {
            guard pfsGroup == nil, !keyExchangePresent else { return nil }
        }
        let life = a.lifetimes(typeAttribute: Phase2Attribute.lifeType, durationAttribute: Phase2Attribute.lifeDuration)
        return QuickModeSuite(esp: ESPSuite(encryption: set.encryption, keyLength: set.keyLength, integrity: set.integrity, dhGroup: pfs),
                              lifetime: min(life.seconds.map { TimeSpan.seconds(min(max(1, $0), ISAKMPLimits.maximumLifetimeSeconds)) } ?? lifetime, lifetime),
                              lifetimeKilobytes: min(life.kilobytes ?? lifetimeKilobytes, lifetimeKilobytes),
                              encapsulationMode: mode)
    }
}

/// The negotiated parameters of a quick mode SA pair.
public struct QuickModeSuite: Hashable, Sendable {
    public var esp: ESPSuite
    public var lifetime: TimeSpan
    public var lifetimeKilobytes: UInt64
    public var encapsulationMode: UInt64
}

/// Pre-shared keys by peer address or prefix (`crypto isakmp key KEY address A [MASK]`),
/// longest prefix first; selected before MM5 is readable, so by IP (RFC 2409 §5.4).
public struct PreSharedKeyTable: Hashable, Sendable {
    public private(set) var entries: [(network: IPv4Network, key: [UInt8])] = []

    public init() {}
    public init(_ entries: [(IPv4Network, [UInt8])]) { for (n, k) in entries { add(k, for: n) } }

    public mutating func add(_ key: [UInt8], for network: IPv4Network) {
        entries.removeAll { $0.network == network }
        entries.append((network, key))
        entries.sort { $0.network.mask.prefixLength > $1.network.mask.prefixLength }
    }

    public func key(for address: IPv4Address) -> [UInt8]? { entries.first { $0.network.contains(address) }?.key }

    public static func == (a: Self, b: Self) -> Bool {
        a.entries.count == b.entries.count && zip(a.entries, b.entries).allSatisfy { $0.network == $1.network && $0.key == $1.key }
    }
    public func hash(into h: inout Hasher) { for e in entries { h.combine(e.network); h.combine(e.key) } }
}
