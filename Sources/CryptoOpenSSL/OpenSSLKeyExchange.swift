import COpenSSL
import IPsecCrypto

/// One side of an ephemeral (EC)DH exchange, holding its private key as an OpenSSL EVP_PKEY.
///
/// - MODP (groups 2, 5, 14): generator 2; the KE data is y = g^x mod p, big-endian and
///   left-padded to the prime's length (RFC 7296 §3.4); the shared secret is padded the
///   same way (RFC 7296 §2.14), which needs `EVP_PKEY_CTX_set_dh_pad` or ~1 in 256
///   exchanges would produce a short secret and a failed handshake.
/// - ECP (19, 20): the KE data is x ‖ y without SEC1's 0x04 prefix and the shared secret is
///   the x coordinate (RFC 5903 §7); a point not on the curve is rejected.
/// - Curve25519 (31): 32-byte u-coordinates (RFC 8031 §2, RFC 7748 §6.1); an all-zero
///   result (a low-order peer point) is rejected.
///
/// `@unchecked Sendable`: every stored property is a `let`. The EVP_PKEY is created and its
/// public value read inside `init`, before the object is published; after that it is only
/// read, through a fresh EVP_PKEY_CTX per `sharedSecret` call, which OpenSSL 3 permits from
/// several threads at once. `deinit` frees it (EVP_PKEY_free cleanses the private key).
public final class OpenSSLKeyExchange: KeyExchange, @unchecked Sendable {
    public let group: DHGroup
    public let publicValue: [UInt8]
    private let key: OpaquePointer

    /// Generates a fresh private key for `group`.
    public convenience init(group: DHGroup) throws(CryptoError) {
        try self.init(group: group, key: try KeyGeneration.generate(group))
    }

    /// Takes ownership of `key` (freed on failure too).
    init(group: DHGroup, key: OpaquePointer) throws(CryptoError) {
        do {
            publicValue = try KeyGeneration.publicValue(of: key, group: group)
        } catch {
            EVP_PKEY_free(key)
            throw error
        }
        self.group = group
        self.key = key
    }

    deinit { EVP_PKEY_free(key) }

    public func sharedSecret(peerPublicValue: [UInt8]) throws -> [UInt8] {
        try derive(peerPublicValue)
    }

    private func derive(_ peerValue: [UInt8]) throws(CryptoError) -> [UInt8] {
        guard peerValue.count == group.publicValueLength else {
            throw CryptoError(.invalidPublicValue,
                              "group \(group.rawValue) public value of \(peerValue.count) bytes (want \(group.publicValueLength))")
        }
        if let prime = MODPPrime.bytes(for: group), !MODPPublicValue.isInRange(peerValue, prime: prime) {
            // RFC 7296 §5.3 / SP 800-56A §5.6.2.3.1: 1 < y < p−1, or the secret is trivial.
            throw CryptoError(.invalidPublicValue, "MODP public value outside 2…p−2")
        }
        let peer = try KeyGeneration.peerKey(peerValue, like: key, group: group)
        defer { EVP_PKEY_free(peer) }

        guard let context = EVP_PKEY_CTX_new_from_pkey(nil, key, nil) else { throw backendFailure("EVP_PKEY_CTX_new_from_pkey") }
        defer { EVP_PKEY_CTX_free(context) }
        try check(EVP_PKEY_derive_init(context), "EVP_PKEY_derive_init")
        if group.isMODP {
            // Must be DH-only: the call fails on EC contexts (spec §4.1).
            try check(EVP_PKEY_CTX_set_dh_pad(context, 1), "EVP_PKEY_CTX_set_dh_pad")
        }
        // derive_set_peer also runs EVP_PKEY_public_check on the peer (range / on-curve).
        guard EVP_PKEY_derive_set_peer(context, peer) == 1 else {
            throw CryptoError(.invalidPublicValue, "peer public value rejected: \(drainOpenSSLErrors())")
        }
        var length = 0
        try check(EVP_PKEY_derive(context, nil, &length), "EVP_PKEY_derive(length)")
        let secret = try [UInt8].filled(capacity: length) { (out) throws(CryptoError) -> Int in
            guard EVP_PKEY_derive(context, out, &length) == 1 else {
                // X25519 refuses an all-zero output (low-order peer point, RFC 7748 §6.1).
                throw CryptoError(.invalidPublicValue, "key derivation failed: \(drainOpenSSLErrors())")
            }
            return length
        }
        guard secret.count == group.sharedSecretLength else {
            throw CryptoError(.backendFailure, "shared secret of \(secret.count) bytes (want \(group.sharedSecretLength))")
        }
        return secret
    }
}

extension DHGroup {
    var isMODP: Bool { MODPPrime.bytes(for: self) != nil }

    /// g^ir length: the prime length (MODP), the field size (ECP x), 32 (X25519).
    var sharedSecretLength: Int {
        switch self {
        case .modp1024, .modp1536, .modp2048, .curve25519: publicValueLength
        case .ecp256, .ecp384: publicValueLength / 2
        }
    }
}

/// Range check for a MODP public value given as fixed-length big-endian bytes.
enum MODPPublicValue {
    static func isInRange(_ value: [UInt8], prime: [UInt8]) -> Bool {
        guard value.count == prime.count, let last = prime.last, last > 0 else { return false }
        // y > 1: some byte before the last is non-zero, or the last is ≥ 2.
        let aboveOne = value.dropLast().contains { $0 != 0 } || (value.last ?? 0) > 1
        // y < p − 1: the primes here are odd, so p − 1 only changes the last byte.
        var pMinusOne = prime
        pMinusOne[pMinusOne.count - 1] = last - 1
        return aboveOne && value.lexicographicallyPrecedes(pMinusOne)
    }
}

extension OpenSSLKeyExchange {
    /// The MODP prime OpenSSL actually uses for this key, big-endian, for tests that check
    /// our group tables against OpenSSL's (RFC 3526 groups are built in).
    func domainPrime() throws(CryptoError) -> [UInt8] {
        var p: OpaquePointer?
        guard EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_FFC_P, &p) == 1, let p else {
            throw backendFailure("EVP_PKEY_get_bn_param(p)")
        }
        defer { BN_free(p) }
        let length = Int((BN_num_bits(p) + 7) / 8)
        return try [UInt8].filled(capacity: length) { (out) throws(CryptoError) -> Int in Int(BN_bn2bin(p, out)) }
    }
}
