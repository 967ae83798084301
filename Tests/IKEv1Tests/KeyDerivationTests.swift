import IKE
import IPsecCrypto
import Testing

/// Known answers for RFC 2409 key derivation. SKEYID and SKEYID_d/a/e are the NIST CAVP
/// SP 800-135 IKEv1 PSK vector (spec §5, libreswan `test.acvp.ikev1_psk.run`); the App. B
/// expansion, KEYMAT and IV values were computed independently with Python's `hmac`/`hashlib`
/// from the RFC formulas over the same inputs.
struct KeyDerivationTests {
    static let cookies = ISAKMPCookies(initiator: 0x83d3_74c3_0b3b_5082, responder: 0x5afc_0da0_6c72_8029)
    static let ni = hex("b9a2d0e922dc66dd")
    static let nr = hex("2130166863b5ddef")
    static let gxy = hex("739003ba2c11c982946c65e26acf661fbf8ebb78011a9fead79efa12fe3e71cc")

    static func keys(length: Int) -> IKEv1Phase1Keys {
        let skeyid = IKEv1KeyDerivation.skeyidPreShared(openSSL, .sha1, psk: hex("75"), ni: ni, nr: nr)
        return IKEv1KeyDerivation.phase1Keys(openSSL, .sha1, skeyid: skeyid, sharedSecret: gxy, cookies: cookies, keyLength: length)
    }

    @Test func cavpSKEYIDVector() {
        let k = Self.keys(length: 16)
        #expect(hexString(k.skeyid) == "62b04d112877e442fc3282fc37c076997718a0b9")
        #expect(hexString(k.skeyidD) == "369e5aad1bdb5faf6a3d929d500cdc236710a9ab")
        #expect(hexString(k.skeyidA) == "588e957d8d790d093b3a39f121473473af78e9bb")
        #expect(hexString(k.skeyidE) == "cd74b0c048219db81384d3fda8f6cda51e398a2b")
    }

    /// App. B: AES-128 takes SKEYID_e's first 16 octets; 3DES needs 24 > 20 and expands.
    @Test(arguments: [
        (16, "cd74b0c048219db81384d3fda8f6cda5"),
        (24, "9ce3201d5c6cf897a6cba863e68c634d8d63805d1f20e30b"),
    ])
    func encryptionKeyExpansion(length: Int, expected: String) {
        #expect(hexString(Self.keys(length: length).encryptionKey) == expected)
    }

    @Test(arguments: [
        (nil as String?, 44, "599ec4ec968cebf223fd97f2b8458d6601bf794ffba45f77516d9b22bf32c418f38b14e2e058bb061da183f0"),
        ("00112233445566778899aabbccddeeff", 36, "1323ec6518bb9835b16391dd32c989a2ceb57e91f7240b3d08a9b76cd2bc30e99a63e21e"),
    ])
    func keymat(pfs: String?, length: Int, expected: String) {
        let k = Self.keys(length: 16)
        let keymat = IKEv1KeyDerivation.keymat(openSSL, .sha1, skeyidD: k.skeyidD, pfsSharedSecret: pfs.map(hex),
                                               protocolID: ISAKMPProtocolID.ipsecESP, spi: 0x1234_5678, ni: Self.ni, nr: Self.nr,
                                               length: length)
        #expect(hexString(keymat) == expected)
    }

    @Test func ivDerivation() {
        let gxi = (0..<128).map { UInt8($0) }
        let gxr = (128..<256).map { UInt8($0) }
        #expect(hexString(IKEv1KeyDerivation.phase1IV(openSSL, .sha1, gxi: gxi, gxr: gxr, blockSize: 8)) == "4916d6bdb7f78e68")
        #expect(hexString(IKEv1KeyDerivation.exchangeIV(openSSL, .sha1, lastPhase1Block: hex("0102030405060708"),
                                                        messageID: 0xdead_beef, blockSize: 8)) == "5132d5676b203f2e")
    }
}
