import IPsecCrypto

/// Keys protecting one direction of an IKE SA's messages.
public struct SKCipher: Hashable, Sendable {
    public var encryption: EncryptionAlgorithm
    /// SK_e: key, plus the 4-octet salt for AES-GCM (RFC 5282 §7.1).
    public var encryptionKey: [UInt8]
    public var integrity: IntegrityAlgorithm?
    public var integrityKey: [UInt8]

    public init(encryption: EncryptionAlgorithm, encryptionKey: [UInt8], integrity: IntegrityAlgorithm?, integrityKey: [UInt8]) {
        self.encryption = encryption
        self.encryptionKey = encryptionKey
        self.integrity = integrity
        self.integrityKey = integrityKey
    }

    var icvLength: Int { encryption.isAEAD ? encryption.aeadTagLength : (integrity?.icvLength ?? 0) }
    var cipherKey: [UInt8] { Array(encryptionKey.dropLast(encryption.saltLength)) }
    var salt: [UInt8] { Array(encryptionKey.suffix(encryption.saltLength)) }
}

/// The Encrypted payload (RFC 7296 §3.14; RFC 5282 for AES-GCM).
/// ```
/// | Next Payload  |C|  RESERVED   |         Payload Length        |
/// |                     Initialization Vector                     |
/// ~                    Encrypted IKE Payloads                     ~
/// |               |             Padding (0-255 octets)            |
/// |                                               |  Pad Length   |
/// ~                    Integrity Checksum Data                    ~
/// ```
/// CBC: random IV, ICV = truncated HMAC over the message from the IKE header through the last
/// ciphertext octet, checked in constant time before decrypting. GCM: 8-octet explicit IV,
/// nonce = salt ‖ IV, AAD = IKE header ‖ SK generic header (RFC 5282 §5.1), 16-octet tag.
public enum SKCodec {
    /// Builds a whole protected message whose only outer payload is SK.
    /// `iv` must be `cipher.encryption.ivLength` octets: random for CBC, unique (a counter)
    /// for GCM.
    public static func seal(header: IKEHeader, payloads: [Payload], cipher: SKCipher, iv: [UInt8],
                            crypto: some CryptoProvider) throws -> [UInt8] {
        var inner: [UInt8] = []
        let first = PayloadChain.serialize(payloads, into: &inner)
        let block = cipher.encryption.isAEAD ? 1 : cipher.encryption.blockSize
        let padLength = (block - (inner.count + 1) % block) % block
        inner += [UInt8](repeating: 0, count: padLength)
        inner.append(UInt8(padLength))

        let ciphertextLength = inner.count
        let skLength = PayloadChain.genericHeaderLength + iv.count + ciphertextLength + cipher.icvLength
        var h = header
        h.nextPayload = .encrypted
        h.length = UInt32(IKEHeader.length + skLength)
        var out: [UInt8] = []
        out.reserveCapacity(Int(h.length))
        h.serialize(into: &out)
        out.append(first.rawValue)
        out.append(0)
        out.appendU16(UInt16(truncatingIfNeeded: skLength))
        if cipher.encryption.isAEAD {
            let aad = out
            out += iv
            out += try crypto.gcmSeal(key: cipher.cipherKey, nonce: cipher.salt + iv, aad: aad, plaintext: inner)
        } else {
            guard let integrity = cipher.integrity else { throw IKEError(.crypto, "CBC without integrity") }
            out += iv
            out += try crypto.cbcEncrypt(cipher.encryption, key: cipher.encryptionKey, iv: iv, plaintext: inner)
            let mac = crypto.hmac(integrity.hash, key: cipher.integrityKey, data: out)
            out += mac.prefix(integrity.icvLength)
        }
        return out
    }

    /// Verifies and decrypts the SK payload of `message` (the datagram as received, without
    /// a non-ESP marker) and parses the inner payload chain.
    public static func open(_ message: [UInt8], sk: EncryptedPayload, cipher: SKCipher,
                            crypto: some CryptoProvider) throws -> [Payload] {
        let ivLength = cipher.encryption.ivLength
        let icv = cipher.icvLength
        let body = sk.body
        let aadEnd = sk.headerOffset + PayloadChain.genericHeaderLength
        guard aadEnd + body.count == message.count else {
            throw IKEError(.invalidLength, "SK payload does not end the message")
        }
        let plaintext: [UInt8]
        if cipher.encryption.isAEAD {
            // IV, at least the Pad Length octet, and the tag.
            guard body.count >= ivLength + 1 + icv else { throw IKEError(.truncated, "SK payload of \(body.count) octets") }
            let iv = Array(body.prefix(ivLength))
            do {
                plaintext = try crypto.gcmOpen(key: cipher.cipherKey, nonce: cipher.salt + iv,
                                               aad: Array(message.prefix(aadEnd)),
                                               ciphertextAndTag: Array(body.dropFirst(ivLength)))
            } catch {
                throw IKEError(.integrityCheckFailed, "AEAD tag")
            }
        } else {
            guard let integrity = cipher.integrity else { throw IKEError(.crypto, "CBC without integrity") }
            let block = cipher.encryption.blockSize
            let ciphertextLength = body.count - ivLength - icv
            guard ciphertextLength >= block, ciphertextLength % block == 0 else {
                throw IKEError(.invalidLength, "SK ciphertext of \(ciphertextLength) octets")
            }
            let macEnd = message.count - icv
            let expected = crypto.hmac(integrity.hash, key: cipher.integrityKey, data: Array(message.prefix(macEnd)))
            guard constantTimeEqual(expected.prefix(icv), message.suffix(icv)) else {
                throw IKEError(.integrityCheckFailed, "ICV")
            }
            let iv = Array(body.prefix(ivLength))
            let ct = Array(body.dropFirst(ivLength).prefix(ciphertextLength))
            do {
                plaintext = try crypto.cbcDecrypt(cipher.encryption, key: cipher.encryptionKey, iv: iv, ciphertext: ct)
            } catch {
                throw IKEError(.crypto, "CBC decrypt")
            }
        }
        guard let padLength = plaintext.last, Int(padLength) + 1 <= plaintext.count else {
            throw IKEError(.invalidSyntax, "SK pad length")
        }
        let inner = plaintext.prefix(plaintext.count - Int(padLength) - 1)
        return try PayloadChain.parse(first: sk.firstInnerPayload, inner)
    }
}
