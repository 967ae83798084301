import IKE
import SLBWire
import Testing

/// Dead Peer Detection (RFC 3706) ladders.
struct DPDTests {
    /// `crypto isakmp keepalive 10 periodic` (seed 004), IOS retry 2 s, 5 retries.
    static let periodic = DPDPolicy(interval: .seconds(10), retryInterval: .seconds(2), retries: 5, periodic: true)

    @Test func rUThereIsAnsweredWithTheSameSequence() throws {
        var lab = Ladder()
        lab.mainMode()
        let before = lab.wire.count
        // R-U-THERE --> <-- R-U-THERE-ACK
        lab.enqueue(fromInitiator: lab.initiator.probePeer(now: lab.now))
        lab.run()
        #expect(lab.wire.count == before + 2)
        let headers = try lab.wire.suffix(2).map { try ISAKMPHeader.parse($0.bytes) }
        #expect(headers.allSatisfy { $0.exchange == .informational && $0.isEncrypted })
        #expect(headers[0].messageID != headers[1].messageID)
        // The initiator accepts the ACK only when it echoes the outstanding sequence number.
        #expect(lab.initiatorActions.alive == 1)
        #expect(lab.initiatorActions.drops.isEmpty && lab.responderActions.drops.isEmpty)
    }

    @Test func aRepeatedAckIsNotAcceptedTwice() throws {
        var lab = Ladder()
        lab.mainMode()
        lab.enqueue(fromInitiator: lab.initiator.probePeer(now: lab.now))
        let probe = lab.next()
        lab.deliver(try #require(probe))
        let ack = try #require(lab.queue.first)
        lab.run()
        #expect(lab.initiatorActions.alive == 1)
        let again = lab.initiator.receive(ack.bytes, from: ack.from, to: ack.to, now: lab.now)
        #expect(again.drops == [.unexpectedAcknowledgement])
    }

    @Test func periodicDPDDeclaresASilentPeerDead() throws {
        var lab = Ladder(responder: responderConfiguration(dpd: Self.periodic))
        lab.mainMode()
        lab.quickMode()
        let established = lab.now
        var probes = 0
        var deadAt: MonotonicTime?
        var actions: [IKEv1Action] = []
        // The initiator is gone: nothing is delivered back. Follow the responder's schedule.
        var wake = lab.responderActions.schedules.last
        while let t = wake, deadAt == nil, t < established + .seconds(120) {
            let a = lab.responder.handleTimers(now: t)
            probes += a.sent.count
            actions += a
            if a.dead == 1 { deadAt = t }
            wake = a.schedules.last
        }
        #expect(probes == 1 + Self.periodic.retries)
        // 10 s idle, then 6 R-U-THEREs 2 s apart, dead 2 s after the last.
        #expect(deadAt == established + .seconds(22))
        #expect(actions.deletedChildren.map(\.1) == [.peerDead])
        #expect(actions.deletedISAKMP == [.peerDead])
        #expect(lab.responder.count == 0)
    }

    @Test func periodicDPDWithALivePeerKeepsTheSA() throws {
        var lab = Ladder(responder: responderConfiguration(dpd: Self.periodic))
        lab.mainMode()
        for _ in 0..<3 {
            lab.now = lab.now + .seconds(10)
            lab.enqueue(fromResponder: lab.responder.handleTimers(now: lab.now))
            lab.run()
        }
        #expect(lab.responderActions.alive == 3)
        #expect(lab.responderActions.dead == 0 && lab.responder.establishedCount == 1)
    }

    /// RFC 3706 §5.3 on demand: no probe while idle with nothing to send; a probe once we
    /// have outbound traffic and heard nothing for the interval; inbound traffic resets it.
    @Test func onDemandDPDProbesOnlyWithOutboundTraffic() throws {
        let onDemand = DPDPolicy(interval: .seconds(10), retryInterval: .seconds(2), retries: 5, periodic: false)
        var lab = Ladder(responder: responderConfiguration(dpd: onDemand))
        lab.mainMode()
        let cookies = try #require(lab.initiator.info).cookies
        #expect(lab.responder.handleTimers(now: lab.now + .seconds(30)).sent.isEmpty)
        #expect(lab.responder.noteTraffic(cookies, inbound: true, outbound: false, now: lab.now + .seconds(30)).sent.isEmpty)
        #expect(lab.responder.noteTraffic(cookies, inbound: false, outbound: true, now: lab.now + .seconds(35)).sent.isEmpty)
        let probe = lab.responder.noteTraffic(cookies, inbound: false, outbound: true, now: lab.now + .seconds(40))
        #expect(probe.sent.count == 1)
    }

    @Test func gatewayProbesOnDemand() throws {
        var lab = Ladder()
        lab.mainMode()
        let cookies = try #require(lab.initiator.info).cookies
        lab.enqueue(fromResponder: lab.responder.probePeer(cookies, now: lab.now))
        // A second request while one is outstanding sends nothing more.
        #expect(lab.responder.probePeer(cookies, now: lab.now).sent.isEmpty)
        lab.run()
        #expect(lab.responderActions.alive == 1)
    }
}
