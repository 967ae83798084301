import IPsecCrypto

/// Phase-1 key material of an ISAKMP SA (RFC 2409 §5).
public struct IKEv1Phase1Keys: Hashable, Sendable {
    public var skeyid: [UInt8]
    public var skeyidD: [UInt8]
    public var skeyidA: [UInt8]
    public var skeyidE: [UInt8]
    /// The cipher key taken from SKEYID_e (App. B, expanded when SKEYID_e is too short).
    public var encryptionKey: [UInt8]
}

/// The key derivation of RFC 2409 (§5, §5.4, §5.5, App. B). The prf is HMAC with the
/// negotiated hash (§5: "the prf is the HMAC version of the negotiated hash").
public enum IKEv1KeyDerivation {
    /// SKEYID for pre-shared keys: prf(pre-shared-key, Ni_b | Nr_b) (§5).
    public static func skeyidPreShared(_ crypto: some CryptoProvider, _ hash: HashAlgorithm, psk: [UInt8],
                                       ni: [UInt8], nr: [UInt8]) -> [UInt8] {
        crypto.hmac(hash, key: psk, data: ni + nr)
    }

    /// SKEYID_d/a/e (§5) and the cipher key of `keyLength` octets (App. B).
    public static func phase1Keys(_ crypto: some CryptoProvider, _ hash: HashAlgorithm, skeyid: [UInt8], sharedSecret: [UInt8],
                                  cookies: ISAKMPCookies, keyLength: Int) -> IKEv1Phase1Keys {
        let ck = cookies.spi
        let d = crypto.hmac(hash, key: skeyid, data: sharedSecret + ck + [0])
        let a = crypto.hmac(hash, key: skeyid, data: d + sharedSecret + ck + [1])
        let e = crypto.hmac(hash, key: skeyid, data: a + sharedSecret + ck + [2])
        return IKEv1Phase1Keys(skeyid: skeyid, skeyidD: d, skeyidA: a, skeyidE: e,
                               encryptionKey: encryptionKey(crypto, hash, skeyidE: e, length: keyLength))
    }

    /// App. B: the first `length` octets of SKEYID_e, or of Ka = K1 | K2 | … with
    /// K1 = prf(SKEYID_e, 0) and Kn = prf(SKEYID_e, Kn-1) when SKEYID_e is too short.
    public static func encryptionKey(_ crypto: some CryptoProvider, _ hash: HashAlgorithm, skeyidE: [UInt8], length: Int) -> [UInt8] {
        if skeyidE.count >= length { return Array(skeyidE.prefix(length)) }
        var out: [UInt8] = []
        var k: [UInt8] = [0]
        while out.count < length {
            k = crypto.hmac(hash, key: skeyidE, data: k)
            out += k
        }
        return Array(out.prefix(length))
    }

    /// HASH_I = prf(SKEYID, g^xi | g^xr | CKY-I | CKY-R | SAi_b | IDii_b) (§5).
    public static func hashI(_ crypto: some CryptoProvider, _ hash: HashAlgorithm, skeyid: [UInt8], gxi: [UInt8], gxr: [UInt8],
                             cookies: ISAKMPCookies, saiBody: [UInt8], idiiBody: [UInt8]) -> [UInt8] {
        crypto.hmac(hash, key: skeyid, data: gxi + gxr + cookies.spi + saiBody + idiiBody)
    }

    /// HASH_R = prf(SKEYID, g^xr | g^xi | CKY-R | CKY-I | SAi_b | IDir_b) (§5).
    public static func hashR(_ crypto: some CryptoProvider, _ hash: HashAlgorithm, skeyid: [UInt8], gxi: [UInt8], gxr: [UInt8],
                             cookies: ISAKMPCookies, saiBody: [UInt8], idirBody: [UInt8]) -> [UInt8] {
        crypto.hmac(hash, key: skeyid, data: gxr + gxi + cookies.responder.bigEndianBytes + cookies.initiator.bigEndianBytes
                    + saiBody + idirBody)
    }

    /// KEYMAT for one direction (§5.5): K1 = prf(SKEYID_d, [g(qm)^xy |] protocol | SPI | Ni_b | Nr_b),
    /// Kn = prf(SKEYID_d, Kn-1 | [g(qm)^xy |] protocol | SPI | Ni_b | Nr_b), cut to `length`.
    /// `spi` is the SPI the receiver of that direction chose.
    public static func keymat(_ crypto: some CryptoProvider, _ hash: HashAlgorithm, skeyidD: [UInt8], pfsSharedSecret: [UInt8]?,
                              protocolID: UInt8, spi: UInt32, ni: [UInt8], nr: [UInt8], length: Int) -> [UInt8] {
        let seed = (pfsSharedSecret ?? []) + [protocolID] + spi.bigEndianBytes + ni + nr
        var out: [UInt8] = []
        var k: [UInt8] = []
        while out.count < length {
            k = crypto.hmac(hash, key: skeyidD, data: k + seed)
            out += k
        }
        return Array(out.prefix(length))
    }

    /// The IV of the first encrypted phase-1 message: hash(g^xi | g^xr) cut to the block (App. B).
    public static func phase1IV(_ crypto: some CryptoProvider, _ hash: HashAlgorithm, gxi: [UInt8], gxr: [UInt8], blockSize: Int) -> [UInt8] {
        Array(crypto.hash(hash, gxi + gxr).prefix(blockSize))
    }

    /// The first IV of a quick mode or informational exchange: hash(last phase-1 CBC output
    /// block | M-ID) cut to the block (App. B).
    public static func exchangeIV(_ crypto: some CryptoProvider, _ hash: HashAlgorithm, lastPhase1Block: [UInt8], messageID: UInt32,
                                  blockSize: Int) -> [UInt8] {
        Array(crypto.hash(hash, lastPhase1Block + messageID.bigEndianBytes).prefix(blockSize))
    }

    /// HASH(1)/HASH(2) of quick mode and the informational HASH(1): prf(SKEYID_a, M-ID | [Ni_b |] rest) (§5.5, §5.7).
    public static func exchangeHash(_ crypto: some CryptoProvider, _ hash: HashAlgorithm, skeyidA: [UInt8], messageID: UInt32,
                                    prefix: [UInt8] = [], rest: [UInt8]) -> [UInt8] {
        crypto.hmac(hash, key: skeyidA, data: messageID.bigEndianBytes + prefix + rest)
    }

    /// HASH(3) = prf(SKEYID_a, 0 | M-ID | Ni_b | Nr_b) (§5.5).
    public static func quickModeHash3(_ crypto: some CryptoProvider, _ hash: HashAlgorithm, skeyidA: [UInt8], messageID: UInt32,
                                      ni: [UInt8], nr: [UInt8]) -> [UInt8] {
        crypto.hmac(hash, key: skeyidA, data: [0] + messageID.bigEndianBytes + ni + nr)
    }

    /// NAT-D = HASH(CKY-I | CKY-R | IP | Port) with the negotiated hash (RFC 3947 §3.2).
    public static func natDiscovery(_ crypto: some CryptoProvider, _ hash: HashAlgorithm, cookies: ISAKMPCookies,
                                    endpoint: IKEEndpoint) -> [UInt8] {
        var data = cookies.spi + endpoint.address.value.bigEndianBytes
        data.appendU16(endpoint.port)
        return crypto.hash(hash, data)
    }
}
