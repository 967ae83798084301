import Testing
import SLBWire

/// Frames computed outside Swift (a 20-line Python RFC 1071 implementation) and checked by
/// tcpdump 4.99.3 `-vvv` ("udp sum ok", no "bad cksum"), so builder and rewrite are not
/// only compared with each other.
@Suite struct GoldenFrameTests {
    /// 192.0.2.10:500 → 203.0.113.100:500, TTL 64, id 0x1234, a 28-byte IKE header.
    static let isakmpToVIP = hex("""
        020000000001 02000000000a 0800
        4500 0038 1234 0000 4011 6a12 c000020a cb007164
        01f4 01f4 0024 a8b5
        1122334455667788 0000000000000000 21202208 00000000 0000001c
        """)
    /// The same after a directed rewrite to 198.51.100.11:1500.
    static let isakmpToReal = hex("""
        020000000001 02000000000a 0800
        4500 0038 1234 0000 4011 7c38 c000020a c633640b
        01f4 05dc 0024 b6f3
        1122334455667788 0000000000000000 21202208 00000000 0000001c
        """)

    @Test func builderMatchesGolden() {
        #expect(hexString(Lab.isakmpFrame) == hexString(Self.isakmpToVIP))
    }

    @Test func directedRewriteMatchesGolden() throws {
        var frame = Self.isakmpToVIP
        var packet = try #require(PacketView.parse(frame, verifyIPChecksum: true).packet)
        #expect(PacketRewrite.rewriteDestination(in: &frame, packet: &packet, address: Lab.real1, port: 1500) == nil)
        #expect(hexString(frame) == hexString(Self.isakmpToReal))
    }

    @Test func reverseRewriteRestoresGolden() throws {
        var frame = Self.isakmpToReal
        var packet = try #require(PacketView.parse(frame).packet)
        #expect(PacketRewrite.rewriteDestination(in: &frame, packet: &packet, address: Lab.vip, port: 500) == nil)
        #expect(hexString(frame) == hexString(Self.isakmpToVIP))
    }
}
