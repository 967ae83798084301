// Algorithm identifiers shared by IKEv2, IKEv1 and ESP. Raw values are the IKEv2 IANA
// transform IDs (RFC 7296 §3.3.2, "IKEv2 Parameters" registry); IKEv1 maps its own
// numbers (RFC 2409 Appendix A) onto these cases.

/// Encryption: transform type 1.
public enum EncryptionAlgorithm: UInt16, Hashable, Sendable, Codable, CaseIterable {
    case tripleDESCBC = 3          // ENCR_3DES
    case aesCBC = 12               // ENCR_AES_CBC (key length from the Key Length attribute)
    case aesGCM16 = 20             // ENCR_AES_GCM_16 (RFC 4106 / RFC 5282), 16-octet ICV

    public var isAEAD: Bool { self == .aesGCM16 }
    /// Cipher block size, which also sets IV length for CBC (RFC 3602 §3).
    public var blockSize: Int { self == .tripleDESCBC ? 8 : 16 }
    /// Explicit IV carried in each packet: 8 for GCM (RFC 4106 §3.1), the block size for CBC.
    public var ivLength: Int {
        switch self {
        case .tripleDESCBC: 8
        case .aesCBC: 16
        case .aesGCM16: 8
        }
    }
    /// Salt octets taken from the key material after the key (RFC 4106 §8.1); 0 for CBC.
    public var saltLength: Int { self == .aesGCM16 ? 4 : 0 }
    /// ICV produced by the cipher itself (AEAD only).
    public var aeadTagLength: Int { self == .aesGCM16 ? 16 : 0 }
}

/// Pseudo-random function: transform type 2.
public enum PRFAlgorithm: UInt16, Hashable, Sendable, Codable, CaseIterable {
    case hmacMD5 = 1
    case hmacSHA1 = 2
    case hmacSHA256 = 5
    case hmacSHA384 = 6
    case hmacSHA512 = 7

    public var hash: HashAlgorithm {
        switch self {
        case .hmacMD5: .md5
        case .hmacSHA1: .sha1
        case .hmacSHA256: .sha256
        case .hmacSHA384: .sha384
        case .hmacSHA512: .sha512
        }
    }
    /// Preferred key length = output length (RFC 7296 §2.13, RFC 4868 §2.1.2).
    public var outputLength: Int { hash.digestLength }
}

/// Integrity: transform type 3. Truncated HMACs (RFC 2404, RFC 4868).
public enum IntegrityAlgorithm: UInt16, Hashable, Sendable, Codable, CaseIterable {
    case hmacMD5_96 = 1
    case hmacSHA1_96 = 2
    case hmacSHA256_128 = 12
    case hmacSHA384_192 = 13
    case hmacSHA512_256 = 14

    public var hash: HashAlgorithm {
        switch self {
        case .hmacMD5_96: .md5
        case .hmacSHA1_96: .sha1
        case .hmacSHA256_128: .sha256
        case .hmacSHA384_192: .sha384
        case .hmacSHA512_256: .sha512
        }
    }
    public var keyLength: Int { hash.digestLength }
    public var icvLength: Int {
        switch self {
        case .hmacMD5_96, .hmacSHA1_96: 12
        case .hmacSHA256_128: 16
        case .hmacSHA384_192: 24
        case .hmacSHA512_256: 32
        }
    }
}

public enum HashAlgorithm: Hashable, Sendable, Codable, CaseIterable {
    case md5, sha1, sha256, sha384, sha512

    public var digestLength: Int {
        switch self {
        case .md5: 16
        case .sha1: 20
        case .sha256: 32
        case .sha384: 48
        case .sha512: 64
        }
    }
}

/// Key exchange: transform type 4 (IKEv2 group numbers, same as IKEv1's).
public enum DHGroup: UInt16, Hashable, Sendable, Codable, CaseIterable {
    case modp1024 = 2        // RFC 2409 §6.2
    case modp1536 = 5        // RFC 3526 §2
    case modp2048 = 14       // RFC 3526 §3
    case ecp256 = 19         // RFC 5903; wire: x || y, no 0x04 prefix
    case ecp384 = 20
    case curve25519 = 31     // RFC 8031 / RFC 7748

    /// Length of the KE payload's key-exchange data (and of the padded shared secret for MODP).
    public var publicValueLength: Int {
        switch self {
        case .modp1024: 128
        case .modp1536: 192
        case .modp2048: 256
        case .ecp256: 64
        case .ecp384: 96
        case .curve25519: 32
        }
    }
}
