import IPsecCrypto

/// The seven IKE SA secrets of RFC 7296 §2.14.
public struct IKESAKeys: Hashable, Sendable {
    public var skD: [UInt8]
    public var skAi: [UInt8]
    public var skAr: [UInt8]
    public var skEi: [UInt8]
    public var skEr: [UInt8]
    public var skPi: [UInt8]
    public var skPr: [UInt8]
}

/// ESP keys of one direction.
public struct ChildSAKeys: Hashable, Sendable {
    /// Cipher key, followed by the 4-octet salt for AES-GCM (RFC 4106 §8.1).
    public var encryption: [UInt8]
    /// Empty for AEAD.
    public var integrity: [UInt8]
    public init(encryption: [UInt8], integrity: [UInt8]) { self.encryption = encryption; self.integrity = integrity }

    /// Encryption key ‖ salt ‖ integrity key: the layout the ESP target's SAs take.
    public var keyMaterial: [UInt8] { encryption + integrity }
}

/// Key derivation of RFC 7296 §2.13, §2.14, §2.17 and §2.18. Only HMAC PRFs are supported,
/// so the PRF key is used whole (the §2.14 special cases for fixed-key PRFs do not arise).
public enum KeyDerivation {
    public static func prf(_ crypto: some CryptoProvider, _ prf: PRFAlgorithm, key: [UInt8], _ data: [UInt8]) -> [UInt8] {
        crypto.hmac(prf.hash, key: key, data: data)
    }

    /// §2.14: SKEYSEED = prf(Ni | Nr, g^ir).
    public static func skeyseed(_ crypto: some CryptoProvider, prf p: PRFAlgorithm,
                                ni: [UInt8], nr: [UInt8], sharedSecret: [UInt8]) -> [UInt8] {
        prf(crypto, p, key: ni + nr, sharedSecret)
    }

    /// §2.18: SKEYSEED = prf(SK_d (old), g^ir (new) | Ni | Nr), with the old SA's PRF.
    public static func rekeySkeyseed(_ crypto: some CryptoProvider, oldPRF: PRFAlgorithm, oldSKd: [UInt8],
                                     sharedSecret: [UInt8], ni: [UInt8], nr: [UInt8]) -> [UInt8] {
        prf(crypto, oldPRF, key: oldSKd, sharedSecret + ni + nr)
    }

    /// §2.14: {SK_d | SK_ai | SK_ar | SK_ei | SK_er | SK_pi | SK_pr} = prf+(SKEYSEED, Ni | Nr | SPIi | SPIr).
    public static func ikeKeys(_ crypto: some CryptoProvider, suite: IKESuite, skeyseed: [UInt8],
                               ni: [UInt8], nr: [UInt8], spiI: UInt64, spiR: UInt64) throws -> IKESAKeys {
        let prfLength = suite.prf.outputLength
        let integLength = suite.integrity?.keyLength ?? 0
        let encLength = suite.encryptionKeyMaterialLength
        let total = 3 * prfLength + 2 * integLength + 2 * encLength
        let seed = ni + nr + spiI.bigEndianBytes + spiR.bigEndianBytes
        var km = try crypto.prfPlus(suite.prf, key: skeyseed, seed: seed, length: total)[...]
        func take(_ n: Int) -> [UInt8] { defer { km = km.dropFirst(n) }; return Array(km.prefix(n)) }
        return IKESAKeys(skD: take(prfLength), skAi: take(integLength), skAr: take(integLength),
                         skEi: take(encLength), skEr: take(encLength), skPi: take(prfLength), skPr: take(prfLength))
    }

    /// §2.17: KEYMAT = prf+(SK_d, [g^ir (new) |] Ni | Nr); keys taken i→r encryption, i→r
    /// integrity, r→i encryption, r→i integrity.
    public static func childKeys(_ crypto: some CryptoProvider, prf p: PRFAlgorithm, skD: [UInt8],
                                 sharedSecret: [UInt8]?, ni: [UInt8], nr: [UInt8],
                                 suite: ESPSuite) throws -> (initiatorToResponder: ChildSAKeys, responderToInitiator: ChildSAKeys) {
        let e = suite.encryptionKeyMaterialLength
        let a = suite.integrityKeyLength
        var km = try crypto.prfPlus(p, key: skD, seed: (sharedSecret ?? []) + ni + nr, length: 2 * (e + a))[...]
        func take(_ n: Int) -> [UInt8] { defer { km = km.dropFirst(n) }; return Array(km.prefix(n)) }
        let ie = take(e), ia = take(a), re = take(e), ra = take(a)
        return (ChildSAKeys(encryption: ie, integrity: ia), ChildSAKeys(encryption: re, integrity: ra))
    }
}
