import IPsecCrypto

/// The algorithms of one ESP SA: a CBC cipher with an HMAC integrity check, or AES-GCM-16
/// alone (RFC 4106: combined mode, no separate integrity transform).
public struct ESPTransform: Hashable, Sendable, CustomStringConvertible {
    public let encryption: EncryptionAlgorithm
    /// Cipher key length without the GCM salt: 16/24/32 for AES, 24 for 3DES.
    public let encryptionKeyLength: Int
    /// nil exactly when `encryption` is AEAD.
    public let integrity: IntegrityAlgorithm?

    public init(encryption: EncryptionAlgorithm, keyLength: Int, integrity: IntegrityAlgorithm?) throws(ESPError) {
        switch encryption {
        case .aesCBC, .aesGCM16:
            guard [16, 24, 32].contains(keyLength) else { throw .invalidTransform }
        case .tripleDESCBC:
            guard keyLength == 24 else { throw .invalidTransform }
        }
        // RFC 4106 §5 / RFC 8221 §3: an AEAD cipher is never combined with an INTEG
        // transform, and a CBC cipher is never used without one (no encryption-only ESP).
        guard encryption.isAEAD == (integrity == nil) else { throw .invalidTransform }
        self.encryption = encryption
        self.encryptionKeyLength = keyLength
        self.integrity = integrity
    }

    /// Bytes of KEYMAT one direction consumes: the encryption key (plus the GCM salt), then
    /// the integrity key (RFC 7296 §2.17, RFC 4106 §8.1).
    public var keyMaterialLength: Int {
        encryptionKeyLength + encryption.saltLength + (integrity?.keyLength ?? 0)
    }

    public var ivLength: Int { encryption.ivLength }
    public var icvLength: Int { integrity?.icvLength ?? encryption.aeadTagLength }

    /// What the padded plaintext must be a multiple of: the cipher block for CBC, 4 bytes for
    /// GCM (a counter mode, RFC 4106 §3.2); either way the ciphertext ends on a 4-byte
    /// boundary as RFC 4303 §2.4 requires (16 and 8 are multiples of 4).
    public var paddingAlignment: Int { encryption.isAEAD ? 4 : encryption.blockSize }

    /// Smallest valid ciphertext: Pad Length and Next Header padded to the alignment.
    var minimumCiphertextLength: Int { paddingAlignment }

    public var description: String {
        let cipher: String = switch encryption {
        case .aesCBC: "aes\(encryptionKeyLength * 8)"
        case .aesGCM16: "aes\(encryptionKeyLength * 8)gcm16"
        case .tripleDESCBC: "3des"
        }
        guard let integrity else { return cipher }
        let mac: String = switch integrity {
        case .hmacMD5_96: "md5"
        case .hmacSHA1_96: "sha1"
        case .hmacSHA256_128: "sha256"
        case .hmacSHA384_192: "sha384"
        case .hmacSHA512_256: "sha512"
        }
        return "\(cipher)-\(mac)"
    }
}

/// One direction's keys, cut from KEYMAT in RFC 7296 §2.17 order.
public struct ESPKeys: Sendable {
    public let encryptionKey: [UInt8]
    /// The 4 trailing bytes of the GCM key material (RFC 4106 §8.1); empty for CBC.
    public let salt: [UInt8]
    public let integrityKey: [UInt8]

    public init(transform: ESPTransform, keyMaterial: [UInt8]) throws(ESPError) {
        guard keyMaterial.count == transform.keyMaterialLength else { throw .invalidTransform }
        let keyEnd = transform.encryptionKeyLength
        let saltEnd = keyEnd + transform.encryption.saltLength
        encryptionKey = Array(keyMaterial[0..<keyEnd])
        salt = Array(keyMaterial[keyEnd..<saltEnd])
        integrityKey = Array(keyMaterial[saltEnd...])
    }
}
