import IKE
import IPsecCrypto
import SLBWire
import Testing

/// The gateway (responder) rekeying a Child SA itself at the soft lifetime (RFC 7296 §1.3.3,
/// §2.8), and the races with the peer's own rekey (§2.8.1).
@Suite("IKEv2 responder-initiated Child SA rekey")
struct ResponderRekeyTests {
    @Test func responderRekeysAChildSAAndDeletesTheOldOne() throws {
        var lab = Ladder()
        lab.establish()
        let id = try #require(lab.initiator.ikeSA).id
        let oldR = try #require(lab.responder.childSAs(of: id).first)
        // <-- CREATE_CHILD_SA {N(REKEY_SA), SA, Ni, TSi, TSr}   {SA, Nr, TSi, TSr} -->
        // <-- INFORMATIONAL {D(ESP, old)}                        {D(ESP, old')} -->
        let before = lab.wire.count
        lab.pumpFromResponder(lab.responder.rekeyChildSA(id, inboundSPI: oldR.inboundSPI, now: lab.now))
        #expect(lab.wire.count == before + 4)
        let first = try IKEMessage.parse(lab.wire[before].bytes).header
        #expect(first.exchange == .createChildSA && !first.isResponse && !first.isFromOriginalInitiator)
        #expect(first.messageID == 0, "the responder's own requests count from 0 (§2.2)")
        let newR = try #require(lab.responderActions.installed.last)
        let newI = try #require(lab.initiatorActions.installed.last)
        #expect(newR.inboundSPI != oldR.inboundSPI)
        expectMirrored(newI, newR)
        // §2.17: "initiator" is the initiator of the CREATE_CHILD_SA, here the gateway.
        #expect(newR.inboundKeys != oldR.inboundKeys)
        #expect(newR.localSelectors == oldR.localSelectors && newR.remoteSelectors == oldR.remoteSelectors,
                "a rekey keeps the selectors (§2.8)")
        #expect(lab.responder.childSAs(of: id) == [newR])
        #expect(lab.initiator.childSAs == [newI])
        #expect(lab.responderActions.deletedChildren == [oldR.inboundSPI])
        #expect(lab.initiatorActions.deletedChildren == [oldR.outboundSPI])
        #expect(lab.initiatorActions.failures.isEmpty && lab.responderActions.failures.isEmpty)

        // The IKE SA still works in both directions afterwards: the client rekeys the new one.
        lab.pump(lab.initiator.rekeyChildSA(inboundSPI: newI.inboundSPI, now: lab.now))
        #expect(lab.initiator.childSAs.count == 1 && lab.initiator.childSAs != [newI])
        #expect(lab.responder.childSAs(of: id).count == 1)
    }

    @Test func rekeyOfAnUnknownChildSAStartsNothing() throws {
        var lab = Ladder()
        lab.establish()
        let id = try #require(lab.initiator.ikeSA).id
        let child = try #require(lab.responder.childSAs(of: id).first)
        #expect(lab.responder.rekeyChildSA(id, inboundSPI: child.inboundSPI &+ 1, now: lab.now).isEmpty)
        #expect(lab.responder.rekeyChildSA(IKESAIdentifier(spiI: 1, spiR: 2), inboundSPI: child.inboundSPI, now: lab.now).isEmpty)
    }

    /// The peer rekeyed and deleted the Child SA before our request reached it: it answers
    /// CHILD_SA_NOT_FOUND (§1.3.3) and both ends keep exactly the peer's new pair.
    @Test func peerRekeyedFirstAnswersChildSANotFound() throws {
        var lab = Ladder()
        lab.establish()
        let id = try #require(lab.initiator.ikeSA).id
        let old = try #require(lab.initiator.childSAs.first)
        let ours = lab.responder.rekeyChildSA(id, inboundSPI: old.outboundSPI, now: lab.now)
        lab.pump(lab.initiator.rekeyChildSA(inboundSPI: old.inboundSPI, now: lab.now))
        let peers = try #require(lab.initiator.childSAs.first)
        lab.pumpFromResponder(ours)
        #expect(lab.responderActions.failures == [.notified(.childSANotFound)])
        #expect(lab.initiator.childSAs == [peers])
        #expect(lab.responder.childSAs(of: id).map(\.outboundSPI) == [peers.inboundSPI])
    }

    /// Our request crossed the peer's: the peer answered ours (installing a second pair),
    /// then its own rekey deleted the old SA before our answer arrived. The pair our answer
    /// makes is redundant, so the gateway deletes it instead of the (gone) old one.
    @Test func crossedRekeysLeaveOnePair() throws {
        var lab = Ladder()
        lab.establish()
        let id = try #require(lab.initiator.ikeSA).id
        let old = try #require(lab.initiator.childSAs.first)
        let ourRequest = try #require(lab.responder.rekeyChildSA(id, inboundSPI: old.outboundSPI, now: lab.now).sentWithEndpoints.first)
        let answer = try #require(lab.initiator.receive(ourRequest.bytes, from: ourRequest.from, now: lab.now).sentWithEndpoints.first)
        #expect(lab.initiator.childSAs.count == 2)
        lab.pump(lab.initiator.rekeyChildSA(inboundSPI: old.inboundSPI, now: lab.now))
        #expect(!lab.responder.childSAs(of: id).contains { $0.outboundSPI == old.inboundSPI }, "the peer deleted the old pair")
        let late = lab.responder.receive(answer.bytes, from: answer.from, to: answer.to, now: lab.now)
        let redundant = try #require(late.installed.first)
        lab.pumpFromResponder(late)
        #expect(lab.initiatorActions.deletedChildren.contains(redundant.outboundSPI))
        #expect(lab.responderActions.deletedChildren.contains(redundant.inboundSPI))
        #expect(lab.initiator.childSAs.count == 1)
        let kept = try #require(lab.responder.childSAs(of: id).first)
        #expect(lab.responder.childSAs(of: id).count == 1)
        #expect(lab.initiator.childSAs.first?.inboundSPI == kept.outboundSPI)
    }
}
