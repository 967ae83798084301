import CryptoOpenSSL
import IPsecCrypto
import Testing

struct CBCVector: Sendable, CustomTestStringConvertible {
    let name: String
    let algorithm: EncryptionAlgorithm
    let key: String
    let iv: String
    let plaintext: [UInt8]
    let ciphertext: String
    var testDescription: String { name }
}

/// RFC 3602 §4 cases 1–4 (AES-128-CBC) and NIST SP 800-38A F.2.3 / F.2.5 (AES-192/256-CBC,
/// first block).
let cbcVectors: [CBCVector] = [
    CBCVector(name: "RFC 3602 case 1", algorithm: .aesCBC, key: "06a9214036b8a15b512e03d534120006",
              iv: "3dafba429d9eb430b422da802c9fac41", plaintext: ascii("Single block msg"),
              ciphertext: "e353779c1079aeb82708942dbe77181a"),
    CBCVector(name: "RFC 3602 case 2", algorithm: .aesCBC, key: "c286696d887c9aa0611bbb3e2025a45a",
              iv: "562e17996d093d28ddb3ba695a2e6f58", plaintext: Array(0...31),
              ciphertext: "d296cd94c2cccf8a3a863028b5e1dc0a7586602d253cfff91b8266bea6d61ab1"),
    CBCVector(name: "RFC 3602 case 3", algorithm: .aesCBC, key: "6c3ea0477630ce21a2ce334aa746c2cd",
              iv: "c782dc4c098c66cbd9cd27d825682c81", plaintext: ascii("This is a 48-byte message (exactly 3 AES blocks)"),
              ciphertext: "d0a02b3836451753d493665d33f0e8862dea54cdb293abc7506939276772f8d5021c19216bad525c8579695d83ba2684"),
    CBCVector(name: "RFC 3602 case 4", algorithm: .aesCBC, key: "56e47a38c5598974bc46903dba290349",
              iv: "8ce82eefbea0da3c44699ed7db51b7d9", plaintext: Array(0xa0...0xdf),
              ciphertext: "c30e32ffedc0774e6aff6af0869f71aa0f3af07a9a31a9c684db207eb0ef8e4e35907aa632c3ffdf868bb7b29d3d46ad83ce9f9a102ee99d49a53e87f4c3da55"),
    CBCVector(name: "SP 800-38A F.2.3 AES-192", algorithm: .aesCBC, key: "8e73b0f7da0e6452c810f32b809079e562f8ead2522c6b7b",
              iv: "000102030405060708090a0b0c0d0e0f", plaintext: hex("6bc1bee22e409f96e93d7e117393172a"),
              ciphertext: "4f021db243bc633d7178183a9fa071e8"),
    CBCVector(name: "SP 800-38A F.2.5 AES-256", algorithm: .aesCBC, key: "603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4",
              iv: "000102030405060708090a0b0c0d0e0f", plaintext: hex("6bc1bee22e409f96e93d7e117393172a"),
              ciphertext: "f58c4c04d6e5f1ba779eabfb5f7bfbd6"),
]

@Test(arguments: cbcVectors)
func cbcKnownAnswer(_ vector: CBCVector) throws {
    let encrypted = try provider.cbcEncrypt(vector.algorithm, key: hex(vector.key), iv: hex(vector.iv), plaintext: vector.plaintext)
    #expect(hexString(encrypted) == vector.ciphertext)
    let decrypted = try provider.cbcDecrypt(vector.algorithm, key: hex(vector.key), iv: hex(vector.iv), ciphertext: hex(vector.ciphertext))
    #expect(decrypted == vector.plaintext)
}

/// NIST SP 800-67 Rev. 2 example (TDEA, three keys, "The qufck brown fox jump" in ECB).
/// CBC of a single block with a zero IV is ECB, so each block is checked on its own.
@Test func tripleDESKnownAnswer() throws {
    let key = hex("0123456789abcdef 23456789abcdef01 456789abcdef0123")
    let plaintext = ascii("The qufck brown fox jump")
    let ecb = hex("a826fd8ce53b855f cce21c8112256fe6 68d5c05dd9b6b900")
    let zeroIV = [UInt8](repeating: 0, count: 8)
    for block in 0..<3 {
        let range = block * 8..<(block + 1) * 8
        #expect(try provider.cbcEncrypt(.tripleDESCBC, key: key, iv: zeroIV, plaintext: Array(plaintext[range])) == Array(ecb[range]))
        #expect(try provider.cbcDecrypt(.tripleDESCBC, key: key, iv: zeroIV, ciphertext: Array(ecb[range])) == Array(plaintext[range]))
    }
    // Chaining: the whole message in CBC round-trips and its first block is still ECB's.
    let chained = try provider.cbcEncrypt(.tripleDESCBC, key: key, iv: zeroIV, plaintext: plaintext)
    #expect(Array(chained.prefix(8)) == Array(ecb.prefix(8)))
    #expect(try provider.cbcDecrypt(.tripleDESCBC, key: key, iv: zeroIV, ciphertext: chained) == plaintext)
}

struct CBCMisuse: Sendable, CustomTestStringConvertible {
    let name: String
    let algorithm: EncryptionAlgorithm
    let keyLength: Int
    let ivLength: Int
    let inputLength: Int
    let expected: CryptoError.Code
    var testDescription: String { name }
}

@Test(arguments: [
    CBCMisuse(name: "AES key 15", algorithm: .aesCBC, keyLength: 15, ivLength: 16, inputLength: 16, expected: .invalidKeyLength),
    CBCMisuse(name: "AES key 0", algorithm: .aesCBC, keyLength: 0, ivLength: 16, inputLength: 16, expected: .invalidKeyLength),
    CBCMisuse(name: "3DES key 16", algorithm: .tripleDESCBC, keyLength: 16, ivLength: 8, inputLength: 8, expected: .invalidKeyLength),
    CBCMisuse(name: "AES IV 8", algorithm: .aesCBC, keyLength: 16, ivLength: 8, inputLength: 16, expected: .invalidIVLength),
    CBCMisuse(name: "3DES IV 16", algorithm: .tripleDESCBC, keyLength: 24, ivLength: 16, inputLength: 8, expected: .invalidIVLength),
    CBCMisuse(name: "AES ragged input", algorithm: .aesCBC, keyLength: 32, ivLength: 16, inputLength: 17, expected: .invalidInputLength),
    CBCMisuse(name: "3DES ragged input", algorithm: .tripleDESCBC, keyLength: 24, ivLength: 8, inputLength: 12, expected: .invalidInputLength),
    CBCMisuse(name: "GCM is not CBC", algorithm: .aesGCM16, keyLength: 16, ivLength: 16, inputLength: 16, expected: .unsupportedAlgorithm),
])
func cbcRejectsMisuse(_ misuse: CBCMisuse) {
    let key = [UInt8](repeating: 1, count: misuse.keyLength)
    let iv = [UInt8](repeating: 2, count: misuse.ivLength)
    let input = [UInt8](repeating: 3, count: misuse.inputLength)
    #expect(throws: CryptoError(misuse.expected)) {
        do { _ = try provider.cbcEncrypt(misuse.algorithm, key: key, iv: iv, plaintext: input) } catch let error as CryptoError {
            throw CryptoError(error.code)
        }
    }
    #expect(throws: CryptoError(misuse.expected)) {
        do { _ = try provider.cbcDecrypt(misuse.algorithm, key: key, iv: iv, ciphertext: input) } catch let error as CryptoError {
            throw CryptoError(error.code)
        }
    }
}

@Test func cbcOfNothingIsNothing() throws {
    #expect(try provider.cbcEncrypt(.aesCBC, key: [UInt8](repeating: 0, count: 16), iv: [UInt8](repeating: 0, count: 16), plaintext: []).isEmpty)
}

struct GCMVector: Sendable, CustomTestStringConvertible {
    let name: String
    let key: String
    let nonce: String      // salt ‖ IV as RFC 4106 builds it
    let aad: String
    let plaintext: String
    let ciphertext: String
    let tag: String
    var testDescription: String { name }
}

/// McGrew & Viega, "The Galois/Counter Mode of Operation", test cases 2, 3, 4, 14, 16.
let gcmVectors: [GCMVector] = [
    GCMVector(name: "GCM TC2", key: "00000000000000000000000000000000", nonce: "000000000000000000000000", aad: "",
              plaintext: "00000000000000000000000000000000", ciphertext: "0388dace60b6a392f328c2b971b2fe78",
              tag: "ab6e47d42cec13bdf53a67b21257bddf"),
    GCMVector(name: "GCM TC3", key: "feffe9928665731c6d6a8f9467308308", nonce: "cafebabefacedbaddecaf888", aad: "",
              plaintext: "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b391aafd255",
              ciphertext: "42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e21d514b25466931c7d8f6a5aac84aa051ba30b396a0aac973d58e091473f5985",
              tag: "4d5c2af327cd64a62cf35abd2ba6fab4"),
    GCMVector(name: "GCM TC4", key: "feffe9928665731c6d6a8f9467308308", nonce: "cafebabefacedbaddecaf888",
              aad: "feedfacedeadbeeffeedfacedeadbeefabaddad2",
              plaintext: "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39",
              ciphertext: "42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e21d514b25466931c7d8f6a5aac84aa051ba30b396a0aac973d58e091",
              tag: "5bc94fbc3221a5db94fae95ae7121a47"),
    GCMVector(name: "GCM TC14", key: "0000000000000000000000000000000000000000000000000000000000000000", nonce: "000000000000000000000000",
              aad: "", plaintext: "00000000000000000000000000000000", ciphertext: "cea7403d4d606b6e074ec5d3baf39d18",
              tag: "d0d1c8a799996bf0265b98b5d48ab919"),
    GCMVector(name: "GCM TC16", key: "feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308", nonce: "cafebabefacedbaddecaf888",
              aad: "feedfacedeadbeeffeedfacedeadbeefabaddad2",
              plaintext: "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39",
              ciphertext: "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662",
              tag: "76fc6ece0f4e1768cddf8853bb2d551b"),
]

@Test(arguments: gcmVectors)
func gcmKnownAnswer(_ vector: GCMVector) throws {
    let sealed = try provider.gcmSeal(key: hex(vector.key), nonce: hex(vector.nonce), aad: hex(vector.aad), plaintext: hex(vector.plaintext))
    #expect(hexString(sealed) == vector.ciphertext + vector.tag)
    let opened = try provider.gcmOpen(key: hex(vector.key), nonce: hex(vector.nonce), aad: hex(vector.aad), ciphertextAndTag: sealed)
    #expect(opened == hex(vector.plaintext))
}

@Test(arguments: gcmVectors)
func gcmOpenRejectsAnyFlippedBit(_ vector: GCMVector) throws {
    let key = hex(vector.key), nonce = hex(vector.nonce), aad = hex(vector.aad)
    let sealed = hex(vector.ciphertext + vector.tag)
    // Flip one bit in every byte of ciphertext and tag, and in the AAD.
    for index in sealed.indices {
        var forged = sealed
        forged[index] ^= 0x01
        #expect(throws: CryptoError(.authenticationFailed, "AES-GCM tag mismatch")) {
            try provider.gcmOpen(key: key, nonce: nonce, aad: aad, ciphertextAndTag: forged)
        }
    }
    #expect(throws: CryptoError(.authenticationFailed, "AES-GCM tag mismatch")) {
        try provider.gcmOpen(key: key, nonce: nonce, aad: aad + [0], ciphertextAndTag: sealed)
    }
}

@Test func gcmRejectsBadLengths() {
    let key = [UInt8](repeating: 0, count: 16)
    let nonce = [UInt8](repeating: 0, count: 12)
    #expect(throws: CryptoError.self) { try provider.gcmSeal(key: [UInt8](repeating: 0, count: 20), nonce: nonce, aad: [], plaintext: [1]) }
    #expect(throws: CryptoError.self) { try provider.gcmSeal(key: key, nonce: [UInt8](repeating: 0, count: 8), aad: [], plaintext: [1]) }
    for length in 0..<16 {
        #expect(throws: CryptoError.self) {
            try provider.gcmOpen(key: key, nonce: nonce, aad: [], ciphertextAndTag: [UInt8](repeating: 0, count: length))
        }
    }
}

@Test func gcmSealsEmptyPlaintext() throws {
    // GMAC-only use: 16-byte tag, and it verifies.
    let key = [UInt8](repeating: 7, count: 32), nonce = [UInt8](repeating: 9, count: 12)
    let sealed = try provider.gcmSeal(key: key, nonce: nonce, aad: [1, 2, 3], plaintext: [])
    #expect(sealed.count == 16)
    #expect(try provider.gcmOpen(key: key, nonce: nonce, aad: [1, 2, 3], ciphertextAndTag: sealed).isEmpty)
}
