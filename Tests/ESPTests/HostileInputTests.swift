import ESP
import IPsecCrypto
import Testing

/// Deterministic pseudo-random bytes (SplitMix64), so a failure reproduces.
struct SplitMix: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

@Test(arguments: allTransforms)
func garbageWithAValidSPINeverDecapsulates(_ transform: ESPTransform) throws {
    var (_, inbound) = try makePair(transform, spi: 0xC0DE_0001)
    var random = SplitMix(state: UInt64(transform.keyMaterialLength) << 8 | UInt64(transform.icvLength))
    for _ in 0..<2000 {
        let length = Int.random(in: 0...200, using: &random)
        var packet = (0..<length).map { _ in UInt8.random(in: 0...255, using: &random) }
        if packet.count >= 4 { packet.replaceSubrange(0..<4, with: [0xC0, 0xDE, 0x00, 0x01]) }
        #expect(throws: ESPError.self) { try inbound.open(packet, now: .zero, crypto: crypto) }
    }
    #expect(inbound.counters.packets == 0)
    #expect(inbound.replayWindow.highest == 0, "garbage never moves the window")
}

@Test func demuxNeverTrapsOnGarbage() {
    var random = SplitMix(state: 4500)
    var seen: Set<String> = []
    for _ in 0..<20_000 {
        let length = Int.random(in: 0...64, using: &random)
        var payload = (0..<length).map { _ in UInt8.random(in: 0...255, using: &random) }
        if Bool.random(using: &random), payload.count >= 4 { payload.replaceSubrange(0..<4, with: nonESPMarker) }
        switch classifyNATTDatagram(payload) {
        case .ike(let message):
            #expect(Array(payload.prefix(4)) == nonESPMarker)
            #expect(message.count == payload.count - 4)
            seen.insert("ike")
        case .esp:
            #expect(payload.count >= 8 && payload.prefix(4) != [0, 0, 0, 0])
            seen.insert("esp")
        case .keepalive: seen.insert("keepalive")
        case .invalid: seen.insert("invalid")
        }
    }
    #expect(seen.isSuperset(of: ["ike", "esp", "invalid"]))
}
