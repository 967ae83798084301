import CryptoOpenSSL
import IPsecCrypto
import Testing

// IKEv2 key derivation (RFC 7296 §2.13, §2.14, §2.17, §2.18) against NIST CAVP SP 800-135
// "IKEv2" vectors, in the layout the project's IKE spec (§5) re-derived them.

let cavpNi = hex("32b50d5f4a3763f3")
let cavpNr = hex("9206a04b26564cb1")
let cavpSPIi = hex("34c9e7c188868785")
let cavpSPIr = hex("3ff77d760d2b2199")
let cavpGir = hex("4b2c1f971981a8ad8d0abeafabf38cf75fc8349c148142465ed9c8b516b8be52")
let cavpGirNew = hex("863f3c9d06efd39d2b907b97f8699e5dd5251ef64a2a176f36ee40c87d4f9330")

@Test func skeyseedAndKeyMaterialSHA1() throws {
    let skeyseed = provider.hmac(.sha1, key: cavpNi + cavpNr, data: cavpGir)
    #expect(hexString(skeyseed) == "a9a7b222b59f8f48645f28a1db5b5f5d7479cba7")

    let dkm = try provider.prfPlus(.hmacSHA1, key: skeyseed, seed: cavpNi + cavpNr + cavpSPIi + cavpSPIr, length: 132)
    #expect(dkm.count == 132)
    #expect(hexString(dkm.prefix(16)) == "a14293677cc80ff8f9cc0eee30d895da")

    let skD = Array(dkm.prefix(20))
    let childKeymat = try provider.prfPlus(.hmacSHA1, key: skD, seed: cavpNi + cavpNr, length: 64)
    #expect(hexString(childKeymat.prefix(8)) == "8059e3ee8810e6c3")
    let childKeymatPFS = try provider.prfPlus(.hmacSHA1, key: skD, seed: cavpGirNew + cavpNi + cavpNr, length: 64)
    #expect(hexString(childKeymatPFS.prefix(8)) == "bb43244c1860ad65")
    let rekeyed = provider.hmac(.sha1, key: skD, data: cavpGirNew + cavpNi + cavpNr)
    #expect(hexString(rekeyed) == "63e81194946ebd05df7df5ebf5d8750056bf1f1d")
}

@Test func prfPlusSHA256CAVP() throws {
    let output = try provider.prfPlus(.hmacSHA256,
                                      key: hex("37fde90b81d63692620f67367b62092e3efdc6a03509137d731004767ff35010"),
                                      seed: hex("ed80dc79912c32a935fb6d1a3feac07847c1858efc932ea4606fd05609624002"),
                                      length: 132)
    #expect(output.count == 132)
    #expect(hexString(output.prefix(16)) == "63d018a08f7a29daa7d1f92cb63f45fa")
    #expect(hexString(output.suffix(8)) == "ff9f7d4860ca72e0")
}

@Test(arguments: PRFAlgorithm.allCases)
func prfPlusIsAPrefixFamilyAndBounded(_ prf: PRFAlgorithm) throws {
    let key = provider.randomBytes(count: prf.outputLength)
    let seed = provider.randomBytes(count: 40)
    let long = try provider.prfPlus(prf, key: key, seed: seed, length: 3 * prf.outputLength + 5)
    let short = try provider.prfPlus(prf, key: key, seed: seed, length: prf.outputLength + 1)
    #expect(Array(long.prefix(short.count)) == short)
    // T1 = prf(K, S | 0x01)
    #expect(Array(long.prefix(prf.outputLength)) == provider.hmac(prf.hash, key: key, data: seed + [1]))
    #expect(try provider.prfPlus(prf, key: key, seed: seed, length: 0).isEmpty)
    #expect(try provider.prfPlus(prf, key: key, seed: seed, length: 255 * prf.outputLength).count == 255 * prf.outputLength)
    #expect(throws: CryptoError.self) { try provider.prfPlus(prf, key: key, seed: seed, length: 255 * prf.outputLength + 1) }
    #expect(throws: CryptoError.self) { try provider.prfPlus(prf, key: key, seed: seed, length: -1) }
}
