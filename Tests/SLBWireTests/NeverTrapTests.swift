import Testing
import SLBWire

/// Parsers never trap (COMMON.md quality bar). These sweeps feed truncated, mutated and
/// random frames through parse and, whenever a parse succeeds, through every rewrite, and
/// check the offsets a successful parse reports stay inside the frame.
@Suite struct NeverTrapTests {
    /// Parse, check invariants, and run every rewrite on a copy.
    static func exercise(_ frame: [UInt8]) {
        let result = PacketView.parse(frame, verifyIPChecksum: Bool(frame.count % 2 == 0))
        guard case .ipv4(let packet) = result else { return }
        #expect(packet.ipOffset >= EthernetHeader.length)
        #expect(packet.transportOffset <= packet.ipEnd)
        #expect(packet.ipEnd <= frame.count)
        switch packet.transport {
        case .udp(let udp):
            #expect(udp.payloadOffset + udp.payloadLength <= packet.ipEnd)
        case .icmp(let icmp):
            if case .error(let quote) = icmp.body { #expect(quote.headerOffset + 28 <= packet.ipEnd) }
        default:
            break
        }
        var copy = frame
        var working = packet
        _ = PacketRewrite.decrementTTL(in: &copy, packet: &working)
        _ = PacketRewrite.rewriteDestination(in: &copy, packet: &working, address: Lab.real1, port: 1500)
        _ = PacketRewrite.rewriteSource(in: &copy, packet: &working, address: Lab.vip, port: 500)
        _ = PacketRewrite.rewriteQuotedSource(in: &copy, packet: &working, address: Lab.real1, port: 1500)
        _ = PacketRewrite.rewriteQuotedDestination(in: &copy, packet: &working, address: Lab.vip, port: 500)
        _ = PacketRewrite.setMACs(in: &copy, destination: Lab.real1MAC, source: Lab.slbInsideMAC)
        _ = ChecksumOffload.recomputeTransportChecksum(&copy, packet: &working)
        _ = ChecksumOffload.completePartial(&copy, checksumStart: packet.transportOffset, checksumOffset: 6)
        // A rewritten frame still parses the same way (only addresses, ports, TTL moved).
        #expect(PacketView.parse(copy).packet != nil)
        // A stale parse applied to a shorter buffer is refused, never written through.
        var short = Array(frame.prefix(max(0, packet.ipEnd - 1)))
        #expect(PacketRewrite.rewriteDestination(in: &short, packet: &working, address: Lab.real2) == .parseMismatch)
    }

    @Test func everyTruncationOfEveryValidFrame() {
        var parsedLengths = 0
        for frame in Lab.allValidFrames {
            for length in 0...frame.count {
                Self.exercise(Array(frame[0..<length]))
                if PacketView.parse(Array(frame[0..<length])).packet != nil { parsedLengths += 1 }
            }
        }
        // Truncation below the IP total length must be refused: only padding can be cut.
        #expect(parsedLengths == Lab.allValidFrames.filter { PacketView.parse($0).packet != nil }.count
                + (Lab.keepaliveFrame.count - 14 - 29))
    }

    @Test func singleByteMutationsOfEveryValidFrame() {
        var rng = SplitMix64(seed: 0xF022)
        for frame in Lab.allValidFrames {
            for _ in 0..<400 {
                var copy = frame
                let index = Int.random(in: 0..<copy.count, using: &rng)
                copy[index] = UInt8.random(in: 0...255, using: &rng)
                if Bool.random(using: &rng) {
                    copy = Array(copy.prefix(Int.random(in: 0...copy.count, using: &rng)))
                }
                Self.exercise(copy)
            }
        }
    }

    /// Random bytes behind a valid Ethernet/IPv4 prefix, so the sweep reaches the IP and
    /// transport parsers instead of stopping at the EtherType.
    @Test func randomFramesBehindAnIPv4Prefix() {
        var rng = SplitMix64(seed: 0xAB5E)
        var accepted = 0
        for _ in 0..<20_000 {
            let length = Int.random(in: 0...120, using: &rng)
            var frame = (0..<length).map { _ in UInt8.random(in: 0...255, using: &rng) }
            if frame.count >= 15 {
                frame[12] = 0x08
                frame[13] = 0x00
                frame[14] = 0x40 | (frame[14] & 0x0F)
            }
            if frame.count >= 24 {
                frame[16] = 0
                frame[17] = UInt8(min(frame.count - 14, 255) - Int.random(in: 0...4, using: &rng) * Int(frame[17] & 1))
                frame[23] = [1, 6, 17, 50, 47][Int.random(in: 0..<5, using: &rng)]
                frame[20] &= 0x3F
            }
            Self.exercise(frame)
            if PacketView.parse(frame).packet != nil { accepted += 1 }
        }
        // The sweep is only meaningful if a good share of frames got past the IP checks.
        #expect(accepted > 1000)
    }

    @Test func entirelyRandomFrames() {
        var rng = SplitMix64(seed: 0x0DD)
        for _ in 0..<20_000 {
            let frame = (0..<Int.random(in: 0...200, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
            Self.exercise(frame)
        }
    }

    @Test func natTClassifierOnEveryShortPayload() {
        for length in 0...12 {
            for fill: UInt8 in [0x00, 0xFF, 0x01] {
                _ = NATTPayload.classify([UInt8](repeating: fill, count: length))
            }
        }
        #expect(NATTPayload.classify([]) == .invalid)
        #expect(NATTPayload.classify([0xFF]) == .keepalive)
        #expect(NATTPayload.classify([0xFE]) == .invalid)
        #expect(NATTPayload.classify([0, 0, 0, 0]) == .ike(ikeOffset: 4))
        #expect(NATTPayload.classify([0, 0, 0, 1, 0, 0, 0]) == .invalid)
        #expect(NATTPayload.classify([0, 0, 0, 1, 0, 0, 0, 9]) == .esp(ESPHeader(spi: 1, sequenceNumber: 9)))
    }
}
