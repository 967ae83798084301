import IPsecCrypto
import SLBWire

/// The sending half of an ESP SA: builds tunnel-mode ESP packets (RFC 4303 §3.3).
///
/// A value type owned by one data-path worker. The first `seal` builds a keyed cipher and
/// MAC from the provider it is given (later calls reuse them, so the first provider stays
/// bound to the SA); every `seal` writes the whole packet into one buffer and encrypts and
/// authenticates it in place (one allocation per packet).
///
/// Keep exactly one live copy per SA: two copies would each count from the same sequence
/// number, and for AES-GCM that reuses IVs under one key, which breaks GCM completely
/// (RFC 4106 §3.1). Store it in one place and mutate it there.
public struct OutboundSA: Sendable {
    public let spi: UInt32
    public let transform: ESPTransform
    let keys: ESPKeys
    var keyed: ESPCryptoState?
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
        let ivEnd = espHeaderLength + transform.ivLength
        let ciphertextEnd = ivEnd + payload.count + padLength + espTrailerLength
        let total = ciphertextEnd + transform.icvLength

        let state = try ESPCryptoState.bind(&keyed, transform: transform, keys: keys, crypto: crypto)
        let packet: [UInt8]
        do {
            // One allocation: header, IV, payload, trailer and ICV are written straight into
            // the packet's storage, then encrypted and authenticated in place.
            packet = try [UInt8](unsafeUninitializedCapacity: total) { storage, initialized in
                let raw = UnsafeMutableRawBufferPointer(storage)
                raw.storeBytes(of: spi.bigEndian, toByteOffset: 0, as: UInt32.self)
                raw.storeBytes(of: sequence.bigEndian, toByteOffset: 4, as: UInt32.self)
                payload.withUnsafeBytes { raw.part(ivEnd..<(ivEnd + payload.count)).copyMemory(from: $0) }
                var offset = ivEnd + payload.count
                for pad in 0..<padLength {
                    raw[offset] = UInt8(pad + 1)
                    offset += 1
                }
                raw[offset] = UInt8(padLength)
                raw[offset + 1] = nextHeader
                initialized = total

                let iv = espHeaderLength..<ivEnd
                let ciphertext = ivEnd..<ciphertextEnd
                let icv = ciphertextEnd..<total
                if let mac = state.mac {
                    // CBC: a fresh unpredictable IV per packet (RFC 3602 §3), then
                    // encrypt-then-MAC over SPI ‖ Seq ‖ IV ‖ ciphertext (§3.3.4), truncated.
                    state.random.fillRandom(raw.part(iv))
                    try state.cipher.cbcEncrypt(iv: raw.readOnly(iv), data: raw.part(ciphertext))
                    try mac.authenticate(raw.readOnly(0..<ciphertextEnd), into: raw.part(icv))
                } else {
                    // GCM: the 8-byte IV must never repeat under one key (RFC 4106 §3.1);
                    // sequence numbers never repeat within an SA, so the IV is the
                    // zero-extended sequence number. AAD is SPI ‖ Seq (§5, no ESN); the tag
                    // is the ICV.
                    raw.storeBytes(of: UInt64(sequence).bigEndian, toByteOffset: espHeaderLength, as: UInt64.self)
                    try state.withNonce(iv: raw.readOnly(iv)) { nonce in
                        try state.cipher.gcmSeal(nonce: nonce, aad: raw.readOnly(0..<espHeaderLength),
                                                 data: raw.part(ciphertext), tag: raw.part(icv))
                    }
                }
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
