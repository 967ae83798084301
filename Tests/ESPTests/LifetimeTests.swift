@testable import ESP
import IPsecCrypto
import SLBWire
import Testing

let gcm128 = try! ESPTransform(encryption: .aesGCM16, keyLength: 16, integrity: nil)

@Test func sequenceNumbersRunOutAt2To32Minus1() throws {
    var (outbound, inbound) = try makePair(gcm128)
    outbound.lastSequenceNumber = UInt32.max - 2
    #expect(outbound.lifetimeState(now: .zero) == .rekeyDue)
    let last2 = try outbound.seal([1], now: .zero, crypto: crypto)
    let last = try outbound.seal([2], now: .zero, crypto: crypto)
    #expect(outbound.lastSequenceNumber == UInt32.max)
    #expect(outbound.lifetimeState(now: .zero) == .expired)
    #expect(throws: ESPError.sequenceNumberExhausted) { try outbound.seal([3], now: .zero, crypto: crypto) }
    #expect(outbound.lastSequenceNumber == UInt32.max, "never wraps to 0 (RFC 4303 §3.3.3)")
    // The receiver handles the top of the space (no overflow in the window arithmetic).
    #expect(try inbound.open(last, now: .zero, crypto: crypto).sequenceNumber == UInt32.max)
    #expect(try inbound.open(last2, now: .zero, crypto: crypto).sequenceNumber == UInt32.max - 1)
    #expect(throws: ESPError.replayed) { try inbound.open(last, now: .zero, crypto: crypto) }
}

@Test func rekeyIsDueWellBeforeExhaustion() throws {
    var (outbound, _) = try makePair(gcm128)
    outbound.lastSequenceNumber = OutboundSA.sequenceRekeyThreshold - 1
    #expect(outbound.lifetimeState(now: .zero) == .valid)
    _ = try outbound.seal([1], now: .zero, crypto: crypto)
    #expect(outbound.lifetimeState(now: .zero) == .rekeyDue)
}

struct LifetimeCase: Sendable, CustomTestStringConvertible {
    let name: String
    let lifetime: ESPLifetime
    /// Packets of 100 bytes sent one second apart; the state after each.
    let expected: [ESPLifetimeState]
    var testDescription: String { name }
}

@Test(arguments: [
    LifetimeCase(name: "packets", lifetime: ESPLifetime(softPackets: 2, hardPackets: 4),
                 expected: [.valid, .rekeyDue, .rekeyDue, .expired]),
    LifetimeCase(name: "bytes", lifetime: ESPLifetime(softBytes: 250, hardBytes: 400),
                 expected: [.valid, .valid, .rekeyDue, .expired]),
    LifetimeCase(name: "time", lifetime: ESPLifetime(softTime: .seconds(2), hardTime: .seconds(3)),
                 expected: [.valid, .rekeyDue, .expired]),
])
func softThenHardLifetime(_ lifetimeCase: LifetimeCase) throws {
    var (outbound, inbound) = try makePair(gcm128, lifetime: lifetimeCase.lifetime, now: .seconds(10))
    for (index, state) in lifetimeCase.expected.enumerated() {
        let now = MonotonicTime.seconds(10 + UInt64(index))
        let packet = try outbound.seal(innerPacket(length: 100), now: now, crypto: crypto)
        _ = try inbound.open(packet, now: now, crypto: crypto)
        let after = MonotonicTime.seconds(11 + UInt64(index))
        #expect(outbound.lifetimeState(now: lifetimeCase.name == "time" ? after : now) == state, "after packet \(index + 1)")
    }
    // Once hard-expired the SA refuses to send and to receive.
    let late = MonotonicTime.seconds(60)
    #expect(outbound.lifetimeState(now: late) == .expired)
    #expect(throws: ESPError.saExpired) { try outbound.seal([1], now: late, crypto: crypto) }
}

@Test func inboundRefusesAfterHardExpiryAndTheDatabaseSweepsIt() throws {
    var (outbound, inbound) = try makePair(gcm128, lifetime: ESPLifetime(hardTime: .seconds(30)))
    var database = ESPSADatabase()
    try database.insert(inbound)
    let packet = try outbound.seal([1, 2], now: .seconds(1), crypto: crypto)
    #expect(throws: ESPError.saExpired) { try database.open(packet, now: .seconds(31), crypto: crypto) }
    #expect(database.drops[.saExpired] == 1)
    #expect(database.removeExpired(now: .seconds(29)).isEmpty)
    #expect(database.removeExpired(now: .seconds(30)) == [inbound.spi])
    #expect(database.count == 0)
    _ = inbound.spi
}
