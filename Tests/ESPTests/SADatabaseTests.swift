import ESP
import Testing

@Test func databaseIsBoundedAndKeyedBySPI() throws {
    var database = ESPSADatabase(capacity: 3)
    var senders: [OutboundSA] = []
    for spi: UInt32 in [0x1001, 0x1002, 0x1003] {
        let (outbound, inbound) = try makePair(gcm128, spi: spi)
        try database.insert(inbound)
        senders.append(outbound)
    }
    let (_, extra) = try makePair(gcm128, spi: 0x1004)
    #expect(throws: ESPSADatabase.InsertError.full) { try database.insert(extra) }
    let (_, duplicate) = try makePair(gcm128, spi: 0x1002)
    #expect(throws: ESPSADatabase.InsertError.duplicateSPI) { try database.insert(duplicate) }
    #expect(database.spis == [0x1001, 0x1002, 0x1003])

    // Each sender's packets land on its own SA.
    for index in senders.indices {
        let packet = try senders[index].seal([UInt8(index)], now: .zero, crypto: crypto)
        #expect(try database.open(packet, now: .zero, crypto: crypto).payload == [UInt8(index)])
    }
    #expect(database[0x1002]?.counters.packets == 1)

    // Unknown SPI is counted, then removal frees a slot.
    let (stranger, _) = try makePair(gcm128, spi: 0x9999)
    var strangerSA = stranger
    #expect(throws: ESPError.badSPI) { try database.open(try strangerSA.seal([1], now: .zero, crypto: crypto), now: .zero, crypto: crypto) }
    #expect(database.drops[.badSPI] == 1)
    #expect(database.remove(spi: 0x1001) != nil)
    try database.insert(extra)
    #expect(database.count == 3)
}

@Test func replayStateSurvivesInTheDatabase() throws {
    var database = ESPSADatabase()
    var (outbound, inbound) = try makePair(gcm128, spi: 0x2001)
    try database.insert(inbound)
    let packet = try outbound.seal([7], now: .zero, crypto: crypto)
    _ = try database.open(packet, now: .zero, crypto: crypto)
    #expect(throws: ESPError.replayed) { try database.open(packet, now: .zero, crypto: crypto) }
    #expect(database.drops[.replayed] == 1)
    #expect(database[0x2001]?.replayWindow.highest == 1)
}

@Test func freshSPIsAreUnusedAndNeverReserved() throws {
    var database = ESPSADatabase(capacity: 64)
    var chosen = Set<UInt32>()
    for _ in 0..<64 {
        let spi = try #require(database.freshSPI(crypto: crypto))
        #expect(spi >= 256)
        #expect(chosen.insert(spi).inserted)
        let (_, inbound) = try makePair(gcm128, spi: spi)
        try database.insert(inbound)
    }
    // A random source stuck on a reserved value yields nil rather than a bad SPI.
    #expect(database.freshSPI(crypto: FixedRandomProvider(fixed: [0, 0, 0, 7])) == nil)
    let taken = try #require(database.spis.first)
    let stuck = FixedRandomProvider(fixed: [UInt8(taken >> 24), UInt8((taken >> 16) & 0xFF), UInt8((taken >> 8) & 0xFF), UInt8(taken & 0xFF)])
    #expect(database.freshSPI(crypto: stuck) == nil)
}
