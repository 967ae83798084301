import Testing
import SLBWire

@Suite struct InternetChecksumTests {
    /// RFC 1071 §3 "Numerical Examples": the one's complement sum of 0001 f203 f4f5 f6f7 is
    /// ddf2, so the checksum is 220d.
    @Test func rfc1071NumericalExample() {
        var sum = InternetChecksum()
        sum.add([0x00, 0x01, 0xF2, 0x03, 0xF4, 0xF5, 0xF6, 0xF7])
        #expect(sum.folded == 0xDDF2)
        #expect(sum.checksum == 0x220D)
    }

    /// The sum is byte-order independent in the sense of RFC 1071 §2(B): summing in pieces
    /// of even length gives the same result as one pass.
    @Test func evenPiecesSumLikeOnePass() {
        let data: [UInt8] = Array(0..<200).map { UInt8(truncatingIfNeeded: $0 &* 37) }
        var pieces = InternetChecksum()
        pieces.add(Array(data[0..<64]))
        pieces.add(Array(data[64..<130]))
        pieces.add(Array(data[130...]))
        #expect(pieces.checksum == InternetChecksum.checksum(data))
    }

    /// RFC 1071 §4.1: an odd trailing byte is padded with zero.
    @Test func oddLengthPadsWithZero() {
        #expect(InternetChecksum.checksum([0x12, 0x34, 0x56]) == InternetChecksum.checksum([0x12, 0x34, 0x56, 0x00]))
    }

    /// A well-known IPv4 header (192.168.0.1 → 192.168.0.199, UDP, total length 115) with
    /// checksum b861; a receiver's sum over it including the checksum is all ones.
    @Test func knownIPv4HeaderChecksum() {
        var header = hex("4500 0073 0000 4000 4011 0000 c0a8 0001 c0a8 00c7")
        #expect(InternetChecksum.checksum(header) == 0xB861)
        header[10] = 0xB8
        header[11] = 0x61
        var sum = InternetChecksum()
        sum.add(header)
        #expect(sum.verifies)
        #expect(PacketView.parse(FrameBuilder.ethernet(Lab.toSLB, etherType: .ipv4,
                                                       payload: header + Array(repeating: 0, count: 95)),
                                 verifyIPChecksum: true).dropReason != .badIPChecksum)
    }

    /// RFC 1624 §4 example: HC = dd2f, m = 5555 → m' = 3285 gives HC' = 0000 with eqn. 3
    /// (RFC 1141's eqn. 2 would give ffff, the "-0" the RFC warns about).
    @Test func rfc1624Example() {
        #expect(InternetChecksum.update(0xDD2F, old: 0x5555, new: 0x3285) == 0x0000)
    }

    struct Case: Sendable, CustomTestStringConvertible {
        let words: [UInt16]
        let index: Int
        let new: UInt16
        var testDescription: String { "word[\(index)] → \(String(new, radix: 16))" }
    }

    /// RFC 1624 §3: updating one field incrementally equals recomputing over the new data.
    @Test(arguments: [
        Case(words: [0x4500, 0x0073, 0x0000, 0x4000, 0x4011, 0x0000, 0xC0A8, 0x0001, 0xC0A8, 0x00C7], index: 4, new: 0x3F11),
        Case(words: [0x0001, 0xF203, 0xF4F5, 0xF6F7], index: 0, new: 0xFFFF),
        Case(words: [0xFFFF, 0x0000, 0x1234], index: 2, new: 0x0000),
        Case(words: [0x8000, 0x8000], index: 1, new: 0x7FFF),
    ])
    func incrementalEqualsFull(_ c: Case) {
        func checksum(_ words: [UInt16]) -> UInt16 {
            var sum = InternetChecksum()
            for word in words { sum.add(word) }
            return sum.checksum
        }
        var updated = c.words
        updated[c.index] = c.new
        #expect(InternetChecksum.update(checksum(c.words), old: c.words[c.index], new: c.new) == checksum(updated))
    }

    @Test func thirtyTwoBitUpdateEqualsTwoSixteenBitUpdates() {
        var rng = SplitMix64(seed: 1624)
        for _ in 0..<10_000 {
            let checksum = UInt16.random(in: 0...UInt16.max, using: &rng)
            let old = UInt32.random(in: 0...UInt32.max, using: &rng)
            let new = UInt32.random(in: 0...UInt32.max, using: &rng)
            let twice = InternetChecksum.update(
                InternetChecksum.update(checksum, old: UInt16(old >> 16), new: UInt16(new >> 16)),
                old: UInt16(old & 0xFFFF), new: UInt16(new & 0xFFFF))
            #expect(InternetChecksum.update(checksum, old32: old, new32: new) == twice)
        }
    }

    /// RFC 768: a zero UDP checksum means "not computed" and must stay zero; a computed
    /// zero is transmitted as all ones.
    @Test func udpZeroRules() {
        #expect(InternetChecksum.updateUDP(0, old: 0x1234, new: 0x4321) == 0)
        #expect(InternetChecksum.updateUDP(0xDD2F, old: 0x5555, new: 0x3285) == 0xFFFF)
    }
}
