import IKE
import IPsecCrypto
import SLBWire
import Testing

/// `slb client --natt` (strongSwan's `encap = yes`): the initiator fakes its
/// NAT_DETECTION_SOURCE_IP so both ends see a NAT (RFC 7296 §2.23) and use UDP 4500.
@Suite("IKEv2 initiator: forced NAT traversal")
struct ForcedNATTraversalTests {
    static let spiI: UInt64 = 0x0123_4567_89AB_CDEF

    @Test("NAT_DETECTION_SOURCE_IP data: the §2.23 hash when honest, 20 octets that match no endpoint when faked",
          arguments: [false, true])
    func sourceData(faked: Bool) {
        let honest = NATDetection.hash(openSSL, spiI: Self.spiI, spiR: 0, endpoint: clientEndpoint)
        let data = NATDetection.sourceData(openSSL, spiI: Self.spiI, endpoint: clientEndpoint, faked: faked)
        #expect(data.count == HashAlgorithm.sha1.digestLength)
        #expect((data == honest) == !faked)
        // The responder's test (§2.23): no match → the initiator is translated.
        let notify: [Payload] = [.notify(NotifyPayload(.natDetectionSourceIP, data: data))]
        #expect(NATDetection.translated(notify, .natDetectionSourceIP, crypto: openSSL, spiI: Self.spiI, spiR: 0,
                                        endpoint: clientEndpoint) == faked)
        // Faked values are fresh per IKE SA, never a hash of a neighbouring port.
        if faked {
            #expect(data != NATDetection.sourceData(openSSL, spiI: Self.spiI, endpoint: clientEndpoint, faked: true))
            #expect(data != NATDetection.hash(openSSL, spiI: Self.spiI, spiR: 0, endpoint: IKEEndpoint(clientAddress, 4500)))
        }
    }

    @Test("IKE_SA_INIT -->  carries a faked source hash and an honest destination hash")
    func initRequestNotifies() throws {
        var c = initiatorConfiguration()
        c.forceUDPEncapsulation = true
        var initiator = IKEv2Initiator(configuration: c, crypto: openSSL)
        let request = try #require(initiator.start(now: .seconds(1)).sent.first)
        let m = try IKEMessage.parse(request)
        let spiI = m.header.spiI
        let source = try #require(m.payloads.notify(.natDetectionSourceIP))
        let destination = try #require(m.payloads.notify(.natDetectionDestinationIP))
        #expect(source.data != NATDetection.hash(openSSL, spiI: spiI, spiR: 0, endpoint: clientEndpoint))
        #expect(destination.data == NATDetection.hash(openSSL, spiI: spiI, spiR: 0, endpoint: gatewayEndpoint))
    }

    @Test("both ends detect the NAT: IKE_AUTH on 4500 both ways, the Child SA is UDP-encapsulated on both ends",
          arguments: [false, true])
    func ladder(forced: Bool) throws {
        var c = initiatorConfiguration()
        c.forceUDPEncapsulation = forced
        var lab = Ladder(initiator: c)
        // IKE_SA_INIT -->  <-- IKE_SA_INIT   IKE_AUTH -->  <-- IKE_AUTH
        lab.establish()
        #expect(lab.initiator.isEstablished)
        let info = try #require(lab.initiator.ikeSA)
        #expect(info.udpEncapsulation == forced)
        #expect(info.local.port == (forced ? 4500 : 500) && info.peer.port == (forced ? 4500 : 500))
        let sends = lab.initiatorActions.sentWithEndpoints
        #expect(sends.first?.from.port == 500 && sends.first?.to.port == 500)       // IKE_SA_INIT stays on 500
        #expect(sends.dropFirst().allSatisfy { $0.from.port == (forced ? 4500 : 500) && $0.to.port == (forced ? 4500 : 500) })
        let answers = lab.responderActions.sentWithEndpoints
        #expect(answers.last?.from.port == (forced ? 4500 : 500) && answers.last?.to.port == (forced ? 4500 : 500))
        let ci = try #require(lab.initiatorActions.installed.first)
        let cr = try #require(lab.responderActions.installed.first)
        expectMirrored(ci, cr)
        #expect(ci.udpEncapsulation == forced && cr.udpEncapsulation == forced)
        // The responder believes the initiator is translated (its hash did not match).
        #expect(lab.responderActions.established.first?.udpEncapsulation == forced)
    }

    @Test("a COOKIE retry resends the same faked hash (§2.6: everything but the cookie unchanged)")
    func cookieRetryKeepsTheFakedHash() throws {
        var rc = responderConfiguration()
        rc.cookieThreshold = 0
        var c = initiatorConfiguration()
        c.forceUDPEncapsulation = true
        var lab = Ladder(initiator: c, responder: rc)
        lab.establish()
        let requests = lab.wire.filter { $0.toResponder }.prefix(2).map { try? IKEMessage.parse($0.bytes) }
        let first = try #require(requests.first ?? nil), second = try #require(requests.last ?? nil)
        #expect(second.payloads.notify(.cookie) != nil, "the responder asked for a cookie")
        #expect(first.payloads.notify(.natDetectionSourceIP)?.data == second.payloads.notify(.natDetectionSourceIP)?.data)
        #expect(lab.initiator.ikeSA?.udpEncapsulation == true)
    }
}
