import IPsecCrypto
import SLBWire

/// The sending half of an ESP SA: builds tunnel-mode ESP packets (RFC 4303 §3.3).
///
/// A value type owned by one data-path worker; it holds no crypto context, so the crypto
/// provider is passed to `seal` (generic, so the call specialises with no existential).
public struct OutboundSA: Sendable {
    public let spi: UInt32
    public let transform: ESPTransform
    let keys: ESPKeys
    public let lifetime: ESPLifetime
    public let established: MonotonicTime
    /// The sequence number of the last packet sent; 0 before the first (§3.3.3).
    public internal(set) var lastSequenceNumber: UInt32 = 0
    public private(set) var counters = ESPCounters()

    /// Sequence numbers left before this threshold count as "rekey due", so a replacement is
    /// negotiated long before the hard stop at 2^32 − 1 (§3.3.3: the sender MUST NOT cycle).
    public static let sequenceRekeyThreshold: UInt32 = UInt32.max - (1 << 24)

    public init(spi: UInt32, transform: ESPTransform, keyMaterial: [UInt8],
                lifetime: ESPLifetime = .unlimited, now: MonotonicTime) throws(ESPError) {
        guard spi >= minimumSPI else { throw .invalidTransform }
        self.spi = spi
        self.transform = transform
        self.keys = try ESPKeys(transform: transform, keyMaterial: keyMaterial)
        self.lifetime = lifetime
        self.established = now
    }

    public func lifetimeState(now: MonotonicTime) -> ESPLifetimeState {
        if lastSequenceNumber == UInt32.max { return .expired }
        let byTraffic = lifetime.state(counters: counters, established: established, now: now)
        return lastSequenceNumber >= Self.sequenceRekeyThreshold ? max(byTraffic, .rekeyDue) : byTraffic
    }

    /// Encrypts one inner packet into an ESP packet (from the SPI through the ICV), ready to
    /// be the payload of IP protocol 50 or of UDP 4500 (RFC 3948 §2.1, same bytes).
    ///
    /// Throws `.sequenceNumberExhausted` once 2^32 − 1 packets were sent and `.saExpired`
    /// after a hard lifetime; both mean "rekey". Check `lifetimeState(now:)` for the soft
    /// "rekey due" signal.
    public mutating func seal(_ payload: [UInt8], nextHeader: UInt8 = ESPNextHeader.ipv4,
                              now: MonotonicTime, crypto: some CryptoProvider) throws(ESPError) -> [UInt8] {
        guard lastSequenceNumber < UInt32.max else { throw .sequenceNumberExhausted }
        guard lifetime.state(counters: counters, established: established, now: now) != .expired else { throw .saExpired }
        let sequence = lastSequenceNumber + 1

        // §2.4: pad so payload + padding + 2 is a multiple of the alignment; padding bytes
        // are 1, 2, 3, … (receivers such as strongSwan's libipsec check them).
        let alignment = transform.paddingAlignment
        let padLength = (alignment - (payload.count + espTrailerLength) % alignment) % alignment
        var plaintext: [UInt8] = []
        plaintext.reserveCapacity(payload.count + padLength + espTrailerLength)
        plaintext.append(contentsOf: payload)
        if padLength > 0 {
            for pad in 1...padLength { plaintext.append(UInt8(pad)) }
        }
        plaintext.append(UInt8(padLength))
        plaintext.append(nextHeader)

        var packet: [UInt8] = []
        packet.reserveCapacity(espHeaderLength + transform.ivLength + plaintext.count + transform.icvLength)
        packet.appendBigEndian(spi)
        packet.appendBigEndian(sequence)

        do {
            if let integrity = transform.integrity {
                // CBC: a fresh unpredictable IV per packet (RFC 3602 §3), then encrypt-then-MAC
                // over SPI ‖ Seq ‖ IV ‖ ciphertext (§3.3.4).
                let iv = crypto.randomBytes(count: transform.ivLength)
                let ciphertext = try crypto.cbcEncrypt(transform.encryption, key: keys.encryptionKey, iv: iv, plaintext: plaintext)
                packet.append(contentsOf: iv)
                packet.append(contentsOf: ciphertext)
                let mac = crypto.hmac(integrity.hash, key: keys.integrityKey, data: packet)
                packet.append(contentsOf: mac.prefix(integrity.icvLength))
            } else {
                // GCM: the 8-byte IV must never repeat under one key (RFC 4106 §3.1); the
                // sequence number never repeats within an SA, so it is the IV. AAD is
                // SPI ‖ Seq (§5, no ESN).
                var nonce = keys.salt
                nonce.reserveCapacity(keys.salt.count + transform.ivLength)
                nonce.appendBigEndian(0)
                nonce.appendBigEndian(sequence)
                let aad = Array(packet[0..<espHeaderLength])
                let sealed = try crypto.gcmSeal(key: keys.encryptionKey, nonce: nonce, aad: aad, plaintext: plaintext)
                packet.append(contentsOf: nonce[keys.salt.count...])
                packet.append(contentsOf: sealed)
            }
        } catch {
            throw .cryptoFailure
        }

        lastSequenceNumber = sequence
        counters.packets &+= 1
        counters.bytes &+= UInt64(payload.count)
        return packet
    }
}
