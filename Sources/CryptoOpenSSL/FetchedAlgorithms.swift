import COpenSSL
import IPsecCrypto

/// Digests and ciphers fetched once from the default provider.
///
/// OpenSSL 3's `EVP_sha256()`-style getters return a "legacy" object that makes every
/// `…Init` call look the implementation up again by name (an implicit fetch under a lock).
/// Fetching explicitly once and reusing the object is the documented fast path
/// (crypto(7), "Explicit fetching").
///
/// `@unchecked Sendable`: the pointers are written once in `init` and never changed; fetched
/// EVP_MD / EVP_CIPHER objects are immutable, reference-counted method tables that OpenSSL
/// allows any number of threads to use at the same time (crypto(7), "Performance"). Only the
/// per-operation contexts built from them are single-threaded, and those never leave a call.
final class FetchedAlgorithms: @unchecked Sendable {
    private let digests: [HashAlgorithm: OpaquePointer]
    private let cbcCiphers: [Int: OpaquePointer]      // by key length, AES-CBC
    private let gcmCiphers: [Int: OpaquePointer]      // by key length, AES-GCM
    let tripleDESCBC: OpaquePointer?
    /// The HMAC implementation (EVP_MAC), for keyed per-SA MAC contexts.
    let hmac: OpaquePointer?

    /// The process-wide table (a global `let` is initialised once, thread-safely).
    static let shared = FetchedAlgorithms()

    private init() {
        var digests: [HashAlgorithm: OpaquePointer] = [:]
        for algorithm in HashAlgorithm.allCases {
            if let md = EVP_MD_fetch(nil, algorithm.openSSLName, nil) { digests[algorithm] = md }
        }
        var cbc: [Int: OpaquePointer] = [:]
        var gcm: [Int: OpaquePointer] = [:]
        for keyLength in [16, 24, 32] {
            if let c = EVP_CIPHER_fetch(nil, "AES-\(keyLength * 8)-CBC", nil) { cbc[keyLength] = c }
            if let c = EVP_CIPHER_fetch(nil, "AES-\(keyLength * 8)-GCM", nil) { gcm[keyLength] = c }
        }
        self.digests = digests
        self.cbcCiphers = cbc
        self.gcmCiphers = gcm
        // 3DES lives in the default provider; single DES would need the legacy one (spec §4.1).
        self.tripleDESCBC = EVP_CIPHER_fetch(nil, "DES-EDE3-CBC", nil)
        self.hmac = EVP_MAC_fetch(nil, "HMAC", nil)
        _ = drainOpenSSLErrors()
    }

    deinit {
        for md in digests.values { EVP_MD_free(md) }
        for c in cbcCiphers.values { EVP_CIPHER_free(c) }
        for c in gcmCiphers.values { EVP_CIPHER_free(c) }
        EVP_CIPHER_free(tripleDESCBC)
        EVP_MAC_free(hmac)
    }

    func digest(_ algorithm: HashAlgorithm) -> OpaquePointer? { digests[algorithm] }

    /// The CBC cipher for an encryption algorithm and key length, or a typed error saying
    /// which of the two is wrong.
    func cbcCipher(_ algorithm: EncryptionAlgorithm, keyLength: Int) throws(CryptoError) -> OpaquePointer {
        switch algorithm {
        case .aesCBC:
            guard let cipher = cbcCiphers[keyLength] else {
                throw CryptoError(.invalidKeyLength, "AES-CBC key of \(keyLength) bytes (want 16, 24 or 32)")
            }
            return cipher
        case .tripleDESCBC:
            guard keyLength == 24 else {
                throw CryptoError(.invalidKeyLength, "3DES key of \(keyLength) bytes (want 24)")
            }
            guard let cipher = tripleDESCBC else { throw CryptoError(.unsupportedAlgorithm, "DES-EDE3-CBC not available") }
            return cipher
        case .aesGCM16:
            throw CryptoError(.unsupportedAlgorithm, "AES-GCM is not a CBC cipher")
        }
    }

    func gcmCipher(keyLength: Int) throws(CryptoError) -> OpaquePointer {
        guard let cipher = gcmCiphers[keyLength] else {
            throw CryptoError(.invalidKeyLength, "AES-GCM key of \(keyLength) bytes (want 16, 24 or 32)")
        }
        return cipher
    }
}

extension HashAlgorithm {
    /// The name OpenSSL 3 fetches the digest by.
    var openSSLName: String {
        switch self {
        case .md5: "MD5"
        case .sha1: "SHA1"
        case .sha256: "SHA256"
        case .sha384: "SHA384"
        case .sha512: "SHA512"
        }
    }
}
