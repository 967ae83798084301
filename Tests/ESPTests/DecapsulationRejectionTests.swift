import ESP
import IPsecCrypto
import SLBWire
import Testing

/// Opens `packet`, expecting exactly `expected`.
func expectDrop(_ inbound: inout InboundSA, _ packet: [UInt8], _ expected: ESPError,
                sourceLocation: SourceLocation = #_sourceLocation) {
    do {
        _ = try inbound.open(packet, now: .zero, crypto: crypto)
        Issue.record("accepted a packet that should fail with \(expected)", sourceLocation: sourceLocation)
    } catch {
        #expect(error == expected, sourceLocation: sourceLocation)
    }
}

@Test(arguments: allTransforms)
func replayedPacketIsDropped(_ transform: ESPTransform) throws {
    var (outbound, inbound) = try makePair(transform)
    let packet = try outbound.seal(innerPacket(length: 60), now: .zero, crypto: crypto)
    _ = try inbound.open(packet, now: .zero, crypto: crypto)
    expectDrop(&inbound, packet, .replayed)
    #expect(inbound.counters.packets == 1)
}

@Test func reorderingInsideTheWindowIsAcceptedAndOldPacketsAreNot() throws {
    let transform = try ESPTransform(encryption: .aesGCM16, keyLength: 16, integrity: nil)
    var (outbound, inbound) = try makePair(transform, window: 64)
    var packets: [[UInt8]] = []
    for _ in 0..<200 { packets.append(try outbound.seal([0x45], now: .zero, crypto: crypto)) }
    // Deliver 100 first, then 37…99 backwards: all inside the 64-packet window.
    _ = try inbound.open(packets[99], now: .zero, crypto: crypto)          // seq 100
    for index in stride(from: 98, through: 36, by: -1) {                  // seq 99 … 37
        _ = try inbound.open(packets[index], now: .zero, crypto: crypto)
    }
    expectDrop(&inbound, packets[35], .outsideWindow)                     // seq 36: 100 − 36 = 64
    expectDrop(&inbound, packets[0], .outsideWindow)
    expectDrop(&inbound, packets[50], .replayed)
    // A jump far ahead empties the window; the old ones are now all outside it.
    _ = try inbound.open(packets[199], now: .zero, crypto: crypto)        // seq 200
    expectDrop(&inbound, packets[120], .outsideWindow)
    _ = try inbound.open(packets[150], now: .zero, crypto: crypto)        // seq 151, inside
    expectDrop(&inbound, packets[150], .replayed)
}

@Test(arguments: allTransforms)
func tamperedICVIsDroppedAndDoesNotMoveTheWindow(_ transform: ESPTransform) throws {
    var (outbound, inbound) = try makePair(transform)
    let packet = try outbound.seal(innerPacket(length: 80), now: .zero, crypto: crypto)
    var forged = packet
    forged[forged.count - 1] ^= 0x80
    expectDrop(&inbound, forged, .icvMismatch)
    #expect(inbound.replayWindow.highest == 0, "window updated only after integrity verification")
    // The genuine packet with the same sequence number still gets through.
    #expect(try inbound.open(packet, now: .zero, crypto: crypto).payload == innerPacket(length: 80))
}

@Test(arguments: allTransforms)
func everyFlippedBitIsCaught(_ transform: ESPTransform) throws {
    var (outbound, inbound) = try makePair(transform)
    let packet = try outbound.seal(innerPacket(length: 33), now: .zero, crypto: crypto)
    for index in packet.indices {
        var forged = packet
        forged[index] ^= 0x01
        let expected: ESPError = index < 4 ? .badSPI : (index == 7 ? .invalidSequenceNumber : .icvMismatch)
        expectDrop(&inbound, forged, expected)
    }
    #expect(inbound.counters.packets == 0)
    #expect(try inbound.open(packet, now: .zero, crypto: crypto).sequenceNumber == 1)
}

@Test(arguments: allTransforms)
func replayIsCheckedBeforeTheICV(_ transform: ESPTransform) throws {
    // RFC 4303 §3.4.3: a replayed sequence number is refused without spending an ICV
    // computation, so a forged packet with an old sequence number reports "replayed".
    var (outbound, inbound) = try makePair(transform)
    let packet = try outbound.seal([1, 2, 3, 4], now: .zero, crypto: crypto)
    _ = try inbound.open(packet, now: .zero, crypto: crypto)
    var forged = packet
    forged[forged.count - 1] ^= 0xFF
    expectDrop(&inbound, forged, .replayed)
}

@Test(arguments: allTransforms)
func everyTruncationIsRejectedWithoutACrash(_ transform: ESPTransform) throws {
    var (outbound, inbound) = try makePair(transform)
    let packet = try outbound.seal(innerPacket(length: 70), now: .zero, crypto: crypto)
    for length in 0..<packet.count {
        let prefix = Array(packet.prefix(length))
        do {
            _ = try inbound.open(prefix, now: .zero, crypto: crypto)
            Issue.record("accepted a \(length)-byte prefix")
        } catch {
            #expect([.truncated, .icvMismatch].contains(error), "prefix \(length): \(error)")
        }
    }
    // Also every suffix-less slice through the database path, and random garbage.
    var database = ESPSADatabase()
    try database.insert(inbound)
    for length in 0..<packet.count {
        #expect(throws: ESPError.self) { try database.open(Array(packet.prefix(length)), now: .zero, crypto: crypto) }
    }
    #expect(database.drops.total == UInt64(packet.count))
    #expect(try database.open(packet, now: .zero, crypto: crypto).payload == innerPacket(length: 70))
}

@Test func sequenceNumberZeroIsInvalid() throws {
    let transform = try ESPTransform(encryption: .aesCBC, keyLength: 16, integrity: .hmacSHA256_128)
    var (outbound, inbound) = try makePair(transform)
    var packet = try outbound.seal([9], now: .zero, crypto: crypto)
    packet[4] = 0; packet[5] = 0; packet[6] = 0; packet[7] = 0
    expectDrop(&inbound, packet, .invalidSequenceNumber)
}

@Test func wrongSPIIsRejected() throws {
    let transform = try ESPTransform(encryption: .aesGCM16, keyLength: 16, integrity: nil)
    var (outbound, _) = try makePair(transform, spi: 0x1111)
    var (_, inbound) = try makePair(transform, spi: 0x2222)
    expectDrop(&inbound, try outbound.seal([1], now: .zero, crypto: crypto), .badSPI)
}

// MARK: bad padding, built by hand with valid integrity so only the padding is wrong

enum PaddingFault: CaseIterable, Sendable {
    case padBytesNotCounting, padLengthLongerThanPlaintext, padBytesZero
}

/// Builds a CBC/HMAC or GCM packet around an arbitrary (already padded) plaintext.
func packet(_ transform: ESPTransform, keyMaterial: [UInt8], spi: UInt32, sequence: UInt32, plaintext: [UInt8]) throws -> [UInt8] {
    let keys = try ESPKeys(transform: transform, keyMaterial: keyMaterial)
    var bytes: [UInt8] = [UInt8(spi >> 24), UInt8((spi >> 16) & 0xFF), UInt8((spi >> 8) & 0xFF), UInt8(spi & 0xFF),
                          UInt8(sequence >> 24), UInt8((sequence >> 16) & 0xFF), UInt8((sequence >> 8) & 0xFF), UInt8(sequence & 0xFF)]
    if let integrity = transform.integrity {
        let iv = crypto.randomBytes(count: transform.ivLength)
        bytes += iv + (try crypto.cbcEncrypt(transform.encryption, key: keys.encryptionKey, iv: iv, plaintext: plaintext))
        bytes += crypto.hmac(integrity.hash, key: keys.integrityKey, data: bytes).prefix(integrity.icvLength)
    } else {
        let iv: [UInt8] = [0, 0, 0, 0] + Array(bytes[4..<8])
        bytes += iv + (try crypto.gcmSeal(key: keys.encryptionKey, nonce: keys.salt + iv, aad: Array(bytes[0..<8]), plaintext: plaintext))
    }
    return bytes
}

@Test(arguments: allTransforms, PaddingFault.allCases)
func badPaddingIsRejected(_ transform: ESPTransform, _ fault: PaddingFault) throws {
    let keyMaterial = crypto.randomBytes(count: transform.keyMaterialLength)
    var inbound = try InboundSA(spi: 0x4000, transform: transform, keyMaterial: keyMaterial, now: .zero)
    let alignment = transform.paddingAlignment
    let payload = innerPacket(length: 3 * alignment - 5)       // leaves 3 bytes of padding
    var plaintext: [UInt8]
    switch fault {
    case .padBytesNotCounting: plaintext = payload + [1, 3, 2, 3, 4]
    case .padBytesZero: plaintext = payload + [0, 0, 0, 3, 4]
    case .padLengthLongerThanPlaintext: plaintext = payload + [1, 2, 3, 250, 4]
    }
    // Keep whole blocks when the fault made the plaintext ragged (it never does here).
    #expect(plaintext.count % alignment == 0)
    let bytes = try packet(transform, keyMaterial: keyMaterial, spi: 0x4000, sequence: 1, plaintext: plaintext)
    expectDrop(&inbound, bytes, .badPadding)
    #expect(inbound.replayWindow.highest == 0)
    // The same payload with correct padding passes, proving only the padding was at fault.
    let good = try packet(transform, keyMaterial: keyMaterial, spi: 0x4000, sequence: 1, plaintext: payload + [1, 2, 3, 3, 4])
    #expect(try inbound.open(good, now: .zero, crypto: crypto).payload == payload)
}
