import IKE
import Testing

/// The payload parsers behind SK (§3.14) are reached only by a peer holding the keys, so the
/// message-level mutation tests (which fail the ICV) rarely get there. Here the plaintext
/// chain itself is mutated, seeded and bounded: every parse is an `IKEError` or payloads
/// that serialise and parse back to themselves.
@Suite("IKEv2 payload chain fuzz")
struct PayloadChainFuzzTests {
    @Test func mutatedChains() {
        var chain: [UInt8] = []
        let first = PayloadChain.serialize(WireFormatTests.samplePayloads, into: &chain)
        var state: UInt64 = 0x1CE_5EED
        func next() -> Int {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return Int(truncatingIfNeeded: (z ^ (z >> 31)) >> 1)
        }
        let interesting: [UInt8] = [0, 1, 3, 4, 7, 8, 0x7F, 0x80, 0xFF]
        var parsed = 0
        for _ in 0..<20_000 {
            var bytes = chain
            for _ in 0..<(1 + next() % 4) where !bytes.isEmpty {
                let i = next() % bytes.count
                switch next() % 4 {
                case 0: bytes[i] ^= UInt8(truncatingIfNeeded: 1 << (next() % 8))
                case 1: bytes[i] = interesting[next() % interesting.count]
                case 2: bytes.removeSubrange(i..<min(bytes.count, i + 1 + next() % 8))
                default: bytes.insert(UInt8(truncatingIfNeeded: next()), at: i)
                }
            }
            let types: [PayloadType] = [first, .notify, .securityAssociation, .trafficSelectorInitiator, .configuration, .delete]
            let type = types[next() % types.count]
            let payloads: [Payload]
            do { payloads = try PayloadChain.parse(first: type, bytes[...]) } catch {
                #expect(error is IKEError)
                continue
            }
            parsed += 1
            var again: [UInt8] = []
            let againFirst = PayloadChain.serialize(payloads, into: &again)
            #expect((try? PayloadChain.parse(first: againFirst, again[...])) == payloads)
        }
        #expect(parsed > 100)
    }
}
