import IKE
import IPsecCrypto
import Testing

/// NIST CAVP SP 800-135 IKEv2 vector (HMAC-SHA1), as shipped in libreswan
/// `programs/cavp/test.acvp.ikev2.run` (spec §5).
enum CAVP {
    static let ni = hex("32b50d5f4a3763f3")
    static let nr = hex("9206a04b26564cb1")
    static let gir = hex("4b2c1f971981a8ad8d0abeafabf38cf75fc8349c148142465ed9c8b516b8be52")
    static let girNew = hex("863f3c9d06efd39d2b907b97f8699e5dd5251ef64a2a176f36ee40c87d4f9330")
    static let spiI: UInt64 = 0x34c9e7c188868785
    static let spiR: UInt64 = 0x3ff77d760d2b2199
    static let skeyseed = hex("a9a7b222b59f8f48645f28a1db5b5f5d7479cba7")
    static let dkm = hex("""
        a14293677cc80ff8f9cc0eee30d895da9d8f405666e30ef0dfcb63c634a46002a2a63080e514a062768b76606f9fa5e9\
        92204fc5a670bde3f10d6b027113936a5c55b648a194ae587b0088d52204b702c979fa280870d2ed41efa9c549fd1119\
        8af1670b143d384bd275c5f594cf266b05ebadca855e4249520a441a81157435a7a56cc4
        """)
    static let childDKM = hex("""
        8059e3ee8810e6c3a91bc8bcd2a7a41151b8d0e6ae239c7b38093ad85ef4c5811a8e7b5d1cdabd9560b2d5e092d1f24e\
        2d4b85eccdf0ad0dc9abd94b51ee71814ca6dbc8bb51b6309f5b9545c7eb35cf5580b1e521a8fe20754a2d883ba0c2cf\
        285f524aea6545b33106bc03e614296d319d41d4b50b3f510b1c0a22f3e664994d234cb4
        """)
    static let childDKMWithDH = hex("""
        bb43244c1860ad65ee1e211ffe8bb3661750c8f89cb9f547df7f4fa61d37301628190e38c66232eab4b3ab14c400a519\
        7dd3730ed4820a8a10394d51e1c0400052f63ebd36b0e7ef53aaed31eba4a5080d7d4b5666023a8bbb5ffb7857240f9a\
        05884d1b7d2f933708450b7b3288f1fc863ab49fa901227cffc06e27899c7054d56fd74c
        """)
    static let rekeySkeyseed = hex("63e81194946ebd05df7df5ebf5d8750056bf1f1d")
}

@Suite("Key derivation (RFC 7296 §2.13, §2.14, §2.17, §2.18)")
struct KeyDerivationTests {
    @Test func skeyseedMatchesCAVP() {
        #expect(KeyDerivation.skeyseed(openSSL, prf: .hmacSHA1, ni: CAVP.ni, nr: CAVP.nr, sharedSecret: CAVP.gir) == CAVP.skeyseed)
    }

    /// AES-CBC-128 + HMAC-SHA1-96 + PRF-HMAC-SHA1 needs exactly the 132 octets of the vector:
    /// 3×20 (SK_d, SK_pi, SK_pr) + 2×20 (SK_a) + 2×16 (SK_e).
    @Test func sevenSecretsSplitTheCAVPKeyMaterial() throws {
        #expect(CAVP.dkm.count == 132)
        let suite = IKESuite(encryption: .aesCBC, keyLength: 16, prf: .hmacSHA1, integrity: .hmacSHA1_96, dhGroup: .modp2048)
        let k = try KeyDerivation.ikeKeys(openSSL, suite: suite, skeyseed: CAVP.skeyseed, ni: CAVP.ni, nr: CAVP.nr,
                                          spiI: CAVP.spiI, spiR: CAVP.spiR)
        #expect(k.skD + k.skAi + k.skAr + k.skEi + k.skEr + k.skPi + k.skPr == CAVP.dkm)
        #expect(k.skD == Array(CAVP.dkm[0..<20]))
        #expect(k.skEi == Array(CAVP.dkm[60..<76]))
        #expect(k.skPr == Array(CAVP.dkm[112..<132]))
    }

    @Test func childKeysWithoutPFS() throws {
        let skD = Array(CAVP.dkm[0..<20])
        let suite = ESPSuite(encryption: .aesCBC, keyLength: 16, integrity: .hmacSHA1_96)
        let k = try KeyDerivation.childKeys(openSSL, prf: .hmacSHA1, skD: skD, sharedSecret: nil, ni: CAVP.ni, nr: CAVP.nr, suite: suite)
        let all = k.initiatorToResponder.encryption + k.initiatorToResponder.integrity
            + k.responderToInitiator.encryption + k.responderToInitiator.integrity
        #expect(all == Array(CAVP.childDKM.prefix(72)))
    }

    @Test func childKeysWithPFS() throws {
        let skD = Array(CAVP.dkm[0..<20])
        let suite = ESPSuite(encryption: .aesGCM16, keyLength: 32, integrity: nil, dhGroup: .curve25519)
        let k = try KeyDerivation.childKeys(openSSL, prf: .hmacSHA1, skD: skD, sharedSecret: CAVP.girNew, ni: CAVP.ni, nr: CAVP.nr, suite: suite)
        // GCM: key ‖ 4-octet salt per direction, no integrity keys (RFC 4106 §8.1).
        #expect(k.initiatorToResponder.encryption.count == 36)
        #expect(k.initiatorToResponder.integrity.isEmpty)
        #expect(k.initiatorToResponder.encryption + k.responderToInitiator.encryption == Array(CAVP.childDKMWithDH.prefix(72)))
    }

    @Test func ikeRekeySkeyseed() {
        let skD = Array(CAVP.dkm[0..<20])
        #expect(KeyDerivation.rekeySkeyseed(openSSL, oldPRF: .hmacSHA1, oldSKd: skD, sharedSecret: CAVP.girNew,
                                            ni: CAVP.ni, nr: CAVP.nr) == CAVP.rekeySkeyseed)
    }

    /// CAVP prf+ with HMAC-SHA-256 (spec §5, strongSwan kdf_prf_plus.c).
    @Test func prfPlusSHA256() throws {
        let out = try openSSL.prfPlus(.hmacSHA256, key: hex("37fde90b81d63692620f67367b62092e3efdc6a03509137d731004767ff35010"),
                                      seed: hex("ed80dc79912c32a935fb6d1a3feac07847c1858efc932ea4606fd05609624002"), length: 132)
        #expect(hexString(out.prefix(16)) == "63d018a08f7a29daa7d1f92cb63f45fa")
        #expect(hexString(out.suffix(8)) == "ff9f7d4860ca72e0")
    }

    /// AUTH for PSK (§2.15) recomputed from its definition with plain HMAC calls.
    @Test func pskAuthenticationFollowsTheFormula() {
        let id = IdentificationPayload.fqdn("client.example")
        let skP = [UInt8](repeating: 7, count: 32)
        let message = [UInt8](repeating: 1, count: 40)
        let nonce = [UInt8](repeating: 2, count: 32)
        let inner = openSSL.hmac(.sha256, key: skP, data: id.body)
        let pad = openSSL.hmac(.sha256, key: psk, data: Array("Key Pad for IKEv2".utf8))
        let expected = openSSL.hmac(.sha256, key: pad, data: message + nonce + inner)
        let got = PSKAuthentication.authData(openSSL, prf: .hmacSHA256, psk: psk, realMessage: message, peerNonce: nonce, skP: skP, identity: id)
        #expect(got == expected)
        #expect(PSKAuthentication.verify(AuthenticationPayload(method: 2, data: got), openSSL, prf: .hmacSHA256, psk: psk,
                                         realMessage: message, peerNonce: nonce, skP: skP, identity: id))
        #expect(!PSKAuthentication.verify(AuthenticationPayload(method: 2, data: got), openSSL, prf: .hmacSHA256, psk: Array("correct horse battery stapler".utf8),
                                          realMessage: message, peerNonce: nonce, skP: skP, identity: id))
        #expect(!PSKAuthentication.verify(AuthenticationPayload(method: 1, data: got), openSSL, prf: .hmacSHA256, psk: psk,
                                          realMessage: message, peerNonce: nonce, skP: skP, identity: id))
    }

    /// NAT_DETECTION hash (§2.23) is SHA-1 over SPIi | SPIr | IP | port.
    @Test func natDetectionHash() {
        let h = NATDetection.hash(openSSL, spiI: 0x0102030405060708, spiR: 0, endpoint: IKEEndpoint(vip, 4500))
        let data: [UInt8] = [1, 2, 3, 4, 5, 6, 7, 8, 0, 0, 0, 0, 0, 0, 0, 0, 203, 0, 113, 100, 0x11, 0x94]
        #expect(h == openSSL.hash(.sha1, data))
    }
}
