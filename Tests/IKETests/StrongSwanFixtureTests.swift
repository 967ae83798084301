import Foundation
@testable import IKE
import IPsecCrypto
import SLBWire
import Testing

/// A real strongSwan 5.9.8 IKEv2 PSK exchange (default proposals) captured by
/// `scripts/make-strongswan-fixture`; see Fixtures/strongswan/README.md.
enum StrongSwanFixture {
    static func file(_ name: String) -> String {
        guard let url = Bundle.module.url(forResource: "Fixtures/strongswan/\(name)", withExtension: nil),
              let text = try? String(contentsOf: url, encoding: .utf8) else { return "" }
        return text
    }
    static func message(_ name: String) -> [UInt8] { hex(file("\(name).hex")) }

    /// `label: hex` lines of keys.txt; a label that repeats keeps its first value.
    static let keys: [String: [UInt8]] = {
        var out: [String: [UInt8]] = [:]
        for line in file("keys.txt").split(separator: "\n") where !line.hasPrefix("#") {
            guard let colon = line.lastIndex(of: ":") else { continue }
            let label = String(line[..<colon])
            if out[label] == nil { out[label] = hex(String(line[line.index(after: colon)...])) }
        }
        return out
    }()

    static let initRequest = message("ike_sa_init_request")
    static let initResponse = message("ike_sa_init_response")
    static let authRequest = message("ike_auth_request")
    static let authResponse = message("ike_auth_response")
    static let psk = Array("vpnslb-fixture-psk-0123456789".utf8)
    static let suite = IKESuite(encryption: .aesCBC, keyLength: 16, prf: .hmacSHA256, integrity: .hmacSHA256_128, dhGroup: .curve25519)

    static func key(_ label: String) -> [UInt8] { keys[label] ?? [] }
}

@Suite("strongSwan 5.9.8 capture")
struct StrongSwanFixtureTests {
    typealias F = StrongSwanFixture

    @Test func fixturesArePresent() {
        #expect(F.initRequest.count == 892)
        #expect(F.initResponse.count == 248)
        #expect(F.authRequest.count == 416)
        #expect(F.authResponse.count == 240)
        #expect(F.key("SKEYSEED").count == 32)
    }

    @Test func everyMessageParsesAndReserialisesIdentically() throws {
        for bytes in [F.initRequest, F.initResponse, F.authRequest, F.authResponse] {
            let m = try IKEMessage.parse(bytes)
            #expect(m.serialize() == bytes)
        }
        let request = try IKEMessage.parse(F.initRequest)
        #expect(request.header.exchange == .ikeSAInit && !request.header.isResponse)
        #expect(request.payloads.keyExchange?.group == DHGroup.curve25519.rawValue)
        #expect(try IKEMessage.parse(F.authRequest).payloads.map(\.type) == [.encrypted])
    }

    /// SKEYSEED and the seven secrets from the capture's nonces and DH secret (§2.14).
    @Test func keyDerivationMatchesStrongSwan() throws {
        let ni = try #require(try IKEMessage.parse(F.initRequest).payloads.nonce?.data)
        let response = try IKEMessage.parse(F.initResponse)
        let nr = try #require(response.payloads.nonce?.data)
        let seed = KeyDerivation.skeyseed(openSSL, prf: .hmacSHA256, ni: ni, nr: nr,
                                          sharedSecret: F.key("shared Diffie Hellman secret"))
        #expect(seed == F.key("SKEYSEED"))
        let k = try KeyDerivation.ikeKeys(openSSL, suite: F.suite, skeyseed: seed, ni: ni, nr: nr,
                                          spiI: response.header.spiI, spiR: response.header.spiR)
        #expect(k.skD == F.key("Sk_d secret"))
        #expect(k.skAi == F.key("Sk_ai secret"))
        #expect(k.skAr == F.key("Sk_ar secret"))
        #expect(k.skEi == F.key("Sk_ei secret"))
        #expect(k.skEr == F.key("Sk_er secret"))
        #expect(k.skPi == F.key("Sk_pi secret"))
        #expect(k.skPr == F.key("Sk_pr secret"))
    }

    @Test func natDetectionHashesMatchStrongSwan() throws {
        let response = try IKEMessage.parse(F.initResponse)
        // natd_chunk #3 is SPIi | SPIr | 192.0.2.10 | 500 (§2.23).
        let h = NATDetection.hash(openSSL, spiI: response.header.spiI, spiR: response.header.spiR,
                                  endpoint: IKEEndpoint(IPv4Address(192, 0, 2, 10), 500))
        #expect(hexString(h) == "157783a2fee501a984780a7e658ab55b286ca9de")
    }

    /// Decrypts both IKE_AUTH messages with the logged keys and verifies both AUTH payloads.
    @Test func ikeAuthDecryptsAndBothAuthPayloadsVerify() throws {
        let cipherI = SKCipher(encryption: .aesCBC, encryptionKey: F.key("Sk_ei secret"), integrity: .hmacSHA256_128,
                               integrityKey: F.key("Sk_ai secret"))
        let cipherR = SKCipher(encryption: .aesCBC, encryptionKey: F.key("Sk_er secret"), integrity: .hmacSHA256_128,
                               integrityKey: F.key("Sk_ar secret"))
        let request = try IKEMessage.parse(F.authRequest)
        let inner = try SKCodec.open(F.authRequest, sk: try #require(request.payloads.encrypted), cipher: cipherI, crypto: openSSL)
        #expect(inner.map(\.type.rawValue) == [35, 41, 36, 39, 33, 44, 45, 41, 41, 41, 41, 41])
        try MessageRules.check(.ikeAuth, isResponse: false, inner)
        let response = try IKEMessage.parse(F.authResponse)
        let innerR = try SKCodec.open(F.authResponse, sk: try #require(response.payloads.encrypted), cipher: cipherR, crypto: openSSL)
        #expect(innerR.map(\.type.rawValue) == [36, 39, 33, 44, 45, 41, 41])
        try MessageRules.check(.ikeAuth, isResponse: true, innerR)
        // The wrong direction's keys fail the ICV.
        #expect(throws: IKEError.self) { try SKCodec.open(F.authRequest, sk: request.payloads.encrypted!, cipher: cipherR, crypto: openSSL) }

        let ni = try #require(try IKEMessage.parse(F.initRequest).payloads.nonce?.data)
        let nr = try #require(try IKEMessage.parse(F.initResponse).payloads.nonce?.data)
        let idi = try #require(inner.identificationInitiator)
        #expect(idi == .fqdn("client.vpnslb.example"))
        #expect(PSKAuthentication.verify(try #require(inner.authentication), openSSL, prf: .hmacSHA256, psk: F.psk,
                                         realMessage: F.initRequest, peerNonce: nr, skP: F.key("Sk_pi secret"), identity: idi))
        let idr = try #require(innerR.identificationResponder)
        #expect(PSKAuthentication.verify(try #require(innerR.authentication), openSSL, prf: .hmacSHA256, psk: F.psk,
                                         realMessage: F.initResponse, peerNonce: ni, skP: F.key("Sk_pr secret"), identity: idr))
        // Our ESP selection on strongSwan's SAi2 picks what strongSwan's responder picked.
        let sai2 = try #require(inner.securityAssociation)
        guard case .chosen(_, let m) = ProposalSelection.select(sai2, protocolID: .esp, policy: .gatewayESP, dh: .ignore) else {
            Issue.record("no ESP proposal chosen")
            return
        }
        #expect(m.espSuite == ESPSuite(encryption: .aesGCM16, keyLength: 16, integrity: nil))
    }

    /// Our responder's answer to the recorded IKE_SA_INIT is well formed and acceptable to it.
    @Test func responderAnswersTheRecordedIKESAInit() throws {
        var config = IKEv2ResponderConfiguration(virtualIP: vip, defaultPSK: F.psk, cookieSecret: farmSecret)
        config.identity = .fqdn("gateway.vpnslb.example")
        var responder = IKEv2Responder(configuration: config, crypto: openSSL)
        let actions = responder.receive(F.initRequest, from: IKEEndpoint(IPv4Address(192, 0, 2, 10), 500), to: gatewayEndpoint,
                                        now: .seconds(1))
        let answer = try #require(actions.sent.first)
        let m = try IKEMessage.parse(answer)
        try MessageRules.check(.ikeSAInit, isResponse: true, m.payloads)
        let offer = try #require(try IKEMessage.parse(F.initRequest).payloads.securityAssociation)
        let sa = try #require(m.payloads.securityAssociation)
        // Exactly one proposal, one that strongSwan offered, each transform taken from it.
        #expect(sa.proposals.count == 1)
        let chosen = try #require(sa.proposals.first)
        let offered = try #require(offer.proposals.first { $0.number == chosen.number })
        for t in chosen.transforms { #expect(offered.transforms.contains(t)) }
        #expect(Set(chosen.transforms.map(\.type)).count == chosen.transforms.count)
        let ke = try #require(m.payloads.keyExchange)
        #expect(ke.group == DHGroup.curve25519.rawValue && ke.data.count == 32)
        #expect(m.payloads.notify(.natDetectionSourceIP) != nil && m.payloads.notify(.natDetectionDestinationIP) != nil)
        #expect(m.header.spiR != 0 && m.header.isResponse && m.header.messageID == 0)
        #expect(responder.halfOpenCount == 1)
        // Our selection honours strongSwan's order: its first proposal, first transforms.
        #expect(ProposalSelection.checkAnswer(sa, offer: offer, policy: .gatewayIKE, dh: .mustMatchKE(31)) != nil)
    }
}

/// Our responder's IKE_AUTH processing fed strongSwan's real IKE_AUTH request, with the
/// half-open SA rebuilt from the capture's logged keys (the DH private key is not in the log,
/// so IKE_SA_INIT itself cannot be replayed into the same keys).
@Suite("strongSwan 5.9.8 IKE_AUTH into our responder")
struct StrongSwanAuthReplayTests {
    typealias F = StrongSwanFixture

    @Test func responderAcceptsStrongSwansIKEAuthAndAnswersVerifiably() throws {
        let initRequest = try IKEMessage.parse(F.initRequest)
        let initResponse = try IKEMessage.parse(F.initResponse)
        let ni = try #require(initRequest.payloads.nonce?.data)
        let nr = try #require(initResponse.payloads.nonce?.data)
        let keys = IKESAKeys(skD: F.key("Sk_d secret"), skAi: F.key("Sk_ai secret"), skAr: F.key("Sk_ar secret"),
                             skEi: F.key("Sk_ei secret"), skEr: F.key("Sk_er secret"), skPi: F.key("Sk_pi secret"),
                             skPr: F.key("Sk_pr secret"))
        let id = IKESAIdentifier(spiI: initResponse.header.spiI, spiR: initResponse.header.spiR)
        let client = IKEEndpoint(IPv4Address(192, 0, 2, 10), 4500)
        let local = IKEEndpoint(vip, 4500)
        var sa = ResponderSA(halfOpen: HalfOpenSA(id: id, suite: F.suite, keys: keys, ni: ni, nr: nr, local: local,
                                                  peer: IKEEndpoint(IPv4Address(192, 0, 2, 10), 500), udpEncapsulation: true,
                                                  initRequest: F.initRequest, initResponse: F.initResponse, expires: .seconds(30)))
        var config = IKEv2ResponderConfiguration(virtualIP: vip, defaultPSK: F.psk, cookieSecret: farmSecret)
        config.identity = .fqdn("gateway.vpnslb.example")
        config.child.localSelectors = [.host(IPv4Address(203, 0, 113, 1))]
        var pool: AddressPool?
        let context = CoreContext(crypto: openSSL, ikePolicy: config.ike, child: config.child,
                                  retransmission: config.retransmission, usedSPIs: [])
        // IKE_AUTH (strongSwan) -->
        let result = sa.receive(F.authRequest, try IKEMessage.parse(F.authRequest), from: client, to: local, now: .seconds(1),
                                context: context, configuration: config, pool: &pool)
        #expect(result.actions.established.count == 1)
        let child = try #require(result.actions.installed.first)
        #expect(child.outboundSPI == 0x58a1e21e)                         // strongSwan's inbound SPI
        #expect(child.suite == ESPSuite(encryption: .aesGCM16, keyLength: 16, integrity: nil))
        #expect(child.remoteSelectors == [.host(IPv4Address(192, 0, 2, 130))])
        #expect(child.localSelectors == [.host(IPv4Address(203, 0, 113, 1))])
        #expect(child.udpEncapsulation)

        // <-- IKE_AUTH (ours): decrypt with SK_er/SK_ar and check it as strongSwan would.
        let answer = try #require(result.actions.sent.first)
        let m = try IKEMessage.parse(answer)
        #expect(m.header.isResponse && m.header.messageID == 1 && !m.header.isFromOriginalInitiator)
        let cipherR = SKCipher(encryption: .aesCBC, encryptionKey: F.key("Sk_er secret"), integrity: .hmacSHA256_128,
                               integrityKey: F.key("Sk_ar secret"))
        let inner = try SKCodec.open(answer, sk: try #require(m.payloads.encrypted), cipher: cipherR, crypto: openSSL)
        try MessageRules.check(.ikeAuth, isResponse: true, inner)
        let idr = try #require(inner.identificationResponder)
        #expect(idr == .fqdn("gateway.vpnslb.example"))
        #expect(PSKAuthentication.verify(try #require(inner.authentication), openSSL, prf: .hmacSHA256, psk: F.psk,
                                         realMessage: F.initResponse, peerNonce: ni, skP: F.key("Sk_pr secret"), identity: idr))
        // strongSwan offered MOBIKE; we never accept it (spec §1.7).
        let request = try SKCodec.open(F.authRequest, sk: try #require(try IKEMessage.parse(F.authRequest).payloads.encrypted),
                                       cipher: SKCipher(encryption: .aesCBC, encryptionKey: F.key("Sk_ei secret"),
                                                        integrity: .hmacSHA256_128, integrityKey: F.key("Sk_ai secret")),
                                       crypto: openSSL)
        #expect(request.notify(.mobikeSupported) != nil)
        #expect(!inner.notifies.contains { $0.type == .mobikeSupported })
        let sar2 = try #require(inner.securityAssociation)
        #expect(sar2.proposals.count == 1 && sar2.proposals[0].spi == child.inboundSPI.bigEndianBytesForTest)
    }
}

extension UInt32 {
    var bigEndianBytesForTest: [UInt8] { [UInt8(self >> 24), UInt8(self >> 16 & 0xFF), UInt8(self >> 8 & 0xFF), UInt8(self & 0xFF)] }
}
