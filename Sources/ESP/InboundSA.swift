import IPsecCrypto
import SLBWire

/// An authenticated, decrypted ESP payload.
public struct ESPDecapsulated: Hashable, Sendable {
    /// The inner packet (an IPv4 packet when `nextHeader` is 4).
    public var payload: [UInt8]
    /// 4 = IPv4 (tunnel mode). 59 is a TFC dummy the caller must drop (RFC 4303 §2.6).
    public var nextHeader: UInt8
    public var sequenceNumber: UInt32
}

/// The receiving half of an ESP SA (RFC 4303 §3.4).
public struct InboundSA: Sendable {
    public let spi: UInt32
    public let transform: ESPTransform
    let keys: ESPKeys
    /// Keyed cipher/MAC, built by the first `open` from its provider and reused after.
    var keyed: ESPCryptoState?
    public let lifetime: ESPLifetime
    public let established: MonotonicTime
    public private(set) var replayWindow: ReplayWindow
    public private(set) var counters = ESPCounters()

    public init(spi: UInt32, transform: ESPTransform, keyMaterial: [UInt8],
                lifetime: ESPLifetime = .unlimited, replayWindowSize: Int = ReplayWindow.defaultSize,
                now: MonotonicTime) throws(ESPError) {
        guard spi >= minimumSPI else { throw .invalidTransform }
        self.spi = spi
        self.transform = transform
        self.keys = try ESPKeys(transform: transform, keyMaterial: keyMaterial)
        self.lifetime = lifetime
        self.established = now
        self.replayWindow = ReplayWindow(size: replayWindowSize)
    }

    public func lifetimeState(now: MonotonicTime) -> ESPLifetimeState {
        lifetime.state(counters: counters, established: established, now: now)
    }

    /// Processes one ESP packet (SPI through ICV) in RFC 4303 §3.4 order: length and SPI,
    /// replay pre-check, ICV (constant time for HMAC; GCM's tag inside OpenSSL), decrypt,
    /// padding check, and only then the window update. Decrypts in place in the packet's
    /// own buffer and returns that buffer trimmed to the inner packet.
    public mutating func open(_ packet: consuming [UInt8], now: MonotonicTime, crypto: some CryptoProvider) throws(ESPError) -> ESPDecapsulated {
        var buffer = packet
        let ivEnd = espHeaderLength + transform.ivLength
        let icvLength = transform.icvLength
        guard buffer.count >= ivEnd + transform.minimumCiphertextLength + icvLength else { throw .truncated }
        let ciphertextEnd = buffer.count - icvLength
        guard (ciphertextEnd - ivEnd) % transform.paddingAlignment == 0 else { throw .truncated }

        guard readBigEndian32(buffer, at: 0) == spi else { throw .badSPI }
        let sequence = readBigEndian32(buffer, at: 4)
        try Self.throwIfRejected(replayWindow.check(sequence))
        guard lifetimeState(now: now) != .expired else { throw .saExpired }

        let state = try ESPCryptoState.bind(&keyed, transform: transform, keys: keys, crypto: crypto)
        let total = buffer.count
        do {
            try buffer.withUnsafeMutableBytes { raw in
                let iv = espHeaderLength..<ivEnd
                let ciphertext = ivEnd..<ciphertextEnd
                let icv = ciphertextEnd..<total
                if let mac = state.mac {
                    let verified = try withUnsafeTemporaryAllocation(byteCount: icvLength, alignment: 1) { computed in
                        try mac.authenticate(raw.readOnly(0..<ciphertextEnd), into: computed)
                        return constantTimeEqual(UnsafeRawBufferPointer(computed), raw.readOnly(icv))
                    }
                    guard verified else { throw ESPError.icvMismatch }
                    try state.cipher.cbcDecrypt(iv: raw.readOnly(iv), data: raw.part(ciphertext))
                } else {
                    do {
                        try state.withNonce(iv: raw.readOnly(iv)) { nonce in
                            try state.cipher.gcmOpen(nonce: nonce, aad: raw.readOnly(0..<espHeaderLength),
                                                     data: raw.part(ciphertext), tag: raw.readOnly(icv))
                        }
                    } catch let error as CryptoError where error.code == .authenticationFailed {
                        throw ESPError.icvMismatch
                    }
                }
            }
        } catch let error as ESPError {
            throw error
        } catch {
            throw .cryptoFailure
        }

        // §2.4: Pad Length must fit, and padding must be 1, 2, 3, … (the cipher does not
        // define other contents for CBC or GCM in ESP).
        let nextHeader = buffer[ciphertextEnd - 1]
        let padLength = Int(buffer[ciphertextEnd - 2])
        let payloadEnd = ciphertextEnd - espTrailerLength - padLength
        guard payloadEnd >= ivEnd else { throw .badPadding }
        var expected: UInt8 = 1
        for index in payloadEnd..<(payloadEnd + padLength) {
            guard buffer[index] == expected else { throw .badPadding }
            expected &+= 1
        }

        try Self.throwIfRejected(replayWindow.accept(sequence))
        buffer.removeSubrange(payloadEnd...)
        buffer.removeSubrange(0..<ivEnd)
        counters.packets &+= 1
        counters.bytes &+= UInt64(buffer.count)
        return ESPDecapsulated(payload: buffer, nextHeader: nextHeader, sequenceNumber: sequence)
    }

    private static func throwIfRejected(_ verdict: ReplayWindow.Verdict) throws(ESPError) {
        switch verdict {
        case .fresh: return
        case .replayed: throw .replayed
        case .outsideWindow: throw .outsideWindow
        case .invalid: throw .invalidSequenceNumber
        }
    }
}
