import CryptoOpenSSL
import IPsecCrypto
import Testing

// The keyed, in-place contexts must give exactly the stateless API's answers, packet after
// packet (the key schedule and HMAC key are reused, only IV/nonce and state are reset).

/// Forwards the stateless API only, so the protocol's default (array-based) keyed
/// implementations are what gets tested through it.
struct StatelessOnly: CryptoProvider {
    let base = OpenSSLCryptoProvider()
    func randomBytes(count: Int) -> [UInt8] { base.randomBytes(count: count) }
    func makeKeyExchange(group: DHGroup) throws -> any KeyExchange { try base.makeKeyExchange(group: group) }
    func hash(_ algorithm: HashAlgorithm, _ data: [UInt8]) -> [UInt8] { base.hash(algorithm, data) }
    func hmac(_ algorithm: HashAlgorithm, key: [UInt8], data: [UInt8]) -> [UInt8] { base.hmac(algorithm, key: key, data: data) }
    func cbcEncrypt(_ algorithm: EncryptionAlgorithm, key: [UInt8], iv: [UInt8], plaintext: [UInt8]) throws -> [UInt8] {
        try base.cbcEncrypt(algorithm, key: key, iv: iv, plaintext: plaintext)
    }
    func cbcDecrypt(_ algorithm: EncryptionAlgorithm, key: [UInt8], iv: [UInt8], ciphertext: [UInt8]) throws -> [UInt8] {
        try base.cbcDecrypt(algorithm, key: key, iv: iv, ciphertext: ciphertext)
    }
    func gcmSeal(key: [UInt8], nonce: [UInt8], aad: [UInt8], plaintext: [UInt8]) throws -> [UInt8] {
        try base.gcmSeal(key: key, nonce: nonce, aad: aad, plaintext: plaintext)
    }
    func gcmOpen(key: [UInt8], nonce: [UInt8], aad: [UInt8], ciphertextAndTag: [UInt8]) throws -> [UInt8] {
        try base.gcmOpen(key: key, nonce: nonce, aad: aad, ciphertextAndTag: ciphertextAndTag)
    }
}

enum Backend: String, CaseIterable, Sendable {
    case openSSLKeyed, protocolDefault
    func cipher(_ algorithm: EncryptionAlgorithm, key: [UInt8]) throws -> any KeyedCipher {
        switch self {
        case .openSSLKeyed: try provider.makeKeyedCipher(algorithm, key: key)
        case .protocolDefault: try StatelessOnly().makeKeyedCipher(algorithm, key: key)
        }
    }
    func mac(_ algorithm: HashAlgorithm, key: [UInt8]) throws -> any KeyedMAC {
        switch self {
        case .openSSLKeyed: try provider.makeKeyedMAC(algorithm, key: key)
        case .protocolDefault: try StatelessOnly().makeKeyedMAC(algorithm, key: key)
        }
    }
}

struct CBCSetup: Sendable, CustomTestStringConvertible {
    let algorithm: EncryptionAlgorithm
    let keyLength: Int
    var testDescription: String { "\(algorithm) \(keyLength * 8)" }
}

@Test(arguments: [CBCSetup(algorithm: .aesCBC, keyLength: 16), CBCSetup(algorithm: .aesCBC, keyLength: 24),
                  CBCSetup(algorithm: .aesCBC, keyLength: 32), CBCSetup(algorithm: .tripleDESCBC, keyLength: 24)],
      Backend.allCases)
func keyedCBCMatchesStateless(_ setup: CBCSetup, _ backend: Backend) throws {
    let key = provider.randomBytes(count: setup.keyLength)
    let cipher = try backend.cipher(setup.algorithm, key: key)
    for blocks in 0..<40 {
        let iv = provider.randomBytes(count: setup.algorithm.blockSize)
        let plaintext = provider.randomBytes(count: blocks * setup.algorithm.blockSize)
        var buffer = plaintext
        try iv.withUnsafeBytes { ivBytes in
            try buffer.withUnsafeMutableBytes { try cipher.cbcEncrypt(iv: ivBytes, data: $0) }
        }
        #expect(buffer == (try provider.cbcEncrypt(setup.algorithm, key: key, iv: iv, plaintext: plaintext)))
        try iv.withUnsafeBytes { ivBytes in
            try buffer.withUnsafeMutableBytes { try cipher.cbcDecrypt(iv: ivBytes, data: $0) }
        }
        #expect(buffer == plaintext)
    }
}

@Test(arguments: [16, 24, 32], Backend.allCases)
func keyedGCMMatchesStateless(_ keyLength: Int, _ backend: Backend) throws {
    let key = provider.randomBytes(count: keyLength)
    let cipher = try backend.cipher(.aesGCM16, key: key)
    for length in [0, 1, 4, 15, 16, 17, 100, 1400] {
        let nonce = provider.randomBytes(count: 12)
        let aad = provider.randomBytes(count: 8)
        let plaintext = provider.randomBytes(count: length)
        var buffer = plaintext
        var tag = [UInt8](repeating: 0, count: 16)
        try nonce.withUnsafeBytes { n in
            try aad.withUnsafeBytes { a in
                try buffer.withUnsafeMutableBytes { d in
                    try tag.withUnsafeMutableBytes { t in try cipher.gcmSeal(nonce: n, aad: a, data: d, tag: t) }
                }
            }
        }
        #expect(buffer + tag == (try provider.gcmSeal(key: key, nonce: nonce, aad: aad, plaintext: plaintext)))

        // A flipped tag bit fails, and the context still works for the genuine packet after.
        var forgedTag = tag
        forgedTag[0] ^= 1
        var forged = buffer
        #expect(throws: CryptoError.self) {
            try nonce.withUnsafeBytes { n in
                try aad.withUnsafeBytes { a in
                    try forged.withUnsafeMutableBytes { d in
                        try forgedTag.withUnsafeBytes { t in try cipher.gcmOpen(nonce: n, aad: a, data: d, tag: t) }
                    }
                }
            }
        }
        try nonce.withUnsafeBytes { n in
            try aad.withUnsafeBytes { a in
                try buffer.withUnsafeMutableBytes { d in
                    try tag.withUnsafeBytes { t in try cipher.gcmOpen(nonce: n, aad: a, data: d, tag: t) }
                }
            }
        }
        #expect(buffer == plaintext)
    }
}

@Test(arguments: HashAlgorithm.allCases, Backend.allCases)
func keyedMACMatchesHMAC(_ algorithm: HashAlgorithm, _ backend: Backend) throws {
    for keyLength in [0, 16, algorithm.digestLength, 200] {
        let key = provider.randomBytes(count: keyLength)
        let mac = try backend.mac(algorithm, key: key)
        for length in [0, 1, 63, 64, 65, 1500] {
            let data = provider.randomBytes(count: length)
            let expected = provider.hmac(algorithm, key: key, data: data)
            for outputLength in [algorithm.digestLength, 12] {
                var output = [UInt8](repeating: 0, count: outputLength)
                try data.withUnsafeBytes { d in try output.withUnsafeMutableBytes { try mac.authenticate(d, into: $0) } }
                #expect(output == Array(expected.prefix(outputLength)))
            }
        }
    }
}

@Test func keyedContextsRejectMisuse() throws {
    #expect(throws: CryptoError.self) { try provider.makeKeyedCipher(.aesCBC, key: [1, 2, 3]) }
    #expect(throws: CryptoError.self) { try provider.makeKeyedCipher(.tripleDESCBC, key: [UInt8](repeating: 0, count: 16)) }
    let cbc = try provider.makeKeyedCipher(.aesCBC, key: [UInt8](repeating: 0, count: 16))
    var ragged = [UInt8](repeating: 0, count: 17)
    let iv = [UInt8](repeating: 0, count: 16)
    #expect(throws: CryptoError.self) {
        try iv.withUnsafeBytes { i in try ragged.withUnsafeMutableBytes { try cbc.cbcEncrypt(iv: i, data: $0) } }
    }
    var block = [UInt8](repeating: 0, count: 16)
    var tag = [UInt8](repeating: 0, count: 16)
    #expect(throws: CryptoError.self) {
        try iv.withUnsafeBytes { n in
            try block.withUnsafeMutableBytes { d in try tag.withUnsafeMutableBytes { try cbc.gcmSeal(nonce: n, aad: n, data: d, tag: $0) } }
        }
    }
    let mac = try provider.makeKeyedMAC(.sha1, key: [1])
    var tooLong = [UInt8](repeating: 0, count: 21)
    #expect(throws: CryptoError.self) {
        try block.withUnsafeBytes { d in try tooLong.withUnsafeMutableBytes { try mac.authenticate(d, into: $0) } }
    }
}
