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
    /// padding check, and only then the window update.
    public mutating func open(_ packet: [UInt8], now: MonotonicTime, crypto: some CryptoProvider) throws(ESPError) -> ESPDecapsulated {
        let ivLength = transform.ivLength
        let icvLength = transform.icvLength
        guard packet.count >= espHeaderLength + ivLength + transform.minimumCiphertextLength + icvLength else {
            throw .truncated
        }
        let ciphertextStart = espHeaderLength + ivLength
        let ciphertextEnd = packet.count - icvLength
        guard (ciphertextEnd - ciphertextStart) % transform.paddingAlignment == 0 else { throw .truncated }

        guard readBigEndian32(packet, at: 0) == spi else { throw .badSPI }
        let sequence = readBigEndian32(packet, at: 4)
        try Self.throwIfRejected(replayWindow.check(sequence))
        guard lifetimeState(now: now) != .expired else { throw .saExpired }

        var plaintext: [UInt8]
        if let integrity = transform.integrity {
            let authenticated = Array(packet[0..<ciphertextEnd])
            let mac = crypto.hmac(integrity.hash, key: keys.integrityKey, data: authenticated)
            guard constantTimeEqual(mac.prefix(icvLength), packet[ciphertextEnd...]) else { throw .icvMismatch }
            do {
                plaintext = try crypto.cbcDecrypt(transform.encryption, key: keys.encryptionKey,
                                                  iv: Array(packet[espHeaderLength..<ciphertextStart]),
                                                  ciphertext: Array(packet[ciphertextStart..<ciphertextEnd]))
            } catch {
                throw .cryptoFailure
            }
        } else {
            var nonce = keys.salt
            nonce.append(contentsOf: packet[espHeaderLength..<ciphertextStart])
            do {
                plaintext = try crypto.gcmOpen(key: keys.encryptionKey, nonce: nonce,
                                               aad: Array(packet[0..<espHeaderLength]),
                                               ciphertextAndTag: Array(packet[ciphertextStart...]))
            } catch let error as CryptoError where error.code == .authenticationFailed {
                throw .icvMismatch
            } catch {
                throw .cryptoFailure
            }
        }

        // §2.4: Pad Length must fit, and padding must be 1, 2, 3, … (the cipher does not
        // define other contents for CBC or GCM in ESP).
        guard plaintext.count >= espTrailerLength else { throw .badPadding }
        let nextHeader = plaintext[plaintext.count - 1]
        let padLength = Int(plaintext[plaintext.count - 2])
        let payloadLength = plaintext.count - espTrailerLength - padLength
        guard payloadLength >= 0 else { throw .badPadding }
        var expected: UInt8 = 1
        for index in payloadLength..<(payloadLength + padLength) {
            guard plaintext[index] == expected else { throw .badPadding }
            expected &+= 1
        }

        try Self.throwIfRejected(replayWindow.accept(sequence))
        plaintext.removeLast(padLength + espTrailerLength)
        counters.packets &+= 1
        counters.bytes &+= UInt64(plaintext.count)
        return ESPDecapsulated(payload: plaintext, nextHeader: nextHeader, sequenceNumber: sequence)
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
