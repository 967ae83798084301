import COpenSSL
import IPsecCrypto
import Synchronization

// Keyed contexts for the ESP data path: the key is expanded once per SA direction, and each
// packet only sets the IV/nonce (EVP_CipherInit_ex2 with a nil cipher and key keeps the key
// schedule) or re-initialises the HMAC state (EVP_MAC_init with a nil key reuses the key).
// Encryption and decryption run in place (EVP allows `out == in`).

extension OpenSSLCryptoProvider {
    public func makeKeyedCipher(_ algorithm: EncryptionAlgorithm, key: [UInt8]) throws -> any KeyedCipher {
        try OpenSSLKeyedCipher(algorithm: algorithm, key: key, algorithms: algorithms)
    }

    public func makeKeyedMAC(_ algorithm: HashAlgorithm, key: [UInt8]) throws -> any KeyedMAC {
        try OpenSSLKeyedMAC(algorithm: algorithm, key: key, algorithms: algorithms)
    }

    public func fillRandom(_ buffer: UnsafeMutableRawBufferPointer) {
        guard let base = buffer.baseAddress?.assumingMemoryBound(to: UInt8.self), buffer.count > 0 else { return }
        var offset = 0
        while offset < buffer.count {
            let chunk = Swift.min(buffer.count - offset, 1 << 20)
            guard RAND_bytes(base + offset, Int32(chunk)) == 1 else {
                fatalError("RAND_bytes failed: \(drainOpenSSLErrors()); refusing to continue without a CSPRNG")
            }
            offset += chunk
        }
    }
}

private func bytes(_ buffer: UnsafeRawBufferPointer) -> UnsafePointer<UInt8>? {
    buffer.baseAddress?.assumingMemoryBound(to: UInt8.self)
}

private func bytes(_ buffer: UnsafeMutableRawBufferPointer) -> UnsafeMutablePointer<UInt8>? {
    buffer.baseAddress?.assumingMemoryBound(to: UInt8.self)
}

/// One EVP_CIPHER_CTX per direction of use (encrypt, decrypt), keyed at creation.
///
/// `@unchecked Sendable`: the two contexts are mutable OpenSSL state and are only touched
/// inside `lock`, so concurrent callers are serialised; the owner is normally a single
/// data-path worker and the lock is then uncontended.
final class OpenSSLKeyedCipher: KeyedCipher, @unchecked Sendable {
    let algorithm: EncryptionAlgorithm
    private let encryptor: OpaquePointer
    private let decryptor: OpaquePointer
    private let lock = Mutex(())

    init(algorithm: EncryptionAlgorithm, key: [UInt8], algorithms: FetchedAlgorithms) throws(CryptoError) {
        let cipher = algorithm.isAEAD
            ? try algorithms.gcmCipher(keyLength: key.count)
            : try algorithms.cbcCipher(algorithm, keyLength: key.count)
        guard let encryptor = EVP_CIPHER_CTX_new() else { throw backendFailure("EVP_CIPHER_CTX_new") }
        guard let decryptor = EVP_CIPHER_CTX_new() else {
            EVP_CIPHER_CTX_free(encryptor)
            throw backendFailure("EVP_CIPHER_CTX_new")
        }
        self.algorithm = algorithm
        self.encryptor = encryptor
        self.decryptor = decryptor
        // From here `deinit` frees both contexts if setup fails.
        for (context, encrypt) in [(encryptor, Int32(1)), (decryptor, Int32(0))] {
            try check(EVP_CipherInit_ex2(context, cipher, key, nil, encrypt, nil), "EVP_CipherInit_ex2(key)")
            if !algorithm.isAEAD {
                try check(EVP_CIPHER_CTX_set_padding(context, 0), "EVP_CIPHER_CTX_set_padding")
            }
        }
    }

    deinit {
        EVP_CIPHER_CTX_free(encryptor)
        EVP_CIPHER_CTX_free(decryptor)
    }

    func cbcEncrypt(iv: UnsafeRawBufferPointer, data: UnsafeMutableRawBufferPointer) throws {
        try cbc(encryptor, iv: iv, data: data)
    }

    func cbcDecrypt(iv: UnsafeRawBufferPointer, data: UnsafeMutableRawBufferPointer) throws {
        try cbc(decryptor, iv: iv, data: data)
    }

    private func cbc(_ context: OpaquePointer, iv: UnsafeRawBufferPointer, data: UnsafeMutableRawBufferPointer) throws(CryptoError) {
        guard !algorithm.isAEAD else { throw CryptoError(.unsupportedAlgorithm, "AES-GCM is not a CBC cipher") }
        guard iv.count == algorithm.blockSize else { throw CryptoError(.invalidIVLength, "CBC IV of \(iv.count) bytes") }
        guard data.count % algorithm.blockSize == 0 else {
            throw CryptoError(.invalidInputLength, "CBC input of \(data.count) bytes is not whole blocks")
        }
        guard let buffer = bytes(data) else { return }       // nothing to do for zero bytes
        try checkCipherInputLength(data.count)
        try lock.withLock { (_) throws(CryptoError) in
            try check(EVP_CipherInit_ex2(context, nil, nil, bytes(iv), -1, nil), "EVP_CipherInit_ex2(iv)")
            var written: Int32 = 0
            var finalWritten: Int32 = 0
            try check(EVP_CipherUpdate(context, buffer, &written, buffer, Int32(data.count)), "EVP_CipherUpdate")
            try check(EVP_CipherFinal_ex(context, buffer + Int(written), &finalWritten), "EVP_CipherFinal_ex")
            guard Int(written) + Int(finalWritten) == data.count else {
                throw CryptoError(.backendFailure, "CBC produced \(Int(written) + Int(finalWritten)) of \(data.count) bytes")
            }
        }
    }

    func gcmSeal(nonce: UnsafeRawBufferPointer, aad: UnsafeRawBufferPointer,
                 data: UnsafeMutableRawBufferPointer, tag: UnsafeMutableRawBufferPointer) throws {
        try gcm(encryptor, nonce: nonce, aad: aad, data: data, tagLength: tag.count) { (context) throws(CryptoError) in
            try check(EVP_CIPHER_CTX_ctrl(context, EVP_CTRL_GCM_GET_TAG, Int32(gcmTagLength), tag.baseAddress), "EVP_CTRL_GCM_GET_TAG")
        }
    }

    func gcmOpen(nonce: UnsafeRawBufferPointer, aad: UnsafeRawBufferPointer,
                 data: UnsafeMutableRawBufferPointer, tag: UnsafeRawBufferPointer) throws {
        try gcm(decryptor, nonce: nonce, aad: aad, data: data, tagLength: tag.count) { (context) throws(CryptoError) in
            // SET_TAG takes a non-const pointer; it only reads the 16 bytes.
            try check(EVP_CIPHER_CTX_ctrl(context, EVP_CTRL_GCM_SET_TAG, Int32(gcmTagLength), UnsafeMutableRawPointer(mutating: tag.baseAddress)),
                      "EVP_CTRL_GCM_SET_TAG")
        }
    }

    /// Shared GCM sequence; `tagStep` runs before Final for decryption (set the expected tag)
    /// and after it for encryption (read the tag), hence the `isEncrypting` switch.
    private func gcm(_ context: OpaquePointer, nonce: UnsafeRawBufferPointer, aad: UnsafeRawBufferPointer,
                     data: UnsafeMutableRawBufferPointer, tagLength: Int,
                     _ tagStep: (OpaquePointer) throws(CryptoError) -> Void) throws(CryptoError) {
        guard algorithm.isAEAD else { throw CryptoError(.unsupportedAlgorithm, "\(algorithm) is not AEAD") }
        guard nonce.count == gcmNonceLength else { throw CryptoError(.invalidIVLength, "GCM nonce of \(nonce.count) bytes") }
        guard tagLength == gcmTagLength else { throw CryptoError(.invalidInputLength, "GCM tag of \(tagLength) bytes") }
        try checkCipherInputLength(data.count)
        try checkCipherInputLength(aad.count)
        let isEncrypting = context == encryptor
        try lock.withLock { (_) throws(CryptoError) in
            try check(EVP_CipherInit_ex2(context, nil, nil, bytes(nonce), -1, nil), "EVP_CipherInit_ex2(nonce)")
            var written: Int32 = 0
            if aad.count > 0 {
                try check(EVP_CipherUpdate(context, nil, &written, bytes(aad), Int32(aad.count)), "EVP_CipherUpdate(AAD)")
            }
            written = 0
            if let buffer = bytes(data), data.count > 0 {
                try check(EVP_CipherUpdate(context, buffer, &written, buffer, Int32(data.count)), "EVP_CipherUpdate")
            }
            if !isEncrypting { try tagStep(context) }
            var finalWritten: Int32 = 0
            var scratch: UInt8 = 0
            let finalStatus: Int32 = if let buffer = bytes(data) {
                EVP_CipherFinal_ex(context, buffer + Int(written), &finalWritten)
            } else {
                EVP_CipherFinal_ex(context, &scratch, &finalWritten)
            }
            guard finalStatus == 1 else {
                if isEncrypting { throw backendFailure("EVP_CipherFinal_ex(GCM)") }
                _ = drainOpenSSLErrors()
                throw CryptoError(.authenticationFailed, "AES-GCM tag mismatch")
            }
            if isEncrypting { try tagStep(context) }
        }
    }
}

/// An EVP_MAC_CTX (HMAC) keyed at creation; each use re-initialises it with the same key.
///
/// `@unchecked Sendable` for the same reason as `OpenSSLKeyedCipher`: the context is only
/// used inside `lock`.
final class OpenSSLKeyedMAC: KeyedMAC, @unchecked Sendable {
    let algorithm: HashAlgorithm
    private let context: OpaquePointer
    private let lock = Mutex(())

    init(algorithm: HashAlgorithm, key: [UInt8], algorithms: FetchedAlgorithms) throws(CryptoError) {
        guard let mac = algorithms.hmac else { throw CryptoError(.unsupportedAlgorithm, "EVP_MAC HMAC not available") }
        guard let context = EVP_MAC_CTX_new(mac) else { throw backendFailure("EVP_MAC_CTX_new") }
        self.algorithm = algorithm
        self.context = context
        // The digest name is looked up inside EVP_MAC_init, so it only has to live that long.
        let status = OSSL_MAC_PARAM_DIGEST.withCString { name in
            algorithm.openSSLName.withCString { digest in
                var params = [
                    OSSL_PARAM_construct_utf8_string(name, UnsafeMutablePointer(mutating: digest), 0),
                    OSSL_PARAM_construct_end(),
                ]
                return key.withNonNilBytes { keyBytes, keyCount in
                    EVP_MAC_init(context, keyBytes, keyCount, &params)
                }
            }
        }
        try check(status, "EVP_MAC_init(HMAC-\(algorithm.openSSLName))")
    }

    deinit { EVP_MAC_CTX_free(context) }

    func authenticate(_ data: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) throws {
        guard output.count <= algorithm.digestLength else {
            throw CryptoError(.invalidInputLength, "MAC output of \(output.count) bytes exceeds the digest")
        }
        try lock.withLock { (_) throws(CryptoError) in
            // A nil key re-initialises the HMAC state with the key set at creation.
            try check(EVP_MAC_init(context, nil, 0, nil), "EVP_MAC_init(reuse)")
            if data.count > 0 {
                try check(EVP_MAC_update(context, bytes(data), data.count), "EVP_MAC_update")
            }
            try withUnsafeTemporaryAllocation(of: UInt8.self, capacity: Int(EVP_MAX_MD_SIZE)) { (full) throws(CryptoError) in
                var length = 0
                try check(EVP_MAC_final(context, full.baseAddress, &length, full.count), "EVP_MAC_final")
                guard length == algorithm.digestLength else { throw CryptoError(.backendFailure, "HMAC length \(length)") }
                output.copyMemory(from: UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(full)[0..<output.count]))
            }
        }
    }
}
