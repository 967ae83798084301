@testable import Gateway
import SLBWire
import Testing

@Suite struct InnerTrafficTests {
    static let client = IPv4Address(192, 0, 2, 10)
    static let inside = IPv4Address(203, 0, 113, 1)
    static let any: [ClosedRange<UInt32>] = [0...UInt32.max]

    static func echo(from: IPv4Address = client, to: IPv4Address = inside, type: UInt8 = ICMPMessage.echoRequest) -> [UInt8] {
        var icmp = FrameBuilder.icmpEcho(request: true, identifier: 0x1234, sequence: 7, payload: Array("abcdefgh".utf8))
        if type != ICMPMessage.echoRequest {
            icmp[0] = type
            icmp[2] = 0; icmp[3] = 0
            let sum = InternetChecksum.checksum(icmp)
            icmp[2] = UInt8(sum >> 8); icmp[3] = UInt8(sum & 0xFF)
        }
        return FrameBuilder.ipv4(FrameBuilder.IPv4Fields(source: from, destination: to, ttl: 17), protocol: .icmp, payload: icmp)
    }

    @Test func echoRequestToInsideAddressIsAnswered() throws {
        let request = Self.echo()
        let verdict = InnerTraffic.handle(request, localAddresses: [Self.inside], allowedSources: Self.any, allowedDestinations: Self.any)
        guard case .echoReply(let reply) = verdict else {
            Issue.record("expected an echo reply, got \(verdict)")
            return
        }
        let ip = try reply.withUnsafeBytes { try IPv4Header.parse($0, at: 0, verifyChecksum: true).get() }
        #expect(ip.source == Self.inside)
        #expect(ip.destination == Self.client)
        #expect(ip.ttl == 64)
        #expect(reply[20] == ICMPMessage.echoReply)
        #expect(Array(reply[24...]) == Array(request[24...]), "identifier, sequence and data are echoed")
        #expect(InternetChecksum.checksum(Array(reply[20...])) == 0, "ICMP checksum verifies")
    }

    @Test(arguments: [
        (echo(to: IPv4Address(203, 0, 113, 2)), InnerVerdict.other),          // not ours: counted
        (echo(type: ICMPMessage.echoReply), InnerVerdict.other),              // not a request
        ([UInt8](repeating: 0x45, count: 10), InnerVerdict.malformed),         // truncated header
        ([], InnerVerdict.malformed),
        (Array(echo().prefix(30)), InnerVerdict.malformed),                    // total length lies
    ])
    func otherInnerPacketsAreCountedNotAnswered(packet: [UInt8], expected: InnerVerdict) {
        #expect(InnerTraffic.handle(packet, localAddresses: [Self.inside], allowedSources: Self.any, allowedDestinations: Self.any) == expected)
    }

    @Test func badICMPChecksumIsMalformed() {
        var packet = Self.echo()
        packet[packet.count - 1] ^= 0xFF
        #expect(InnerTraffic.handle(packet, localAddresses: [Self.inside], allowedSources: Self.any, allowedDestinations: Self.any) == .malformed)
    }

    /// RFC 4301 §5.2: an inner packet outside the Child SA's selectors is dropped.
    @Test func sourceOutsideSelectorsIsRejected() {
        let onlyClient = [Self.client.value...Self.client.value]
        let spoofed = Self.echo(from: IPv4Address(192, 0, 2, 99))
        #expect(InnerTraffic.handle(spoofed, localAddresses: [Self.inside], allowedSources: onlyClient, allowedDestinations: Self.any) == .selectorMismatch)
        let insideOnly = [Self.inside.value...Self.inside.value]
        #expect(InnerTraffic.handle(Self.echo(to: IPv4Address(203, 0, 113, 9)), localAddresses: [Self.inside],
                                    allowedSources: Self.any, allowedDestinations: insideOnly) == .selectorMismatch)
    }
}
