import COpenSSL
import IPsecCrypto

extension OpenSSLKeyExchange {
    /// Imports a fixed private key, for known-answer tests (RFC 7748 §6.1, RFC 5903 §8).
    /// The gateway never uses it: IKE key-exchange values are always fresh (RFC 7296 §2.12).
    /// Supported for ECP and Curve25519; MODP keys are checked by agreement instead.
    convenience init(group: DHGroup, privateKey: [UInt8]) throws(CryptoError) {
        let key: OpaquePointer
        switch group {
        case .curve25519:
            guard privateKey.count == 32,
                  let imported = privateKey.withUnsafeBufferPointer({ EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, nil, $0.baseAddress, $0.count) })
            else { throw CryptoError(.invalidKeyLength, "X25519 private key: \(drainOpenSSLErrors())") }
            key = imported
        case .ecp256, .ecp384:
            let curve = group == .ecp256 ? "P-256" : "P-384"
            // OpenSSL 3.0 does not derive the public point when only the scalar is imported
            // ("not a public key" later), so compute d·G here and import both.
            let publicPoint = try Self.ecPublicPoint(curve: group == .ecp256 ? NID_X9_62_prime256v1 : NID_secp384r1,
                                                     privateKey: privateKey)
            key = try KeyGeneration.fromData(algorithm: "EC", selection: keyPairSelection) { (builder) throws(CryptoError) in
                try builder.pushUTF8(OSSL_PKEY_PARAM_GROUP_NAME, curve)
                try builder.pushBigNumber(OSSL_PKEY_PARAM_PRIV_KEY, privateKey)
                try builder.pushOctets(OSSL_PKEY_PARAM_PUB_KEY, publicPoint)
            }
        case .modp1024, .modp1536, .modp2048:
            throw CryptoError(.unsupportedAlgorithm, "fixed MODP private keys are not supported")
        }
        try self.init(group: group, key: key)
    }

    /// SEC1 uncompressed encoding of d·G (EC_POINT functions are not deprecated in 3.0).
    private static func ecPublicPoint(curve: Int32, privateKey: [UInt8]) throws(CryptoError) -> [UInt8] {
        guard let ecGroup = EC_GROUP_new_by_curve_name(curve) else { throw backendFailure("EC_GROUP_new_by_curve_name") }
        defer { EC_GROUP_free(ecGroup) }
        guard let point = EC_POINT_new(ecGroup) else { throw backendFailure("EC_POINT_new") }
        defer { EC_POINT_free(point) }
        guard let scalar = privateKey.withUnsafeBufferPointer({ BN_bin2bn($0.baseAddress, Int32($0.count), nil) }) else {
            throw backendFailure("BN_bin2bn")
        }
        defer { BN_clear_free(scalar) }
        try check(EC_POINT_mul(ecGroup, point, scalar, nil, nil, nil), "EC_POINT_mul")
        let length = EC_POINT_point2oct(ecGroup, point, POINT_CONVERSION_UNCOMPRESSED, nil, 0, nil)
        return try [UInt8].filled(capacity: length) { (out) throws(CryptoError) -> Int in
            let written = EC_POINT_point2oct(ecGroup, point, POINT_CONVERSION_UNCOMPRESSED, out, length, nil)
            guard written == length else { throw backendFailure("EC_POINT_point2oct") }
            return written
        }
    }
}
