import IKE
import SLBWire
import Testing

/// Parse and serialize of ISAKMP units side by side (RFC 2408 §3).
struct WireFormatTests {
    @Test(arguments: [
        (UInt64(1), "800b0001"),            // life type seconds: basic (TV)
        (UInt64(28800), "800c7080"),        // fits 16 bits: basic
        (UInt64(86400), "000c000400015180"), // RFC 2409 App. A: TLV when over 0xFFFF
    ])
    func attributeEncoding(value: UInt64, wire: String) throws {
        let type: UInt16 = value == 1 ? Phase1Attribute.lifeType : Phase1Attribute.lifeDuration
        let sa = ISAKMPSecurityAssociation(proposals: [ISAKMPProposal(number: 1, protocolID: 1, transforms: [
            ISAKMPTransform(number: 1, transformID: 1, attributes: [.integer(type, value)]),
        ])])
        let bytes = sa.serialize()
        #expect(hexString(bytes).hasSuffix(wire))
        let back = try ISAKMPSecurityAssociation.parse(bytes[...])
        #expect(back == sa)
        #expect(back.proposals.first?.transforms.first?.attributes.first?.integer == value)
    }

    @Test(arguments: ISAKMPPolicy.seedPolicies)
    func phase1OfferRoundTrips(policy: ISAKMPPolicy) throws {
        let cfg = IKEv1InitiatorConfiguration(local: clientEndpoint, peer: gatewayEndpoint, psk: psk, policies: [policy], quickMode: .seeds)
        var i = IKEv1Initiator(configuration: cfg, crypto: openSSL)
        let mm1 = i.start(now: .zero).sent[0]
        let m = try ISAKMPMessage.parse(mm1)
        #expect(ISAKMPMessage.serialize(m.header, m.payloads) == mm1)
        #expect(m.header.exchange == .identityProtection && m.header.responderCookie == 0)
        guard case .securityAssociation(let sa)? = m.payloads.first else { Issue.record("no SA"); return }
        #expect(sa.proposals.count == 1 && sa.proposals[0].transforms.count == 1)
        #expect(m.payloads.contains(.vendorID(ISAKMPVendorID.natTraversalRFC3947)))
        #expect(m.payloads.contains(.vendorID(ISAKMPVendorID.deadPeerDetection)))
    }

    @Test(arguments: [
        ISAKMPPayload.notification(ISAKMPNotification(.rUThere, spi: Array(repeating: 7, count: 16), data: [0, 0, 0, 9])),
        .delete(ISAKMPDelete(protocolID: ISAKMPProtocolID.ipsecESP, spiSize: 4, spis: [[1, 2, 3, 4], [5, 6, 7, 8]])),
        .delete(ISAKMPDelete(protocolID: ISAKMPProtocolID.isakmp, spiSize: 16, spis: [Array(repeating: 9, count: 16)])),
        .identification(.ipv4(IPv4Address(192, 0, 2, 10), protocolID: 17, port: 500)),
        .identification(.ipv4(IPv4Network(address: IPv4Address(198, 51, 100, 0), mask: IPv4Mask(prefixLength: 24)!))),
        .natOriginalAddress(NATOriginalAddress(IPv4Address(198, 51, 100, 200))),
        .natDiscovery(Array(repeating: 0xAA, count: 20)),
        .keyExchange(Array(repeating: 1, count: 128)),
        .nonce(Array(repeating: 2, count: 32)),
        .hash(Array(repeating: 3, count: 20)),
        .vendorID(ISAKMPVendorID.deadPeerDetection),
    ])
    func payloadRoundTrips(payload: ISAKMPPayload) throws {
        let header = ISAKMPHeader(initiatorCookie: 1, responderCookie: 2, nextPayload: 0, exchange: .informational, messageID: 3)
        let bytes = ISAKMPMessage.serialize(header, [payload, .vendorID([0xAB])])
        let m = try ISAKMPMessage.parse(bytes)
        #expect(m.payloads == [payload, .vendorID([0xAB])])
        #expect(m.header.length == UInt32(bytes.count))
    }

    @Test func headerRejectsWrongLengthAndVersion() {
        let good = ISAKMPMessage.serialize(ISAKMPHeader(initiatorCookie: 1, responderCookie: 0, nextPayload: 0, exchange: .identityProtection), [])
        #expect(throws: IKEError.self) { try ISAKMPHeader.parse(good + [0]) }
        var v2 = good
        v2[17] = 0x20
        #expect(throws: IKEError.self) { try ISAKMPHeader.parse(v2) }
        #expect(throws: IKEError.self) { try ISAKMPHeader.parse(Array(good.prefix(27))) }
    }

    @Test func transformCountMustMatchTheChain() throws {
        var bytes = ISAKMPSecurityAssociation(proposals: [ISAKMPProposal(number: 1, protocolID: 1, transforms: [
            ISAKMPTransform(number: 1, transformID: 1, attributes: []),
        ])]).serialize()
        bytes[8 + 4 + 3] = 2   // #Transforms says 2, the chain has 1
        #expect(throws: IKEError.self) { try ISAKMPSecurityAssociation.parse(bytes[...]) }
    }

    @Test func deleteCountMustMatchTheOctets() {
        let header = ISAKMPHeader(initiatorCookie: 1, responderCookie: 2, nextPayload: 0, exchange: .informational)
        var bytes = ISAKMPMessage.serialize(header, [.delete(ISAKMPDelete(protocolID: 3, spiSize: 4, spis: [[1, 2, 3, 4]]))])
        bytes[28 + 4 + 6 + 1] = 200   // claims 200 SPIs
        #expect(throws: IKEError.self) { try ISAKMPMessage.parse(bytes) }
    }

    @Test(arguments: [7, 257])
    func nonceLengthIsBounded(length: Int) {
        let header = ISAKMPHeader(initiatorCookie: 1, responderCookie: 2, nextPayload: 0, exchange: .identityProtection)
        #expect(throws: IKEError.self) {
            try ISAKMPMessage.parse(ISAKMPMessage.serialize(header, [.nonce(Array(repeating: 1, count: length))]))
        }
    }

    @Test func proposalPayloadOutsideAnSAIsRejected() {
        let header = ISAKMPHeader(initiatorCookie: 1, responderCookie: 2, nextPayload: 0, exchange: .identityProtection)
        #expect(throws: IKEError.self) {
            try ISAKMPMessage.parse(ISAKMPMessage.serialize(header, [.other(type: ISAKMPPayloadType.proposal, body: [1, 2, 3, 4])]))
        }
    }
}
