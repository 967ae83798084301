import CryptoOpenSSL
import ESP
import IPsecCrypto
import SLBWire

let crypto = OpenSSLCryptoProvider()

func hex(_ text: String) -> [UInt8] {
    let digits = Array(text.filter { !$0.isWhitespace })
    precondition(digits.count % 2 == 0, "odd-length hex literal")
    return stride(from: 0, to: digits.count, by: 2).map { index in
        guard let byte = UInt8(String(digits[index...index + 1]), radix: 16) else { preconditionFailure("bad hex literal") }
        return byte
    }
}

func hexString(_ bytes: some Sequence<UInt8>) -> String {
    bytes.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
}

/// The OpenSSL provider with `randomBytes` replaced by a fixed pattern, so CBC packets are
/// reproducible byte for byte.
struct FixedRandomProvider: CryptoProvider {
    let fixed: [UInt8]
    let base = OpenSSLCryptoProvider()
    func randomBytes(count: Int) -> [UInt8] { Array((0..<count).map { fixed[$0 % fixed.count] }) }
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

/// Every algorithm set the gateway offers for ESP.
let allTransforms: [ESPTransform] = {
    var transforms: [ESPTransform] = []
    for keyLength in [16, 24, 32] {
        for integrity in IntegrityAlgorithm.allCases {
            transforms.append(try! ESPTransform(encryption: .aesCBC, keyLength: keyLength, integrity: integrity))
        }
        transforms.append(try! ESPTransform(encryption: .aesGCM16, keyLength: keyLength, integrity: nil))
    }
    for integrity in [IntegrityAlgorithm.hmacSHA1_96, .hmacSHA256_128, .hmacMD5_96] {
        transforms.append(try! ESPTransform(encryption: .tripleDESCBC, keyLength: 24, integrity: integrity))
    }
    return transforms
}()

/// An outbound SA and the matching inbound SA (the same keys), as the two ends of one
/// direction of a Child SA.
func makePair(_ transform: ESPTransform, spi: UInt32 = 0xC0DE_0001, lifetime: ESPLifetime = .unlimited,
              window: Int = ReplayWindow.defaultSize, now: MonotonicTime = .zero) throws -> (OutboundSA, InboundSA) {
    let keyMaterial = crypto.randomBytes(count: transform.keyMaterialLength)
    let outbound = try OutboundSA(spi: spi, transform: transform, keyMaterial: keyMaterial, lifetime: lifetime, now: now)
    let inbound = try InboundSA(spi: spi, transform: transform, keyMaterial: keyMaterial, lifetime: lifetime,
                                replayWindowSize: window, now: now)
    return (outbound, inbound)
}

/// A minimal IPv4 packet of `length` bytes (header fields are irrelevant to ESP).
func innerPacket(length: Int, seed: UInt8 = 0) -> [UInt8] {
    (0..<length).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ Int(seed)) }
}
