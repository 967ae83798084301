// The crypto the pure protocol targets (IKE, ESP) need, as protocols. CryptoOpenSSL implements
// them with OpenSSL 3 at the edge; tests may use the same implementation. Keeping this
// boundary means IKE and ESP state machines are pure: bytes and `now:` in, actions out.

/// Errors a crypto operation reports instead of trapping.
public struct CryptoError: Error, Hashable, Sendable, CustomStringConvertible {
    public enum Code: String, Hashable, Sendable {
        case invalidKeyLength, invalidIVLength, invalidPublicValue, invalidInputLength
        case authenticationFailed, unsupportedAlgorithm, backendFailure
    }
    public var code: Code
    public var detail: String
    public init(_ code: Code, _ detail: String = "") {
        self.code = code
        self.detail = detail
    }
    public var description: String { detail.isEmpty ? code.rawValue : "\(code.rawValue): \(detail)" }
}

/// One side of an ephemeral Diffie-Hellman exchange. The private key never leaves the object.
public protocol KeyExchange: AnyObject {
    var group: DHGroup { get }
    /// The value sent in the KE payload, exactly `group.publicValueLength` bytes.
    var publicValue: [UInt8] { get }
    /// The shared secret g^ir: MODP left-padded to the prime's length (RFC 7296 §2.14);
    /// ECP the x coordinate (RFC 5903 §7); X25519 the 32-byte output (RFC 8031 §2.1).
    /// Throws `.invalidPublicValue` for a wrong length or a point not on the curve.
    func sharedSecret(peerPublicValue: [UInt8]) throws -> [UInt8]
}

/// Symmetric primitives and randomness.
public protocol CryptoProvider: Sendable {
    func randomBytes(count: Int) -> [UInt8]
    func makeKeyExchange(group: DHGroup) throws -> any KeyExchange
    func hash(_ algorithm: HashAlgorithm, _ data: [UInt8]) -> [UInt8]
    func hmac(_ algorithm: HashAlgorithm, key: [UInt8], data: [UInt8]) -> [UInt8]

    /// CBC without padding (IKE and ESP pad themselves); input length must be a multiple of
    /// the block size. `key` length selects AES-128/192/256; 3DES takes 24 bytes.
    func cbcEncrypt(_ algorithm: EncryptionAlgorithm, key: [UInt8], iv: [UInt8], plaintext: [UInt8]) throws -> [UInt8]
    func cbcDecrypt(_ algorithm: EncryptionAlgorithm, key: [UInt8], iv: [UInt8], ciphertext: [UInt8]) throws -> [UInt8]

    /// AES-GCM with a 12-byte nonce (salt ‖ IV, RFC 4106 §4) and a 16-byte tag appended to the output.
    func gcmSeal(key: [UInt8], nonce: [UInt8], aad: [UInt8], plaintext: [UInt8]) throws -> [UInt8]
    /// Verifies and strips the trailing 16-byte tag; throws `.authenticationFailed` on mismatch.
    func gcmOpen(key: [UInt8], nonce: [UInt8], aad: [UInt8], ciphertextAndTag: [UInt8]) throws -> [UInt8]

    // Data-path additions (KeyedContexts.swift). Default implementations exist, so every
    // conformer keeps compiling; backends override them to avoid per-packet setup and copies.

    /// A cipher keyed once for many packets (AES-CBC, 3DES-CBC or AES-GCM by `algorithm`).
    func makeKeyedCipher(_ algorithm: EncryptionAlgorithm, key: [UInt8]) throws -> any KeyedCipher
    /// An HMAC keyed once for many packets.
    func makeKeyedMAC(_ algorithm: HashAlgorithm, key: [UInt8]) throws -> any KeyedMAC
    /// Cryptographically random bytes written in place (CBC IVs).
    func fillRandom(_ buffer: UnsafeMutableRawBufferPointer)
}

extension CryptoProvider {
    /// prf+ (RFC 7296 §2.13): T1 = prf(K, S | 0x01), Tn = prf(K, Tn-1 | S | n), concatenated
    /// and cut to `length`. At most 255 iterations.
    public func prfPlus(_ prf: PRFAlgorithm, key: [UInt8], seed: [UInt8], length: Int) throws -> [UInt8] {
        let block = prf.outputLength
        guard length >= 0, length <= 255 * block else {
            throw CryptoError(.invalidInputLength, "prf+ asked for \(length) bytes")
        }
        var output: [UInt8] = []
        output.reserveCapacity(length + block)
        var previous: [UInt8] = []
        var counter: UInt8 = 1
        while output.count < length {
            previous = hmac(prf.hash, key: key, data: previous + seed + [counter])
            output += previous
            counter &+= 1
        }
        return Array(output.prefix(length))
    }
}

/// Constant-time comparison for AUTH values and ICVs (no early exit on the first difference).
/// `@inlinable` so ESP's per-packet ICV check is specialised instead of running generically.
@inlinable
public func constantTimeEqual(_ a: some Collection<UInt8>, _ b: some Collection<UInt8>) -> Bool {
    guard a.count == b.count else { return false }
    var difference: UInt8 = 0
    for (x, y) in zip(a, b) { difference |= x ^ y }
    return difference == 0
}
