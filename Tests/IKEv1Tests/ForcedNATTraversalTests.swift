import IKE
import IPsecCrypto
import SLBWire
import Testing

/// `slb client --ike v1 --natt`: the initiator sends a NAT-D for itself that matches nothing
/// (RFC 3947 §3.2, strongSwan `encap = yes`), so the responder sees it translated; the
/// initiator floats to 4500 from MM5 on (§4) and quick mode negotiates UDP-encapsulated
/// tunnel mode (§5.1).
@Suite("IKEv1 initiator: forced NAT traversal")
struct IKEv1ForcedNATTraversalTests {
    @Test("MM3 NAT-D faked → the responder sees the initiator translated, MM5/MM6 and quick mode on 4500, UDP-encapsulated ESP both ends",
          arguments: [false, true])
    func forced(_ forced: Bool) throws {
        var ic = initiatorConfiguration()
        ic.forceUDPEncapsulation = forced
        var lab = Ladder(initiator: ic)
        lab.mainMode()
        #expect(lab.initiator.isEstablished)
        // The responder's view (RFC 3947 §3.2): its own NAT-D matched, ours did not.
        let responderSaw = lab.responderActions.natDetections.first?.0
        #expect(responderSaw == (forced ? NATStatus(localBehindNAT: false, peerBehindNAT: true) : nil))
        let established = try #require(lab.responderActions.established.first)
        #expect(established.nat.peerBehindNAT == forced)
        // The initiator knows there is no real NAT, but floats anyway when forced.
        let float = lab.initiatorActions.natDetections.first
        #expect(float?.0 == (forced ? NATStatus() : nil))
        #expect(float?.1 == (forced ? IKEEndpoint(clientAddress, 4500) : nil))
        // MM1-MM4 on 500; MM5 and MM6 on 4500 when forced.
        #expect(lab.wire.prefix(4).allSatisfy { $0.to.port == 500 && $0.from.port == 500 })
        #expect(lab.wire.dropFirst(4).allSatisfy { $0.to.port == (forced ? 4500 : 500) && $0.from.port == (forced ? 4500 : 500) })
        lab.quickMode()
        #expect(lab.wire.dropFirst(6).allSatisfy { $0.to.port == (forced ? 4500 : 500) })
        let mine = try #require(lab.initiatorActions.installed.first)
        let theirs = try #require(lab.responderActions.installed.first)
        #expect(mine.child.udpEncapsulation == forced && theirs.child.udpEncapsulation == forced)
        #expect(theirs.encapsulationMode == (forced ? Phase2Attribute.encapsulationUDPTunnel : Phase2Attribute.encapsulationTunnel))
        #expect(mine.child.inboundSPI == theirs.child.outboundSPI && mine.child.outboundSPI == theirs.child.inboundSPI)
    }
}
