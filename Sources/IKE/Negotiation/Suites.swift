import IPsecCrypto

/// The algorithms of a negotiated IKE SA (RFC 7296 §3.3.3: ENCR, PRF, INTEG unless AEAD, DH).
public struct IKESuite: Hashable, Sendable, CustomStringConvertible {
    public var encryption: EncryptionAlgorithm
    /// Cipher key length in octets (AES: from the Key Length attribute; 3DES: 24).
    public var keyLength: Int
    public var prf: PRFAlgorithm
    public var integrity: IntegrityAlgorithm?
    public var dhGroup: DHGroup

    public init(encryption: EncryptionAlgorithm, keyLength: Int, prf: PRFAlgorithm,
                integrity: IntegrityAlgorithm?, dhGroup: DHGroup) {
        self.encryption = encryption
        self.keyLength = keyLength
        self.prf = prf
        self.integrity = encryption.isAEAD ? nil : integrity
        self.dhGroup = dhGroup
    }

    /// SK_e length: key plus the AEAD salt (RFC 5282 §7.1).
    public var encryptionKeyMaterialLength: Int { keyLength + encryption.saltLength }

    public var description: String {
        "\(encryption)-\(keyLength * 8)/\(prf)/\(integrity.map { "\($0)" } ?? "aead")/\(dhGroup)"
    }
}

/// The algorithms of a negotiated ESP Child SA. `dhGroup` is set only for CREATE_CHILD_SA
/// with PFS (RFC 7296 §1.3.1); ESN is never chosen (§3.3.2 transform 5 = 0).
public struct ESPSuite: Hashable, Sendable, CustomStringConvertible {
    public var encryption: EncryptionAlgorithm
    public var keyLength: Int
    public var integrity: IntegrityAlgorithm?
    public var dhGroup: DHGroup?

    public init(encryption: EncryptionAlgorithm, keyLength: Int, integrity: IntegrityAlgorithm?, dhGroup: DHGroup? = nil) {
        self.encryption = encryption
        self.keyLength = keyLength
        self.integrity = encryption.isAEAD ? nil : integrity
        self.dhGroup = dhGroup
    }

    /// Encryption key material per direction: key ‖ salt for GCM (RFC 4106 §8.1).
    public var encryptionKeyMaterialLength: Int { keyLength + encryption.saltLength }
    public var integrityKeyLength: Int { integrity?.keyLength ?? 0 }

    public var description: String {
        "ESP \(encryption)-\(keyLength * 8)/\(integrity.map { "\($0)" } ?? "aead")\(dhGroup.map { "/PFS \($0)" } ?? "")"
    }
}

/// An acceptable cipher: algorithm and key length in bits.
public struct CipherChoice: Hashable, Sendable {
    public var algorithm: EncryptionAlgorithm
    public var keyBits: Int
    public init(_ algorithm: EncryptionAlgorithm, _ keyBits: Int) { self.algorithm = algorithm; self.keyBits = keyBits }
}

/// What this end accepts, in its own order of preference (the order matters only for the
/// group named in INVALID_KE_PAYLOAD and for what an initiator offers).
public struct ProposalPolicy: Hashable, Sendable {
    public var ciphers: [CipherChoice]
    public var prfs: [PRFAlgorithm]
    public var integrity: [IntegrityAlgorithm]
    public var dhGroups: [DHGroup]

    public init(ciphers: [CipherChoice], prfs: [PRFAlgorithm], integrity: [IntegrityAlgorithm], dhGroups: [DHGroup]) {
        self.ciphers = ciphers
        self.prfs = prfs
        self.integrity = integrity
        self.dhGroups = dhGroups
    }

    /// The gateway's IKE set (spec §1.3 "minimal accept set"): covers strongSwan 5.9 and
    /// libreswan 4 defaults without an INVALID_KE round trip, plus SHA-1 for legacy clients.
    public static let gatewayIKE = ProposalPolicy(
        ciphers: [CipherChoice(.aesGCM16, 256), CipherChoice(.aesGCM16, 128),
                  CipherChoice(.aesCBC, 256), CipherChoice(.aesCBC, 128)],
        prfs: [.hmacSHA256, .hmacSHA512, .hmacSHA384, .hmacSHA1],
        integrity: [.hmacSHA256_128, .hmacSHA512_256, .hmacSHA384_192, .hmacSHA1_96],
        dhGroups: [.curve25519, .ecp256, .modp2048, .ecp384])

    /// The gateway's ESP set; `dhGroups` applies only to CREATE_CHILD_SA with PFS.
    public static let gatewayESP = ProposalPolicy(
        ciphers: [CipherChoice(.aesGCM16, 256), CipherChoice(.aesGCM16, 128),
                  CipherChoice(.aesCBC, 256), CipherChoice(.aesCBC, 128)],
        prfs: [],
        integrity: [.hmacSHA256_128, .hmacSHA512_256, .hmacSHA384_192, .hmacSHA1_96],
        dhGroups: [.curve25519, .ecp256, .modp2048, .ecp384])
}
