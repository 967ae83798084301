import ESP
import IPsecCrypto
import SLBWire
import Testing

enum Framing: CaseIterable, Sendable {
    /// IP protocol 50: the IP payload is the ESP packet.
    case rawESP
    /// UDP 4500 (RFC 3948): the UDP payload is the ESP packet, found by the demux.
    case udpEncapsulated
}

/// Hands the ESP bytes to the receiver the way each framing delivers them.
func deliver(_ packet: [UInt8], via framing: Framing) -> [UInt8]? {
    switch framing {
    case .rawESP:
        return packet
    case .udpEncapsulated:
        guard classifyNATTDatagram(packet) == .esp else { return nil }
        return packet
    }
}

@Test(arguments: allTransforms, Framing.allCases)
func roundTripEveryAlgorithmSet(_ transform: ESPTransform, _ framing: Framing) throws {
    var (outbound, inbound) = try makePair(transform)
    // Lengths around every alignment boundary, plus an empty and an MTU-sized payload.
    let lengths = Array(0...40) + [63, 64, 65, 1400, 1500]
    for (index, length) in lengths.enumerated() {
        let payload = innerPacket(length: length, seed: UInt8(truncatingIfNeeded: index))
        let packet = try outbound.seal(payload, now: .zero, crypto: crypto)

        let ciphertextLength = packet.count - 8 - transform.ivLength - transform.icvLength
        #expect(ciphertextLength % transform.paddingAlignment == 0)
        #expect(ciphertextLength % 4 == 0, "RFC 4303 §2.4: ICV starts 4-byte aligned")
        #expect(ciphertextLength - length - 2 < transform.paddingAlignment, "minimal padding")
        #expect(Array(packet[0..<4]) == [0xC0, 0xDE, 0x00, 0x01])
        #expect(Array(packet[4..<8]) == [0, 0, 0, UInt8(index + 1)])

        let received = try #require(deliver(packet, via: framing))
        let opened = try inbound.open(received, now: .zero, crypto: crypto)
        #expect(opened.payload == payload)
        #expect(opened.nextHeader == ESPNextHeader.ipv4)
        #expect(opened.sequenceNumber == UInt32(index + 1))
    }
    #expect(outbound.counters.packets == UInt64(lengths.count))
    #expect(inbound.counters == outbound.counters)
}

@Test(arguments: allTransforms)
func paddingIsOneTwoThree(_ transform: ESPTransform) throws {
    // Decrypt by hand (not through InboundSA) to see the trailer the sender wrote.
    let keyMaterial = crypto.randomBytes(count: transform.keyMaterialLength)
    var outbound = try OutboundSA(spi: 0x1000, transform: transform, keyMaterial: keyMaterial, now: .zero)
    let keys = try ESPKeys(transform: transform, keyMaterial: keyMaterial)
    for length in 0..<20 {
        let packet = try outbound.seal(innerPacket(length: length), nextHeader: 41, now: .zero, crypto: crypto)
        let ivEnd = 8 + transform.ivLength
        let plaintext: [UInt8]
        if transform.encryption.isAEAD {
            plaintext = try crypto.gcmOpen(key: keys.encryptionKey, nonce: keys.salt + Array(packet[8..<ivEnd]),
                                           aad: Array(packet[0..<8]), ciphertextAndTag: Array(packet[ivEnd...]))
        } else {
            plaintext = try crypto.cbcDecrypt(transform.encryption, key: keys.encryptionKey, iv: Array(packet[8..<ivEnd]),
                                              ciphertext: Array(packet[ivEnd..<(packet.count - transform.icvLength)]))
        }
        let padLength = Int(plaintext[plaintext.count - 2])
        #expect(plaintext.last == 41)
        #expect(padLength == plaintext.count - 2 - length)
        #expect(Array(plaintext[length..<(length + padLength)]) == (0..<padLength).map { UInt8($0 + 1) })
    }
}

@Test(arguments: allTransforms.filter { $0.encryption.isAEAD })
func gcmIVIsTheSequenceNumberAndNeverRepeats(_ transform: ESPTransform) throws {
    var (outbound, _) = try makePair(transform)
    var seen = Set<[UInt8]>()
    for sequence in 1...2000 as ClosedRange<UInt32> {
        let packet = try outbound.seal([0x45, 0, 0, 20], now: .zero, crypto: crypto)
        let iv = Array(packet[8..<16])
        #expect(iv == [0, 0, 0, 0] + [UInt8(sequence >> 24), UInt8((sequence >> 16) & 0xFF), UInt8((sequence >> 8) & 0xFF), UInt8(sequence & 0xFF)])
        #expect(seen.insert(iv).inserted)
    }
}

@Test(arguments: allTransforms.filter { !$0.encryption.isAEAD })
func cbcIVIsFreshPerPacket(_ transform: ESPTransform) throws {
    var (outbound, _) = try makePair(transform)
    var seen = Set<[UInt8]>()
    for _ in 0..<500 {
        let packet = try outbound.seal([1, 2, 3], now: .zero, crypto: crypto)
        #expect(seen.insert(Array(packet[8..<(8 + transform.ivLength)])).inserted)
    }
}

@Test func transformRulesAreEnforced() {
    #expect(throws: ESPError.invalidTransform) { try ESPTransform(encryption: .aesCBC, keyLength: 16, integrity: nil) }
    #expect(throws: ESPError.invalidTransform) { try ESPTransform(encryption: .aesGCM16, keyLength: 16, integrity: .hmacSHA256_128) }
    #expect(throws: ESPError.invalidTransform) { try ESPTransform(encryption: .aesCBC, keyLength: 20, integrity: .hmacSHA1_96) }
    #expect(throws: ESPError.invalidTransform) { try ESPTransform(encryption: .tripleDESCBC, keyLength: 16, integrity: .hmacSHA1_96) }
}

@Test func keyMaterialIsSplitKeyThenSaltThenIntegrity() throws {
    let gcm = try ESPTransform(encryption: .aesGCM16, keyLength: 32, integrity: nil)
    #expect(gcm.keyMaterialLength == 36)
    let gcmKeys = try ESPKeys(transform: gcm, keyMaterial: Array(0..<36))
    #expect(gcmKeys.encryptionKey == Array(0..<32))
    #expect(gcmKeys.salt == [32, 33, 34, 35])
    #expect(gcmKeys.integrityKey.isEmpty)

    let cbc = try ESPTransform(encryption: .aesCBC, keyLength: 16, integrity: .hmacSHA256_128)
    #expect(cbc.keyMaterialLength == 48)
    let cbcKeys = try ESPKeys(transform: cbc, keyMaterial: Array(0..<48))
    #expect(cbcKeys.encryptionKey == Array(0..<16))
    #expect(cbcKeys.salt.isEmpty)
    #expect(cbcKeys.integrityKey == Array(16..<48))
    #expect(throws: ESPError.invalidTransform) { try ESPKeys(transform: cbc, keyMaterial: Array(0..<47)) }
}

@Test func reservedSPIsAreRefused() throws {
    let transform = try ESPTransform(encryption: .aesGCM16, keyLength: 16, integrity: nil)
    for spi: UInt32 in [0, 1, 255] {
        #expect(throws: ESPError.invalidTransform) {
            try OutboundSA(spi: spi, transform: transform, keyMaterial: [UInt8](repeating: 0, count: 20), now: .zero)
        }
        #expect(throws: ESPError.invalidTransform) {
            try InboundSA(spi: spi, transform: transform, keyMaterial: [UInt8](repeating: 0, count: 20), now: .zero)
        }
    }
}
