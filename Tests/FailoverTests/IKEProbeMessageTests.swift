import CryptoOpenSSL
@testable import Gateway
import IKE
import SLBWire
import Testing

/// The IKE probe's request and reply classification (pure), and the gateway answering it
/// without keeping state (RFC 7296 §1.2/§2.7: INVALID_KE_PAYLOAD creates no SA).
@Suite("IKE probe message")
struct IKEProbeMessageTests {
    static let vip = IPv4Address(203, 0, 113, 100)
    static let slb = IPv4Address(198, 51, 100, 1)

    static func gatewayConfiguration() -> GatewayConfiguration {
        var table = PSKTable()
        table.defaultKey = Array("lab-psk-0123456789".utf8)
        return GatewayConfiguration(virtualIP: vip, preSharedKeys: table,
                                    cookieSecret: CookieJar.Secret(version: 1, key: [UInt8](repeating: 7, count: 32)))
    }

    static func answer(_ type: NotifyType, data: [UInt8] = [], spiI: UInt64 = 0x1122_3344_5566_7788,
                       flags: IKEHeader.Flags = [.response], exchange: ExchangeType = .ikeSAInit, messageID: UInt32 = 0) -> [UInt8] {
        IKEMessage(header: IKEHeader(spiI: spiI, spiR: 0, nextPayload: .notify, exchange: exchange, flags: flags, messageID: messageID),
                   payloads: [.notify(NotifyPayload(type, data: data))]).serialize()
    }

    @Test("the request is a well-formed IKE_SA_INIT whose KE group is not the proposed one")
    func requestShape() throws {
        let bytes = IKEProbeMessage.request(spiI: 0xdead_beef_0000_0001)
        let message = try IKEMessage.parse(bytes)
        #expect(message.header.exchange == .ikeSAInit)
        #expect(message.header.flags == [.initiator])
        #expect(message.header.spiI == 0xdead_beef_0000_0001 && message.header.spiR == 0 && message.header.messageID == 0)
        let sa = try #require(message.payloads.securityAssociation)
        for proposal in sa.proposals {
            #expect(proposal.transforms(of: .keyExchange).map(\.id) == [IKEProbeMessage.proposedGroup])
        }
        #expect(message.payloads.keyExchange?.group == IKEProbeMessage.keyExchangeGroup)
        #expect(IKEProbeMessage.keyExchangeGroup != IKEProbeMessage.proposedGroup)
        try MessageRules.check(.ikeSAInit, isResponse: false, message.payloads)
    }

    @Test("setSPI rewrites only the SPIi; the result equals a freshly built request")
    func setSPI() {
        var bytes = IKEProbeMessage.request(spiI: 0)
        bytes.withUnsafeMutableBytes { IKEProbeMessage.setSPI(0x0102_0304_0506_0708, in: $0, at: 0) }
        #expect(bytes == IKEProbeMessage.request(spiI: 0x0102_0304_0506_0708))
    }

    @Test("answers are classified by their notify", arguments: [
        (answer(.invalidKEPayload, data: [0, 31]), IKEProbeMessage.Answer.invalidKE(group: 31)),
        (answer(.invalidKEPayload, data: [0]), .invalidKE(group: nil)),
        (answer(.noProposalChosen), .noProposalChosen),
        (answer(.cookie, data: [1, 2, 3, 4]), .cookie),
        (answer(.invalidSyntax), .otherNotify(7)),
        (answer(.temporaryFailure), .otherNotify(43)),
        (answer(.natDetectionSourceIP, data: [UInt8](repeating: 1, count: 20)), .accepted),
    ])
    func classify(bytes: [UInt8], expected: IKEProbeMessage.Answer) {
        let result = bytes.withUnsafeBytes { IKEProbeMessage.classifyReply($0) }
        #expect(result?.spiI == 0x1122_3344_5566_7788)
        #expect(result?.answer == expected)
    }

    @Test("not an answer to a probe: requests, other exchanges, non-zero message IDs, short or broken datagrams", arguments: [
        answer(.invalidKEPayload, data: [0, 31], flags: [.initiator]),
        answer(.invalidKEPayload, data: [0, 31], flags: [.response, .initiator]),
        answer(.invalidKEPayload, data: [0, 31], exchange: .informational),
        answer(.invalidKEPayload, data: [0, 31], messageID: 1),
        Array(answer(.noProposalChosen).prefix(20)),
        Array(answer(.noProposalChosen).prefix(30)),  // payload header cut: length runs past the end
        [UInt8](),
    ])
    func rejects(bytes: [UInt8]) {
        #expect(bytes.withUnsafeBytes { IKEProbeMessage.classifyReply($0) } == nil)
    }

    @Test("an ICMP error's quoted payload names the probe by its SPIi; anything else does not")
    func quoted() {
        let request = IKEProbeMessage.request(spiI: 77)
        #expect(request.withUnsafeBytes { IKEProbeMessage.quotedProbeSPI($0) } == 77)
        #expect(Array(request.prefix(27)).withUnsafeBytes { IKEProbeMessage.quotedProbeSPI($0) } == nil)
        #expect(IKEProbeMessageTests.answer(.noProposalChosen).withUnsafeBytes { IKEProbeMessage.quotedProbeSPI($0) } == nil)
        #expect([UInt8](repeating: 0, count: 8).withUnsafeBytes { IKEProbeMessage.quotedProbeSPI($0) } == nil)
    }

    @Test("every prefix of an answer classifies without trapping")
    func prefixes() {
        let full = IKEProbeMessageTests.answer(.invalidKEPayload, data: [0, 31])
        for n in 0...full.count {
            let result = Array(full.prefix(n)).withUnsafeBytes { IKEProbeMessage.classifyReply($0) }
            if n < IKEHeader.length { #expect(result == nil) }
        }
    }

    @Test("the gateway answers INVALID_KE_PAYLOAD from the VIP and keeps no state (no half-open SA), every time")
    func gatewayIsStateless() throws {
        let configuration = IKEProbeMessageTests.gatewayConfiguration()
        var responder = IKEv2Responder(configuration: configuration.responderConfiguration, crypto: OpenSSLCryptoProvider())
        var gateway = GatewayCore(configuration: configuration, now: .seconds(100))
        let from = IKEEndpoint(IKEProbeMessageTests.slb, 50_500), to = IKEEndpoint(IKEProbeMessageTests.vip, 500)
        for round in 1...3 {
            let spi = UInt64(round) << 32 | 0x5151
            let request = IKEProbeMessage.request(spiI: spi)
            let actions = responder.receive(request, from: from, to: to, now: .seconds(100 + UInt64(round)))
            let sends = actions.compactMap { action -> [UInt8]? in
                if case .send(let bytes, let destination, let source) = action, destination == from, source == to { bytes } else { nil }
            }
            try #require(sends.count == 1, "\(actions)")
            let classified = sends[0].withUnsafeBytes { IKEProbeMessage.classifyReply($0) }
            #expect(classified?.spiI == spi)
            #expect(classified?.answer == .invalidKE(group: IKEProbeMessage.proposedGroup))
            #expect(responder.halfOpenCount == 0 && responder.establishedCount == 0)

            var output: [GatewayOutput] = []
            gateway.receiveUDP(request, from: from, to: to, now: .seconds(100 + UInt64(round)), into: &output)
            #expect(output.count == 1)
            if case .udp(let bytes, let source, let destination)? = output.first {
                #expect(source == to && destination == from)
                #expect(bytes.withUnsafeBytes { IKEProbeMessage.classifyReply($0) }?.answer == .invalidKE(group: IKEProbeMessage.proposedGroup))
            }
            #expect(gateway.establishedIKESACount == 0)
            #expect(gateway.snapshot(now: .seconds(100 + UInt64(round))).ikeSAs.isEmpty)
        }
    }
}
