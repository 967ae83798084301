import IKE
import SLBWire
import Testing

/// `show crypto isakmp sa` against the seed's Example 6-2 (002_28d64c98e4b469c5.txt).
struct ShowTests {
    static let seedExample62 = """
        dst             src             state            conn-id     slot
        9.1.1.130       9.1.1.26        QM_IDLE                2        0

        """

    @Test func rendersTheSeedLayoutExactly() throws {
        let row = ISAKMPSASnapshot(destination: try #require(IPv4Address("9.1.1.130")), source: try #require(IPv4Address("9.1.1.26")),
                                   state: "QM_IDLE", connectionID: 2, slot: 0)
        #expect(ISAKMPSATable.render([row]) == Self.seedExample62)
    }

    @Test func rendersTheResponderSnapshot() throws {
        var lab = Ladder()
        lab.mainMode()
        // A second peer stuck after MM2.
        var other = IKEv1Initiator(configuration: initiatorConfiguration(local: IKEEndpoint(IPv4Address(192, 0, 2, 20), 500)), crypto: openSSL)
        let mm1 = other.start(now: lab.now).sent[0]
        _ = lab.responder.receive(mm1, from: IKEEndpoint(IPv4Address(192, 0, 2, 20), 500), to: gatewayEndpoint, now: lab.now)
        #expect(ISAKMPSATable.render(lab.responder.snapshot()) == """
            dst             src             state            conn-id     slot
            192.0.2.10      203.0.113.100   QM_IDLE                1        0
            192.0.2.20      203.0.113.100   MM_SA_SETUP            2        0

            """)
    }

    @Test func emptyTableIsJustTheHeading() {
        #expect(ISAKMPSATable.render([]) == "dst             src             state            conn-id     slot\n")
    }
}
