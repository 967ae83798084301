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

    /// Many SAs with their own DPD clocks: following only the announced `.schedule` times, each
    /// silent peer is declared dead exactly interval + (1 + retries) × retry after it went quiet.
    @Test func manySAsFollowTheirOwnClocks() throws {
        let policy = DPDPolicy(interval: .seconds(10), retryInterval: .seconds(2), retries: 1, periodic: true)
        var responder = IKEv1Responder(configuration: responderConfiguration(dpd: policy), crypto: openSSL)
        var establishedAt: [ISAKMPCookies: MonotonicTime] = [:]
        var wake: MonotonicTime?
        for i in 0..<24 {
            let now = MonotonicTime.seconds(100 + UInt64(i) * 3 / 2)
            let local = IKEEndpoint(IPv4Address(192, 0, 2, UInt8(100 + i)), 500)
            var client = IKEv1Initiator(configuration: initiatorConfiguration(local: local), crypto: openSSL)
            var pending = client.start(now: now).sent
            while let m = pending.first {
                pending.removeFirst()
                let a = responder.receive(m, from: local, to: gatewayEndpoint, now: now)
                if let t = a.schedules.last { wake = t }
                for r in a.sent { pending += client.receive(r, from: gatewayEndpoint, to: local, now: now).sent }
            }
            establishedAt[try #require(client.info).cookies] = now
        }
        #expect(responder.establishedCount == 24)
        var deaths: [MonotonicTime] = []
        var runs = 0
        while let t = wake, runs < 1000 {
            runs += 1
            let a = responder.handleTimers(now: t)
            deaths += Array(repeating: t, count: a.dead)
            wake = a.schedules.last
        }
        #expect(responder.count == 0)
        let expected = establishedAt.values.map { $0 + .seconds(10 + 2 * 2) }.sorted()
        #expect(deaths.sorted() == expected)
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
