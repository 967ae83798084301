import COpenSSL
#if canImport(Glibc)
import Glibc
#endif
import IPsecCrypto

/// EVP_PKEY creation for the IKE key-exchange groups, and import of peer public values.
/// Every function returns an owned EVP_PKEY (caller frees) or throws; nothing leaks on the
/// error paths.
enum KeyGeneration {
    static func generate(_ group: DHGroup) throws(CryptoError) -> OpaquePointer {
        switch group {
        case .modp1024:
            // OpenSSL 3 has no name for RFC 2409's 1024-bit group: build it from p and g.
            let domain = try modpDomain(prime: MODPPrime.group2)
            defer { EVP_PKEY_free(domain) }
            return try generate(fromDomain: domain)
        case .modp1536:
            return try generate(algorithm: "DH", groupName: "modp_1536")
        case .modp2048:
            return try generate(algorithm: "DH", groupName: "modp_2048")
        case .ecp256:
            return try generate(algorithm: "EC", groupName: "P-256")
        case .ecp384:
            return try generate(algorithm: "EC", groupName: "P-384")
        case .curve25519:
            guard let context = EVP_PKEY_CTX_new_from_name(nil, "X25519", nil) else {
                throw backendFailure("EVP_PKEY_CTX_new_from_name(X25519)")
            }
            defer { EVP_PKEY_CTX_free(context) }
            try check(EVP_PKEY_keygen_init(context), "EVP_PKEY_keygen_init(X25519)")
            return try runKeygen(context)
        }
    }

    /// Keygen by named group. `OSSL_PARAM_construct_utf8_string` keeps the raw pointers, so
    /// the strings stay alive (inside `withCString`) until `EVP_PKEY_CTX_set_params` copied them.
    private static func generate(algorithm: String, groupName: String) throws(CryptoError) -> OpaquePointer {
        guard let context = EVP_PKEY_CTX_new_from_name(nil, algorithm, nil) else {
            throw backendFailure("EVP_PKEY_CTX_new_from_name(\(algorithm))")
        }
        defer { EVP_PKEY_CTX_free(context) }
        try check(EVP_PKEY_keygen_init(context), "EVP_PKEY_keygen_init(\(algorithm))")
        let status = OSSL_PKEY_PARAM_GROUP_NAME.withCString { name in
            groupName.withCString { value in
                var params = [
                    OSSL_PARAM_construct_utf8_string(name, UnsafeMutablePointer(mutating: value), 0),
                    OSSL_PARAM_construct_end(),
                ]
                return EVP_PKEY_CTX_set_params(context, &params)
            }
        }
        try check(status, "EVP_PKEY_CTX_set_params(group=\(groupName))")
        return try runKeygen(context)
    }

    private static func generate(fromDomain domain: OpaquePointer) throws(CryptoError) -> OpaquePointer {
        guard let context = EVP_PKEY_CTX_new_from_pkey(nil, domain, nil) else {
            throw backendFailure("EVP_PKEY_CTX_new_from_pkey")
        }
        defer { EVP_PKEY_CTX_free(context) }
        try check(EVP_PKEY_keygen_init(context), "EVP_PKEY_keygen_init(DH)")
        return try runKeygen(context)
    }

    private static func runKeygen(_ context: OpaquePointer) throws(CryptoError) -> OpaquePointer {
        var key: OpaquePointer?
        guard EVP_PKEY_generate(context, &key) == 1, let key else { throw backendFailure("EVP_PKEY_generate") }
        return key
    }

    /// DH domain parameters (p, g = 2) as an EVP_PKEY, the strongSwan 5.9.8 OpenSSL 3 recipe
    /// (OSSL_PARAM_BLD → EVP_PKEY_fromdata).
    static func modpDomain(prime: [UInt8]) throws(CryptoError) -> OpaquePointer {
        try fromData(algorithm: "DH", selection: keyParametersSelection) { (builder) throws(CryptoError) in
            try builder.pushBigNumber(OSSL_PKEY_PARAM_FFC_P, prime)
            try builder.pushBigNumber(OSSL_PKEY_PARAM_FFC_G, [MODPPrime.generator])
        }
    }

    /// Imports a peer's KE data as an EVP_PKEY with the same domain as `mine`.
    static func peerKey(_ value: [UInt8], like mine: OpaquePointer, group: DHGroup) throws(CryptoError) -> OpaquePointer {
        if group == .curve25519 {
            guard let peer = value.withUnsafeBufferPointer({ EVP_PKEY_new_raw_public_key(EVP_PKEY_X25519, nil, $0.baseAddress, $0.count) }) else {
                throw CryptoError(.invalidPublicValue, "X25519 public value rejected: \(drainOpenSSLErrors())")
            }
            return peer
        }
        guard let peer = EVP_PKEY_new() else { throw backendFailure("EVP_PKEY_new") }
        guard EVP_PKEY_copy_parameters(peer, mine) == 1 else {
            EVP_PKEY_free(peer)
            throw backendFailure("EVP_PKEY_copy_parameters")
        }
        // SEC1 uncompressed point for EC; plain big-endian y for DH.
        let encoded = group.isMODP ? value : [sec1Uncompressed] + value
        let status = encoded.withUnsafeBufferPointer { EVP_PKEY_set1_encoded_public_key(peer, $0.baseAddress, $0.count) }
        guard status == 1 else {
            EVP_PKEY_free(peer)
            // For EC this is where a point that is not on the curve is refused.
            throw CryptoError(.invalidPublicValue, "peer public value rejected: \(drainOpenSSLErrors())")
        }
        return peer
    }

    /// The KE payload data for our key (layout in `OpenSSLKeyExchange`'s doc comment).
    static func publicValue(of key: OpaquePointer, group: DHGroup) throws(CryptoError) -> [UInt8] {
        let length = group.publicValueLength
        switch group {
        case .modp1024, .modp1536, .modp2048:
            var y: OpaquePointer?
            guard EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_PUB_KEY, &y) == 1, let y else {
                throw backendFailure("EVP_PKEY_get_bn_param(pub)")
            }
            defer { BN_free(y) }
            return try [UInt8].filled(capacity: length) { (out) throws(CryptoError) -> Int in
                guard BN_bn2binpad(y, out, Int32(length)) == Int32(length) else { throw backendFailure("BN_bn2binpad") }
                return length
            }
        case .ecp256, .ecp384:
            var encoded: UnsafeMutablePointer<UInt8>?
            let count = EVP_PKEY_get1_encoded_public_key(key, &encoded)
            defer { openSSLFree(encoded) }
            guard let encoded, count == length + 1, encoded[0] == sec1Uncompressed else {
                throw backendFailure("EVP_PKEY_get1_encoded_public_key")
            }
            return Array(UnsafeBufferPointer(start: encoded + 1, count: length))
        case .curve25519:
            var count = length
            return try [UInt8].filled(capacity: length) { (out) throws(CryptoError) -> Int in
                guard EVP_PKEY_get_raw_public_key(key, out, &count) == 1, count == length else {
                    throw backendFailure("EVP_PKEY_get_raw_public_key")
                }
                return count
            }
        }
    }

    // MARK: OSSL_PARAM_BLD plumbing

    /// Builds an EVP_PKEY from parameters pushed by `push`.
    static func fromData(algorithm: String, selection: Int32,
                         _ push: (ParamBuilder) throws(CryptoError) -> Void) throws(CryptoError) -> OpaquePointer {
        let builder = try ParamBuilder()
        try push(builder)
        return try withExtendedLifetime(builder) { () throws(CryptoError) -> OpaquePointer in
            guard let params = OSSL_PARAM_BLD_to_param(builder.pointer) else { throw backendFailure("OSSL_PARAM_BLD_to_param") }
            defer { OSSL_PARAM_free(params) }
            guard let context = EVP_PKEY_CTX_new_from_name(nil, algorithm, nil) else {
                throw backendFailure("EVP_PKEY_CTX_new_from_name(\(algorithm))")
            }
            defer { EVP_PKEY_CTX_free(context) }
            try check(EVP_PKEY_fromdata_init(context), "EVP_PKEY_fromdata_init")
            var key: OpaquePointer?
            guard EVP_PKEY_fromdata(context, &key, selection, params) == 1, let key else {
                throw CryptoError(.invalidPublicValue, "EVP_PKEY_fromdata(\(algorithm)): \(drainOpenSSLErrors())")
            }
            return key
        }
    }
}

/// An OSSL_PARAM_BLD plus everything it points at.
///
/// The builder does not copy: `OSSL_PARAM_BLD_push_*` remember the key pointer and the
/// BIGNUM / string / buffer pointer, read them in `OSSL_PARAM_BLD_to_param`, and the built
/// OSSL_PARAM array keeps pointing at the key. Swift strings bridged to `char *` die when the
/// call returns, so keys and values are copied into C memory owned here and released only
/// after the built parameters have been consumed and freed.
final class ParamBuilder {
    let pointer: OpaquePointer
    private var strings: [UnsafeMutablePointer<CChar>] = []
    private var numbers: [OpaquePointer] = []
    private var buffers: [UnsafeMutableBufferPointer<UInt8>] = []

    init() throws(CryptoError) {
        guard let pointer = OSSL_PARAM_BLD_new() else { throw backendFailure("OSSL_PARAM_BLD_new") }
        self.pointer = pointer
    }

    deinit {
        OSSL_PARAM_BLD_free(pointer)
        for string in strings { free(string) }
        for number in numbers { BN_clear_free(number) }
        for buffer in buffers {
            OPENSSL_cleanse(buffer.baseAddress, buffer.count)
            buffer.deallocate()
        }
    }

    private func ownedCString(_ text: String) throws(CryptoError) -> UnsafeMutablePointer<CChar> {
        guard let copy = strdup(text) else { throw CryptoError(.backendFailure, "strdup") }
        strings.append(copy)
        return copy
    }

    /// A big-endian unsigned integer (p, g, a private scalar).
    func pushBigNumber(_ name: String, _ bytes: [UInt8]) throws(CryptoError) {
        let key = try ownedCString(name)
        guard let number = bytes.withUnsafeBufferPointer({ BN_bin2bn($0.baseAddress, Int32($0.count), nil) }) else {
            throw backendFailure("BN_bin2bn")
        }
        numbers.append(number)
        try check(OSSL_PARAM_BLD_push_BN(pointer, key, number), "OSSL_PARAM_BLD_push_BN(\(name))")
    }

    func pushUTF8(_ name: String, _ value: String) throws(CryptoError) {
        let key = try ownedCString(name)
        let text = try ownedCString(value)
        try check(OSSL_PARAM_BLD_push_utf8_string(pointer, key, text, 0), "OSSL_PARAM_BLD_push_utf8_string(\(name))")
    }

    func pushOctets(_ name: String, _ bytes: [UInt8]) throws(CryptoError) {
        let key = try ownedCString(name)
        let buffer = UnsafeMutableBufferPointer<UInt8>.allocate(capacity: Swift.max(bytes.count, 1))
        _ = buffer.initialize(from: bytes)
        buffers.append(buffer)
        try check(OSSL_PARAM_BLD_push_octet_string(pointer, key, buffer.baseAddress, bytes.count),
                  "OSSL_PARAM_BLD_push_octet_string(\(name))")
    }
}

/// SEC1 §2.3.3 prefix of an uncompressed point; IKE's KE data leaves it out (RFC 5903 §7).
let sec1Uncompressed: UInt8 = 0x04

/// EVP_PKEY_KEY_PARAMETERS / EVP_PKEY_KEYPAIR (openssl/evp.h), spelled out in case the
/// composite macros do not import.
let keyParametersSelection: Int32 = 0x84
let keyPairSelection: Int32 = 0x87
