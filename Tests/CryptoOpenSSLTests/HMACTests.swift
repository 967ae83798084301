import CryptoOpenSSL
import IPsecCrypto
import Testing

let provider = OpenSSLCryptoProvider()

struct HMACVector: Sendable, CustomTestStringConvertible {
    let name: String
    let hash: HashAlgorithm
    let key: [UInt8]
    let data: [UInt8]
    let mac: String
    var testDescription: String { name }
}

/// RFC 4231 §4 (HMAC-SHA-2, full output), RFC 2202 §2/§3 (HMAC-MD5 / HMAC-SHA-1).
let hmacVectors: [HMACVector] = [
    HMACVector(name: "RFC 4231 4.2 SHA-256", hash: .sha256, key: [UInt8](repeating: 0x0b, count: 20), data: ascii("Hi There"),
               mac: "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"),
    HMACVector(name: "RFC 4231 4.2 SHA-384", hash: .sha384, key: [UInt8](repeating: 0x0b, count: 20), data: ascii("Hi There"),
               mac: "afd03944d84895626b0825f4ab46907f15f9dadbe4101ec682aa034c7cebc59cfaea9ea9076ede7f4af152e8b2fa9cb6"),
    HMACVector(name: "RFC 4231 4.2 SHA-512", hash: .sha512, key: [UInt8](repeating: 0x0b, count: 20), data: ascii("Hi There"),
               mac: "87aa7cdea5ef619d4ff0b4241a1d6cb02379f4e2ce4ec2787ad0b30545e17cdedaa833b7d6b8a702038b274eaea3f4e4be9d914eeb61f1702e696c203a126854"),
    HMACVector(name: "RFC 4231 4.3 SHA-256", hash: .sha256, key: ascii("Jefe"), data: ascii("what do ya want for nothing?"),
               mac: "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"),
    // Test case 6: a 131-byte key, longer than the block, is hashed first (RFC 2104 §2).
    HMACVector(name: "RFC 4231 4.7 SHA-256", hash: .sha256, key: [UInt8](repeating: 0xaa, count: 131),
               data: ascii("Test Using Larger Than Block-Size Key - Hash Key First"),
               mac: "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"),
    HMACVector(name: "RFC 2202 2 MD5 case 2", hash: .md5, key: ascii("Jefe"), data: ascii("what do ya want for nothing?"),
               mac: "750c783e6ab0b503eaa86e310a5db738"),
    HMACVector(name: "RFC 2202 3 SHA-1 case 1", hash: .sha1, key: [UInt8](repeating: 0x0b, count: 20), data: ascii("Hi There"),
               mac: "b617318655057264e28bc0b6fb378c8ef146be00"),
    HMACVector(name: "RFC 2202 3 SHA-1 case 2", hash: .sha1, key: ascii("Jefe"), data: ascii("what do ya want for nothing?"),
               mac: "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79"),
]

@Test(arguments: hmacVectors)
func hmacKnownAnswer(_ vector: HMACVector) {
    #expect(hexString(provider.hmac(vector.hash, key: vector.key, data: vector.data)) == vector.mac)
}

struct TruncatedHMACVector: Sendable, CustomTestStringConvertible {
    let name: String
    let integrity: IntegrityAlgorithm
    let key: [UInt8]
    let data: [UInt8]
    let icv: String
    var testDescription: String { name }
}

/// RFC 4868 §2.7.2 AUTH vectors: keys as long as the hash output, ICV = leading bytes.
let truncatedVectors: [TruncatedHMACVector] = [
    TruncatedHMACVector(name: "AUTH256-1", integrity: .hmacSHA256_128, key: [UInt8](repeating: 0x0b, count: 32),
                        data: ascii("Hi There"), icv: "198a607eb44bfbc69903a0f1cf2bbdc5"),
    TruncatedHMACVector(name: "AUTH256-2", integrity: .hmacSHA256_128, key: Array(repeating: ascii("Jefe"), count: 8).flatMap { $0 },
                        data: ascii("what do ya want for nothing?"), icv: "167f928588c5cc2eef8e3093caa0e87c"),
    TruncatedHMACVector(name: "AUTH384-1", integrity: .hmacSHA384_192, key: [UInt8](repeating: 0x0b, count: 48),
                        data: ascii("Hi There"), icv: "b6a8d5636f5c6a7224f9977dcf7ee6c7fb6d0c48cbdee973"),
    TruncatedHMACVector(name: "AUTH512-1", integrity: .hmacSHA512_256, key: [UInt8](repeating: 0x0b, count: 64),
                        data: ascii("Hi There"), icv: "637edc6e01dce7e6742a99451aae82df23da3e92439e590e43e761b33e910fb8"),
]

@Test(arguments: truncatedVectors)
func truncatedIntegrityKnownAnswer(_ vector: TruncatedHMACVector) {
    #expect(vector.key.count == vector.integrity.keyLength)
    let mac = provider.hmac(vector.integrity.hash, key: vector.key, data: vector.data)
    #expect(hexString(mac.prefix(vector.integrity.icvLength)) == vector.icv)
}

@Test func hmacAcceptsEmptyKeyAndData() {
    // RFC 2104 allows any key length, including zero; known value from OpenSSL's CLI.
    let mac = provider.hmac(.sha256, key: [], data: [])
    #expect(hexString(mac) == "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad")
}

struct DigestVector: Sendable {
    let hash: HashAlgorithm
    let digest: String
}

/// FIPS 180-4 / RFC 1321 digests of "abc".
@Test(arguments: [
    DigestVector(hash: .md5, digest: "900150983cd24fb0d6963f7d28e17f72"),
    DigestVector(hash: .sha1, digest: "a9993e364706816aba3e25717850c26c9cd0d89d"),
    DigestVector(hash: .sha256, digest: "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
    DigestVector(hash: .sha384, digest: "cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed8086072ba1e7cc2358baeca134c825a7"),
    DigestVector(hash: .sha512, digest: "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f"),
])
func digestKnownAnswer(_ vector: DigestVector) {
    let digest = provider.hash(vector.hash, ascii("abc"))
    #expect(digest.count == vector.hash.digestLength)
    #expect(hexString(digest) == vector.digest)
}

@Test func randomBytesHaveRequestedLengthAndDiffer() {
    #expect(provider.randomBytes(count: 0).isEmpty)
    #expect(provider.randomBytes(count: -5).isEmpty)
    let a = provider.randomBytes(count: 32)
    let b = provider.randomBytes(count: 32)
    #expect(a.count == 32 && b.count == 32)
    #expect(a != b)
}
