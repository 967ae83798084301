import IKE
import IPsecCrypto
import SLBWire
import Testing

/// RFC 7296 §2.4: IKE_AUTH with N(INITIAL_CONTACT) means the peer holds no other IKE SA with
/// us; the responder drops the stale ones of the same identity from the same address.
@Suite("IKEv2 responder: INITIAL_CONTACT")
struct InitialContactTests {
    /// A second IKE SA from `endpoint` with `identity` on the same responder.
    static func reconnect(_ lab: inout Ladder, identity: IdentificationPayload, endpoint: IKEEndpoint) -> IKESAIdentifier? {
        var c = initiatorConfiguration()
        c.identity = identity
        c.local = endpoint
        c.requestVirtualAddress = true
        lab.initiator = IKEv2Initiator(configuration: c, crypto: openSSL)
        lab.establish()
        return lab.initiator.ikeSA?.id
    }

    @Test func sameIdentityAndAddressReplacesTheStaleSA() throws {
        var c = initiatorConfiguration()
        c.requestVirtualAddress = true
        // A pool of one address: the reconnecting client gets the stale SA's lease.
        var r = responderConfiguration()
        r.addressPool = IPv4Network(address: IPv4Address(198, 51, 100, 200), mask: IPv4Mask(prefixLength: 32)!)
        var lab = Ladder(initiator: c, responder: r)
        lab.establish()
        let old = try #require(lab.initiator.ikeSA).id
        let oldChild = try #require(lab.responder.childSAs(of: old).first)
        #expect(lab.responder.establishedSAs.first?.virtualAddress == IPv4Address(198, 51, 100, 200))
        let new = try #require(Self.reconnect(&lab, identity: .fqdn("client.example"), endpoint: clientEndpoint))
        #expect(lab.responder.establishedSAs.map(\.id) == [new])
        #expect(lab.responderActions.deletedIKESAs == [old])
        #expect(lab.responderActions.deletedChildren == [oldChild.inboundSPI])
        #expect(lab.responder.establishedSAs.first?.virtualAddress == IPv4Address(198, 51, 100, 200))
        #expect(lab.responder.childSAs(of: new).count == 1, "no INTERNAL_ADDRESS_FAILURE")
    }

    @Test(arguments: [
        ("other identity, same address", IdentificationPayload.fqdn("other.example"), clientEndpoint),
        ("same identity, other address", IdentificationPayload.fqdn("client.example"), IKEEndpoint(IPv4Address(192, 0, 2, 11), 500)),
    ])
    func otherPeersKeepTheirSAs(_ name: String, _ identity: IdentificationPayload, _ endpoint: IKEEndpoint) throws {
        var lab = Ladder()
        lab.establish()
        let first = try #require(lab.initiator.ikeSA).id
        _ = try #require(Self.reconnect(&lab, identity: identity, endpoint: endpoint))
        #expect(lab.responder.establishedCount == 2, "\(name)")
        #expect(lab.responder.establishedSAs.contains { $0.id == first })
        #expect(lab.responderActions.deletedIKESAs.isEmpty)
    }
}
