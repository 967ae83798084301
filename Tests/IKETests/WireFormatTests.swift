import IKE
import SLBWire
import Testing

@Suite("IKEv2 wire formats (RFC 7296 §3)")
struct WireFormatTests {
    static let samplePayloads: [Payload] = [
        .securityAssociation(ProposalSelection.offer(.gatewayIKE, protocolID: .ike)),
        .securityAssociation(ProposalSelection.offer(.gatewayESP, protocolID: .esp, spi: [1, 2, 3, 4])),
        .keyExchange(KeyExchangePayload(group: 31, data: Array(repeating: 9, count: 32))),
        .identificationInitiator(.fqdn("client.example")),
        .identificationResponder(.ipv4([203, 0, 113, 100])),
        .authentication(AuthenticationPayload(method: 2, data: Array(repeating: 0xAB, count: 32))),
        .nonce(NoncePayload(data: Array(repeating: 0x5A, count: 32))),
        .notify(NotifyPayload(.natDetectionSourceIP, data: Array(repeating: 1, count: 20))),
        .notify(NotifyPayload(.rekeySA, protocolID: .esp, spi: [0xC0, 0, 0, 1])),
        .delete(.ikeSA),
        .delete(.esp([0x1000, 0x2000])),
        .vendorID(Array("VPNSLB".utf8)),
        .trafficSelectorInitiator(TrafficSelectorPayload(selectors: [.anyIPv4, .host(clientAddress)])),
        .trafficSelectorResponder(TrafficSelectorPayload(selectors: [TrafficSelector(ipv4: vip, vip, ipProtocol: 17, ports: 500...500)])),
        .configuration(ConfigurationPayload(type: .request, attributes: [.init(type: 1, value: [])])),
        .configuration(ConfigurationPayload(type: .reply, attributes: [.init(type: 1, value: [198, 51, 100, 129])])),
    ]

    @Test("each payload survives serialize → parse", arguments: samplePayloads)
    func roundTrip(_ payload: Payload) throws {
        var bytes: [UInt8] = []
        let first = PayloadChain.serialize([payload], into: &bytes)
        #expect(first == payload.type)
        #expect(Int(bytes[2]) << 8 | Int(bytes[3]) == bytes.count)      // generic header length (§3.2)
        #expect(try PayloadChain.parse(first: first, bytes[...]) == [payload])
    }

    @Test func wholeMessageRoundTripAndLength() throws {
        let m = IKEMessage(header: IKEHeader(spiI: 0x1122334455667788, spiR: 0, nextPayload: .none, exchange: .ikeSAInit,
                                             flags: [.initiator], messageID: 0),
                           payloads: Self.samplePayloads)
        let bytes = m.serialize()
        #expect(bytes.count > IKEHeader.length)
        #expect(bytes[17] == 0x20)                                          // version 2.0 (§3.1)
        let parsed = try IKEMessage.parse(bytes)
        #expect(parsed.payloads == m.payloads)
        #expect(parsed.header.length == UInt32(bytes.count))
        #expect(parsed.header.nextPayload == .securityAssociation)
        #expect(parsed.serialize() == bytes)
    }

    /// The header diagram of §3.1, octet by octet.
    @Test func headerLayout() {
        var out: [UInt8] = []
        IKEHeader(spiI: 0x0102030405060708, spiR: 0x1112131415161718, nextPayload: .encrypted, exchange: .ikeAuth,
                  flags: [.initiator, .response], messageID: 0xA0B0C0D0, length: 0x1C).serialize(into: &out)
        #expect(out == [1, 2, 3, 4, 5, 6, 7, 8, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18,
                        46, 0x20, 35, 0x28, 0xA0, 0xB0, 0xC0, 0xD0, 0, 0, 0, 0x1C])
    }

    @Test func keyLengthAttributeIsTV() {
        var out: [UInt8] = []
        SecurityAssociationPayload(proposals: [Proposal(number: 1, protocolID: .ike, transforms: [
            Transform(type: .encryption, id: 12, keyLength: 256),
        ])]).serialize(into: &out)
        // proposal header 8, transform header 8, attribute 80 0E 01 00 (§3.3.5)
        #expect(out == [0, 0, 0, 20, 1, 1, 0, 1, 0, 0, 0, 12, 1, 0, 0, 12, 0x80, 0x0E, 0x01, 0x00])
    }

    @Test func unknownNonCriticalPayloadIsSkipped() throws {
        // Nonce → unknown type 200 (C=0) → Notify
        var bytes: [UInt8] = [200, 0, 0, 20] + Array(repeating: 0x11, count: 16)
        bytes += [41, 0, 0, 6, 0xFF, 0xFF]
        bytes += [0, 0, 0, 8, 0, 0, 0x40, 0x00]
        let payloads = try PayloadChain.parse(first: .nonce, bytes[...])
        #expect(payloads.map(\.type) == [.nonce, .notify])
    }

    @Test func unknownCriticalPayloadIsRejected() {
        var bytes: [UInt8] = [200, 0, 0, 20] + Array(repeating: 0x11, count: 16)
        bytes += [0, 0x80, 0, 6, 0xFF, 0xFF]
        #expect { try PayloadChain.parse(first: .nonce, bytes[...]) } throws: { error in
            let e = error as? IKEError
            return e?.code == .unsupportedCriticalPayload && e?.payloadType == 200 && e?.notify == .unsupportedCriticalPayload
        }
    }

    static let malformed: [(String, PayloadType, [UInt8])] = [
        ("payload length below the generic header", .nonce, [0, 0, 0, 3]),
        ("payload length beyond the message", .nonce, [0, 0, 0, 40, 1, 2, 3]),
        ("nonce shorter than 16 octets (§3.9)", .nonce, [0, 0, 0, 8, 1, 2, 3, 4]),
        ("transform count disagrees", .securityAssociation, [0, 0, 0, 12, 0, 0, 0, 8, 1, 1, 0, 2]),
        ("proposal Last Substruc 7", .securityAssociation, [0, 0, 0, 12, 7, 0, 0, 8, 1, 1, 0, 0]),
        ("TS with a short selector", .trafficSelectorInitiator, [0, 0, 0, 16, 1, 0, 0, 0, 7, 0, 0, 8, 0, 0, 0, 0]),
        ("delete SPI count disagrees", .delete, [0, 0, 0, 12, 3, 4, 0, 2, 1, 2, 3, 4]),
        ("ID_IPV4_ADDR of 3 octets", .identificationInitiator, [0, 0, 0, 11, 1, 0, 0, 0, 1, 2, 3]),
        ("octets after SK", .encrypted, [0, 0, 0, 4, 0xFF]),
    ]

    @Test("malformed payloads throw typed errors", arguments: malformed)
    func malformedPayload(_ c: (String, PayloadType, [UInt8])) {
        #expect(throws: IKEError.self) { try PayloadChain.parse(first: c.1, c.2[...]) }
    }

    @Test func headerLengthMustMatchDatagram() throws {
        var bytes = IKEMessage(header: IKEHeader(spiI: 1, spiR: 0, nextPayload: .none, exchange: .informational,
                                                 flags: [], messageID: 0), payloads: []).serialize()
        bytes.append(0)
        #expect(throws: IKEError.self) { try IKEMessage.parse(bytes) }
        bytes[17] = 0x30
        #expect { try IKEMessage.parse(Array(bytes.dropLast())) } throws: { ($0 as? IKEError)?.code == .invalidMajorVersion }
    }

    @Test("every prefix of a message fails cleanly")
    func everyPrefix() {
        let bytes = IKEMessage(header: IKEHeader(spiI: 9, spiR: 0, nextPayload: .none, exchange: .ikeSAInit,
                                                 flags: [.initiator], messageID: 0), payloads: Self.samplePayloads).serialize()
        for n in 0..<bytes.count {
            #expect(throws: IKEError.self) { try IKEMessage.parse(Array(bytes.prefix(n))) }
        }
    }
}

@Suite("Message rules (RFC 7296 §1, strongSwan-style table)")
struct MessageRuleTests {
    static let sa = Payload.securityAssociation(ProposalSelection.offer(.gatewayIKE, protocolID: .ike))
    static let ke = Payload.keyExchange(KeyExchangePayload(group: 31, data: Array(repeating: 1, count: 32)))
    static let nonce = Payload.nonce(NoncePayload(data: Array(repeating: 2, count: 32)))

    static let cases: [(String, ExchangeType, Bool, [Payload], Bool)] = [
        ("IKE_SA_INIT request complete", .ikeSAInit, false, [sa, ke, nonce], true),
        ("IKE_SA_INIT request without KE", .ikeSAInit, false, [sa, nonce], false),
        ("IKE_SA_INIT request with two nonces", .ikeSAInit, false, [sa, ke, nonce, nonce], false),
        ("IKE_SA_INIT request with AUTH", .ikeSAInit, false, [sa, ke, nonce, .authentication(AuthenticationPayload(method: 2, data: []))], false),
        ("IKE_SA_INIT response with only COOKIE", .ikeSAInit, true, [.notify(NotifyPayload(.cookie, data: [1]))], true),
        ("IKE_SA_INIT response with only a status notify", .ikeSAInit, true, [.notify(NotifyPayload(.natDetectionSourceIP))], false),
        ("IKE_AUTH request without IDi", .ikeAuth, false, [.authentication(AuthenticationPayload(method: 2, data: []))], false),
        ("IKE_AUTH response with only AUTHENTICATION_FAILED", .ikeAuth, true, [.notify(NotifyPayload(.authenticationFailed))], true),
        ("CREATE_CHILD_SA request without nonce", .createChildSA, false, [sa], false),
        ("INFORMATIONAL empty request", .informational, false, [], true),
        ("INFORMATIONAL with a KE", .informational, false, [ke], false),
        ("unknown exchange 99", ExchangeType(rawValue: 99), false, [], false),
    ]

    @Test("the table accepts and refuses like the RFC", arguments: cases)
    func rule(_ c: (String, ExchangeType, Bool, [Payload], Bool)) {
        let ok = (try? MessageRules.check(c.1, isResponse: c.2, c.3)) != nil
        #expect(ok == c.4, "\(c.0)")
    }
}
