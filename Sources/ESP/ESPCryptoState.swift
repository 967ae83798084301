import IPsecCrypto

/// The keyed crypto one SA direction uses per packet, built once from its keys.
struct ESPCryptoState: Sendable {
    let cipher: any KeyedCipher
    /// nil for AES-GCM (integrity comes from the tag).
    let mac: (any KeyedMAC)?
    /// GCM nonce prefix (RFC 4106 §4); empty for CBC.
    let salt: [UInt8]
    /// Source of CBC IVs.
    let random: any CryptoProvider

    /// Returns the state cached in `slot`, building it from `keys` on first use.
    static func bind(_ slot: inout ESPCryptoState?, transform: ESPTransform, keys: ESPKeys,
                     crypto: some CryptoProvider) throws(ESPError) -> ESPCryptoState {
        if let state = slot { return state }
        let state = try ESPCryptoState(transform: transform, keys: keys, crypto: crypto)
        slot = state
        return state
    }

    init(transform: ESPTransform, keys: ESPKeys, crypto: some CryptoProvider) throws(ESPError) {
        do {
            cipher = try crypto.makeKeyedCipher(transform.encryption, key: keys.encryptionKey)
            mac = try transform.integrity.map { try crypto.makeKeyedMAC($0.hash, key: keys.integrityKey) }
        } catch {
            throw .cryptoFailure
        }
        salt = keys.salt
        random = crypto
    }

    /// salt ‖ explicit IV, built on the stack, for one GCM call.
    func withNonce<R>(iv: UnsafeRawBufferPointer, _ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try withUnsafeTemporaryAllocation(byteCount: salt.count + iv.count, alignment: 1) { nonce in
            salt.withUnsafeBytes { nonce.copyMemory(from: $0) }
            UnsafeMutableRawBufferPointer(rebasing: nonce[salt.count...]).copyMemory(from: iv)
            return try body(UnsafeRawBufferPointer(nonce))
        }
    }
}

extension UnsafeMutableRawBufferPointer {
    /// A sub-buffer; the ranges come from length checks done before.
    @inline(__always)
    func part(_ range: Range<Int>) -> UnsafeMutableRawBufferPointer {
        UnsafeMutableRawBufferPointer(rebasing: self[range])
    }

    @inline(__always)
    func readOnly(_ range: Range<Int>) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(rebasing: self[range])
    }
}
