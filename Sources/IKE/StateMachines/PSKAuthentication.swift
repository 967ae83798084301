import IPsecCrypto

/// Pre-shared-key AUTH (RFC 7296 §2.15):
/// AUTH = prf( prf(Shared Secret, "Key Pad for IKEv2"), <SignedOctets> ), where
/// InitiatorSignedOctets = RealMessage1 | NonceRData | prf(SK_pi, RestOfInitIDPayload) and
/// ResponderSignedOctets = RealMessage2 | NonceIData | prf(SK_pr, RestOfRespIDPayload).
public enum PSKAuthentication {
    /// §2.15: the 17 ASCII octets, no terminating NUL.
    public static let keyPad: [UInt8] = Array("Key Pad for IKEv2".utf8)

    public static func authData(_ crypto: some CryptoProvider, prf: PRFAlgorithm, psk: [UInt8],
                                realMessage: [UInt8], peerNonce: [UInt8], skP: [UInt8],
                                identity: IdentificationPayload) -> [UInt8] {
        let signed = realMessage + peerNonce + KeyDerivation.prf(crypto, prf, key: skP, identity.body)
        let padded = KeyDerivation.prf(crypto, prf, key: psk, keyPad)
        return KeyDerivation.prf(crypto, prf, key: padded, signed)
    }

    /// Constant-time check of a received AUTH payload (method 2 only).
    public static func verify(_ auth: AuthenticationPayload, _ crypto: some CryptoProvider, prf: PRFAlgorithm,
                              psk: [UInt8], realMessage: [UInt8], peerNonce: [UInt8], skP: [UInt8],
                              identity: IdentificationPayload) -> Bool {
        guard auth.method == AuthenticationPayload.sharedKeyMIC else { return false }
        let expected = authData(crypto, prf: prf, psk: psk, realMessage: realMessage, peerNonce: peerNonce,
                                skP: skP, identity: identity)
        return constantTimeEqual(expected, auth.data)
    }
}
