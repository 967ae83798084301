import COpenSSL
import IPsecCrypto

// CBC and GCM through EVP_CIPHER_CTX. IKE (RFC 7296 §3.14) and ESP (RFC 4303 §2.4) pad the
// plaintext themselves, so CBC runs with OpenSSL's PKCS#7 padding switched off and rejects
// input that is not a whole number of blocks instead of silently padding it.

/// Nonce for ESP/IKE AES-GCM: 4-byte salt ‖ 8-byte explicit IV (RFC 4106 §4, RFC 5282 §4).
let gcmNonceLength = 12
/// ENCR_AES_GCM_16: the full 16-byte tag (RFC 4106 §6).
let gcmTagLength = 16
/// EVP_CipherUpdate takes an `int` length; no IKE message or ESP packet comes near it.
let maximumCipherInput = Int(Int32.max) - 64

func checkCipherInputLength(_ count: Int) throws(CryptoError) {
    guard count <= maximumCipherInput else {
        throw CryptoError(.invalidInputLength, "\(count) bytes exceed one EVP_CipherUpdate call")
    }
}

extension OpenSSLCryptoProvider {
    public func cbcEncrypt(_ algorithm: EncryptionAlgorithm, key: [UInt8], iv: [UInt8], plaintext: [UInt8]) throws -> [UInt8] {
        try cbc(algorithm, key: key, iv: iv, input: plaintext, encrypt: true)
    }

    public func cbcDecrypt(_ algorithm: EncryptionAlgorithm, key: [UInt8], iv: [UInt8], ciphertext: [UInt8]) throws -> [UInt8] {
        try cbc(algorithm, key: key, iv: iv, input: ciphertext, encrypt: false)
    }

    private func cbc(_ algorithm: EncryptionAlgorithm, key: [UInt8], iv: [UInt8], input: [UInt8], encrypt: Bool) throws(CryptoError) -> [UInt8] {
        let cipher = try algorithms.cbcCipher(algorithm, keyLength: key.count)
        guard iv.count == algorithm.blockSize else {
            throw CryptoError(.invalidIVLength, "CBC IV of \(iv.count) bytes (want \(algorithm.blockSize))")
        }
        guard input.count % algorithm.blockSize == 0 else {
            throw CryptoError(.invalidInputLength, "CBC input of \(input.count) bytes is not a multiple of \(algorithm.blockSize)")
        }
        guard !input.isEmpty else { return [] }
        try checkCipherInputLength(input.count)
        let context = try CipherContext()
        try check(EVP_CipherInit_ex2(context.pointer, cipher, key, iv, encrypt ? 1 : 0, nil), "EVP_CipherInit_ex2")
        try check(EVP_CIPHER_CTX_set_padding(context.pointer, 0), "EVP_CIPHER_CTX_set_padding")
        return try [UInt8].filled(capacity: input.count) { (out) throws(CryptoError) -> Int in
            var written: Int32 = 0
            var finalWritten: Int32 = 0
            try input.withNonNilBytes { (bytes, count) throws(CryptoError) in
                try check(EVP_CipherUpdate(context.pointer, out, &written, bytes, Int32(clamping: count)), "EVP_CipherUpdate")
            }
            try check(EVP_CipherFinal_ex(context.pointer, out + Int(written), &finalWritten), "EVP_CipherFinal_ex")
            return Int(written) + Int(finalWritten)
        }
    }

    public func gcmSeal(key: [UInt8], nonce: [UInt8], aad: [UInt8], plaintext: [UInt8]) throws -> [UInt8] {
        try checkCipherInputLength(plaintext.count)
        try checkCipherInputLength(aad.count)
        let context = try gcmContext(key: key, nonce: nonce, encrypt: true)
        try gcmAddAAD(context, aad)
        return try [UInt8].filled(capacity: plaintext.count + gcmTagLength) { (out) throws(CryptoError) -> Int in
            var written: Int32 = 0
            var finalWritten: Int32 = 0
            if !plaintext.isEmpty {
                try plaintext.withNonNilBytes { (bytes, count) throws(CryptoError) in
                    try check(EVP_EncryptUpdate(context.pointer, out, &written, bytes, Int32(clamping: count)), "EVP_EncryptUpdate")
                }
            }
            try check(EVP_EncryptFinal_ex(context.pointer, out + Int(written), &finalWritten), "EVP_EncryptFinal_ex")
            let ciphertextLength = Int(written) + Int(finalWritten)
            try check(EVP_CIPHER_CTX_ctrl(context.pointer, EVP_CTRL_GCM_GET_TAG, Int32(gcmTagLength), out + ciphertextLength),
                      "EVP_CTRL_GCM_GET_TAG")
            return ciphertextLength + gcmTagLength
        }
    }

    public func gcmOpen(key: [UInt8], nonce: [UInt8], aad: [UInt8], ciphertextAndTag: [UInt8]) throws -> [UInt8] {
        guard ciphertextAndTag.count >= gcmTagLength else {
            throw CryptoError(.invalidInputLength, "GCM input of \(ciphertextAndTag.count) bytes is shorter than the tag")
        }
        try checkCipherInputLength(ciphertextAndTag.count)
        try checkCipherInputLength(aad.count)
        let context = try gcmContext(key: key, nonce: nonce, encrypt: false)
        try gcmAddAAD(context, aad)
        let ciphertextLength = ciphertextAndTag.count - gcmTagLength
        return try ciphertextAndTag.withNonNilBytes { (bytes, _) throws(CryptoError) -> [UInt8] in
            var tag = Array(UnsafeBufferPointer(start: bytes + ciphertextLength, count: gcmTagLength))
            try check(EVP_CIPHER_CTX_ctrl(context.pointer, EVP_CTRL_GCM_SET_TAG, Int32(gcmTagLength), &tag), "EVP_CTRL_GCM_SET_TAG")
            return try [UInt8].filled(capacity: ciphertextLength) { (out) throws(CryptoError) -> Int in
                var written: Int32 = 0
                var finalWritten: Int32 = 0
                if ciphertextLength > 0 {
                    try check(EVP_DecryptUpdate(context.pointer, out, &written, bytes, Int32(clamping: ciphertextLength)), "EVP_DecryptUpdate")
                }
                // The tag is compared (in constant time, by OpenSSL) here; ≤ 0 means forged.
                guard EVP_DecryptFinal_ex(context.pointer, out + Int(written), &finalWritten) == 1 else {
                    _ = drainOpenSSLErrors()
                    throw CryptoError(.authenticationFailed, "AES-GCM tag mismatch")
                }
                return Int(written) + Int(finalWritten)
            }
        }
    }

    private func gcmContext(key: [UInt8], nonce: [UInt8], encrypt: Bool) throws(CryptoError) -> CipherContext {
        let cipher = try algorithms.gcmCipher(keyLength: key.count)
        guard nonce.count == gcmNonceLength else {
            throw CryptoError(.invalidIVLength, "GCM nonce of \(nonce.count) bytes (want \(gcmNonceLength))")
        }
        let context = try CipherContext()
        // 12 bytes is AES-GCM's default IV length, so key and nonce go in with one init.
        try check(EVP_CipherInit_ex2(context.pointer, cipher, key, nonce, encrypt ? 1 : 0, nil), "EVP_CipherInit_ex2(GCM)")
        return context
    }

    private func gcmAddAAD(_ context: CipherContext, _ aad: [UInt8]) throws(CryptoError) {
        guard !aad.isEmpty else { return }
        var ignored: Int32 = 0
        try aad.withNonNilBytes { (bytes, count) throws(CryptoError) in
            // A nil output pointer makes this update "additional authenticated data".
            try check(EVP_CipherUpdate(context.pointer, nil, &ignored, bytes, Int32(clamping: count)), "EVP_CipherUpdate(AAD)")
        }
    }
}

/// Owns one EVP_CIPHER_CTX for the length of a call. The context holds the expanded key, and
/// `EVP_CIPHER_CTX_free` cleanses it.
final class CipherContext {
    let pointer: OpaquePointer

    init() throws(CryptoError) {
        guard let pointer = EVP_CIPHER_CTX_new() else { throw backendFailure("EVP_CIPHER_CTX_new") }
        self.pointer = pointer
    }

    deinit { EVP_CIPHER_CTX_free(pointer) }
}
