import Testing
import SLBWire

/// RFC 5508 §4.2: an ICMP error crossing a directed-mode translation has its quoted datagram
/// translated too. Expected frames are built from scratch (full checksums everywhere), so
/// each row checks the incremental updates of the quoted header checksum, the quoted UDP
/// checksum and the ICMP checksum.
@Suite struct ICMPQuoteRewriteTests {
    /// An ICMP error frame `outerSource → outerDestination` quoting a UDP (or ESP) datagram.
    static func errorFrame(_ outerSource: IPv4Address, _ outerDestination: IPv4Address,
                           quoting quotedSource: IPv4Address, _ quotedSourcePort: UInt16,
                           _ quotedDestination: IPv4Address, _ quotedDestinationPort: UInt16,
                           udpChecksum: Bool = true, esp: Bool = false) -> [UInt8] {
        let body: [UInt8] = Array(repeating: 0x42, count: 64)
        let transport = esp ? FrameBuilder.esp(spi: 0xC0FF_EE05, sequence: 3, payload: body)
            : FrameBuilder.udp(source: quotedSource, destination: quotedDestination, sourcePort: quotedSourcePort,
                               destinationPort: quotedDestinationPort, payload: body, checksum: udpChecksum)
        let original = FrameBuilder.ipv4(Lab.ip(quotedSource, quotedDestination, id: 0x7777), protocol: esp ? .esp : .udp,
                                         payload: transport)
        let message = FrameBuilder.icmpError(type: 3, code: 3, quoting: original)
        return FrameBuilder.ethernet(Lab.toSLB, etherType: .ipv4,
                                     payload: FrameBuilder.ipv4(Lab.ip(outerSource, outerDestination), protocol: .icmp,
                                                                payload: message))
    }

    struct Case: Sendable, CustomTestStringConvertible {
        let name: String
        let towardReal: Bool
        let port: UInt16?
        let input: [UInt8]
        let expected: [UInt8]
        var testDescription: String { name }
    }

    static let cases: [Case] = [
        Case(name: "client's port unreachable about VIP:4500 → real", towardReal: true, port: nil,
             input: errorFrame(Lab.client, Lab.vip, quoting: Lab.vip, 4500, Lab.client, 4501),
             expected: errorFrame(Lab.client, Lab.real1, quoting: Lab.real1, 4500, Lab.client, 4501)),
        Case(name: "… with the real's port 1500", towardReal: true, port: 1500,
             input: errorFrame(Lab.client, Lab.vip, quoting: Lab.vip, 500, Lab.client, 500),
             expected: errorFrame(Lab.client, Lab.real1, quoting: Lab.real1, 1500, Lab.client, 500)),
        Case(name: "quoted UDP without checksum stays without", towardReal: true, port: 1500,
             input: errorFrame(Lab.client, Lab.vip, quoting: Lab.vip, 500, Lab.client, 500, udpChecksum: false),
             expected: errorFrame(Lab.client, Lab.real1, quoting: Lab.real1, 1500, Lab.client, 500, udpChecksum: false)),
        Case(name: "quoted ESP: address only", towardReal: true, port: nil,
             input: errorFrame(Lab.client, Lab.vip, quoting: Lab.vip, 0, Lab.client, 0, esp: true),
             expected: errorFrame(Lab.client, Lab.real1, quoting: Lab.real1, 0, Lab.client, 0, esp: true)),
        Case(name: "real's error about client → real leaves as the VIP's", towardReal: false, port: 500,
             input: errorFrame(Lab.real1, Lab.client, quoting: Lab.client, 500, Lab.real1, 1500),
             expected: errorFrame(Lab.vip, Lab.client, quoting: Lab.client, 500, Lab.vip, 500)),
    ]

    @Test(arguments: cases)
    func translatesOuterAndQuote(_ c: Case) throws {
        var frame = c.input
        var packet = try #require(PacketView.parse(frame).packet)
        if c.towardReal {
            #expect(PacketRewrite.rewriteDestination(in: &frame, packet: &packet, address: Lab.real1) == nil)
            #expect(PacketRewrite.rewriteQuotedSource(in: &frame, packet: &packet, address: Lab.real1, port: c.port) == nil)
        } else {
            #expect(PacketRewrite.rewriteSource(in: &frame, packet: &packet, address: Lab.vip) == nil)
            #expect(PacketRewrite.rewriteQuotedDestination(in: &frame, packet: &packet, address: Lab.vip, port: c.port) == nil)
        }
        #expect(hexString(frame) == hexString(c.expected))
        #expect(PacketView.parse(frame).packet == packet)
    }

    @Test func refusesNonErrors() throws {
        var frame = Lab.pingFrame
        var packet = try #require(PacketView.parse(frame).packet)
        #expect(PacketRewrite.rewriteQuotedSource(in: &frame, packet: &packet, address: Lab.real1) == .parseMismatch)
        #expect(frame == Lab.pingFrame)
    }
}
