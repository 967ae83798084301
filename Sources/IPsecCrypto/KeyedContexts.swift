// Keyed, reusable crypto for the ESP data path. The stateless `CryptoProvider` calls set up
// a cipher (key expansion) or MAC on every call; an SA instead builds these once from its
// keys and then works in place on the packet buffer, with no per-packet allocation.

/// A cipher with its key already set, working in place on caller-owned bytes.
///
/// `Sendable`: implementations either hold only immutable state or serialise their backend
/// context internally. One SA direction normally owns one, so the serialisation is
/// uncontended.
public protocol KeyedCipher: Sendable {
    var algorithm: EncryptionAlgorithm { get }
    /// CBC without padding, in place; `data.count` must be a multiple of the block size and
    /// `iv.count` the block size.
    func cbcEncrypt(iv: UnsafeRawBufferPointer, data: UnsafeMutableRawBufferPointer) throws
    func cbcDecrypt(iv: UnsafeRawBufferPointer, data: UnsafeMutableRawBufferPointer) throws
    /// AES-GCM in place with a 12-byte nonce; writes the 16-byte tag into `tag`.
    func gcmSeal(nonce: UnsafeRawBufferPointer, aad: UnsafeRawBufferPointer,
                 data: UnsafeMutableRawBufferPointer, tag: UnsafeMutableRawBufferPointer) throws
    /// AES-GCM in place; throws `.authenticationFailed` when `tag` does not verify (the
    /// contents of `data` are then unspecified and must be discarded).
    func gcmOpen(nonce: UnsafeRawBufferPointer, aad: UnsafeRawBufferPointer,
                 data: UnsafeMutableRawBufferPointer, tag: UnsafeRawBufferPointer) throws
}

/// An HMAC with its key already set.
public protocol KeyedMAC: Sendable {
    var algorithm: HashAlgorithm { get }
    /// Writes the first `output.count` bytes (at most the digest length) of HMAC(key, data):
    /// the full PRF output or a truncated ICV (RFC 4868 §2.3).
    func authenticate(_ data: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) throws
}

extension CryptoProvider {
    /// Fallback for providers without a keyed implementation: keeps the key and calls the
    /// stateless API (copying through arrays). OpenSSL overrides this.
    public func makeKeyedCipher(_ algorithm: EncryptionAlgorithm, key: [UInt8]) throws -> any KeyedCipher {
        StatelessKeyedCipher(provider: self, algorithm: algorithm, key: key)
    }

    public func makeKeyedMAC(_ algorithm: HashAlgorithm, key: [UInt8]) throws -> any KeyedMAC {
        StatelessKeyedMAC(provider: self, algorithm: algorithm, key: key)
    }

    /// Fills `buffer` from `randomBytes` (one array per call); OpenSSL overrides this.
    public func fillRandom(_ buffer: UnsafeMutableRawBufferPointer) {
        let bytes = randomBytes(count: buffer.count)
        buffer.copyBytes(from: bytes)
    }
}

struct StatelessKeyedCipher<Provider: CryptoProvider>: KeyedCipher {
    let provider: Provider
    let algorithm: EncryptionAlgorithm
    let key: [UInt8]

    func cbcEncrypt(iv: UnsafeRawBufferPointer, data: UnsafeMutableRawBufferPointer) throws {
        let output = try provider.cbcEncrypt(algorithm, key: key, iv: Array(iv), plaintext: Array(data))
        try copy(output, into: data)
    }

    func cbcDecrypt(iv: UnsafeRawBufferPointer, data: UnsafeMutableRawBufferPointer) throws {
        let output = try provider.cbcDecrypt(algorithm, key: key, iv: Array(iv), ciphertext: Array(data))
        try copy(output, into: data)
    }

    func gcmSeal(nonce: UnsafeRawBufferPointer, aad: UnsafeRawBufferPointer,
                 data: UnsafeMutableRawBufferPointer, tag: UnsafeMutableRawBufferPointer) throws {
        let sealed = try provider.gcmSeal(key: key, nonce: Array(nonce), aad: Array(aad), plaintext: Array(data))
        guard sealed.count == data.count + tag.count else { throw CryptoError(.backendFailure, "GCM output length") }
        try copy(Array(sealed.prefix(data.count)), into: data)
        tag.copyBytes(from: sealed.suffix(tag.count))
    }

    func gcmOpen(nonce: UnsafeRawBufferPointer, aad: UnsafeRawBufferPointer,
                 data: UnsafeMutableRawBufferPointer, tag: UnsafeRawBufferPointer) throws {
        let opened = try provider.gcmOpen(key: key, nonce: Array(nonce), aad: Array(aad), ciphertextAndTag: Array(data) + Array(tag))
        try copy(opened, into: data)
    }

    private func copy(_ bytes: [UInt8], into data: UnsafeMutableRawBufferPointer) throws {
        guard bytes.count == data.count else { throw CryptoError(.backendFailure, "in-place output length") }
        data.copyBytes(from: bytes)
    }
}

struct StatelessKeyedMAC<Provider: CryptoProvider>: KeyedMAC {
    let provider: Provider
    let algorithm: HashAlgorithm
    let key: [UInt8]

    func authenticate(_ data: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) throws {
        let mac = provider.hmac(algorithm, key: key, data: Array(data))
        output.copyBytes(from: mac.prefix(output.count))
    }
}
