import COpenSSL
import IPsecCrypto

/// `CryptoProvider` backed by OpenSSL 3 (libcrypto, EVP APIs, default provider).
///
/// A value type with no mutable state: every call builds and frees its own OpenSSL context,
/// so one provider may be used from any number of tasks at once (`Sendable` without
/// `@unchecked`; the shared algorithm table documents why it is safe to share).
///
/// Bad input (wrong key/IV/nonce length, ragged CBC input, a forged tag, an invalid public
/// value) is reported as a `CryptoError`. The non-throwing requirements (`randomBytes`,
/// `hash`, `hmac`) accept every input; they stop the process only if libcrypto itself is
/// broken (the CSPRNG cannot be seeded, a digest the default provider always ships is
/// missing), because carrying on with predictable "random" bytes or an empty MAC would be
/// a silent security failure.
public struct OpenSSLCryptoProvider: CryptoProvider {
    let algorithms: FetchedAlgorithms

    public init() {
        algorithms = .shared
    }

    // MARK: randomness

    public func randomBytes(count: Int) -> [UInt8] {
        guard count > 0 else { return [] }
        var bytes = [UInt8](repeating: 0, count: count)
        bytes.withUnsafeMutableBufferPointer { buffer in
            guard let base = buffer.baseAddress else { return }
            var offset = 0
            while offset < buffer.count {
                let chunk = Swift.min(buffer.count - offset, randomChunk)
                guard RAND_bytes(base + offset, Int32(chunk)) == 1 else {
                    fatalError("RAND_bytes failed: \(drainOpenSSLErrors()); refusing to continue without a CSPRNG")
                }
                offset += chunk
            }
        }
        return bytes
    }

    // MARK: digests

    public func hash(_ algorithm: HashAlgorithm, _ data: [UInt8]) -> [UInt8] {
        let md = requiredDigest(algorithm)
        var length: UInt32 = 0
        let digest = [UInt8].filled(capacity: Int(EVP_MAX_MD_SIZE)) { out in
            data.withNonNilBytes { input, count in
                EVP_Digest(input, count, out, &length, md, nil) == 1 ? Int(length) : -1
            }
        }
        guard digest.count == algorithm.digestLength else {
            fatalError("EVP_Digest(\(algorithm.openSSLName)) failed: \(drainOpenSSLErrors())")
        }
        return digest
    }

    public func hmac(_ algorithm: HashAlgorithm, key: [UInt8], data: [UInt8]) -> [UInt8] {
        // HMAC() takes an `int` key length. A key longer than the hash block is replaced by
        // its hash anyway (RFC 2104 §2), so doing that here gives the same MAC for any size.
        if key.count > Int(Int32.max) { return hmac(algorithm, key: hash(algorithm, key), data: data) }
        let md = requiredDigest(algorithm)
        var length: UInt32 = 0
        let mac = [UInt8].filled(capacity: Int(EVP_MAX_MD_SIZE)) { out in
            key.withNonNilBytes { keyBytes, keyCount in
                data.withNonNilBytes { input, count in
                    // HMAC() is the one-shot API and is not deprecated in 3.0 (only HMAC_CTX is).
                    HMAC(md, keyBytes, Int32(clamping: keyCount), input, count, out, &length) != nil ? Int(length) : -1
                }
            }
        }
        guard mac.count == algorithm.digestLength else {
            fatalError("HMAC(\(algorithm.openSSLName)) failed: \(drainOpenSSLErrors())")
        }
        return mac
    }

    private func requiredDigest(_ algorithm: HashAlgorithm) -> OpaquePointer {
        guard let md = algorithms.digest(algorithm) else {
            fatalError("OpenSSL default provider has no \(algorithm.openSSLName) digest")
        }
        return md
    }

    // MARK: key exchange

    public func makeKeyExchange(group: DHGroup) throws -> any KeyExchange {
        try OpenSSLKeyExchange(group: group)
    }
}

/// RAND_bytes takes an `int` length; larger requests are served in pieces.
private let randomChunk = 1 << 20
