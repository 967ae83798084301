import Foundation
import IKE
import IPsecCrypto
import SLBWire
import Testing

/// A real IKEv1 exchange between two strongSwan 5.9.8 daemons (main mode PSK 3DES/SHA-1/
/// group 2, NAT-T float forced by kernel-libipsec, quick mode AES-128/SHA-1 with PFS group 2),
/// made by `Fixtures/strongswan/make-fixture`. Our code re-derives every key and IV from the
/// wire, the PSK and charon's logged DH secrets, decrypts every encrypted message with its IV
/// chain, checks every HASH, and must agree with what charon logged.
struct StrongSwanCaptureTests {
    struct Capture {
        var messages: [(toResponder: Bool, bytes: [UInt8])] = []
        var log: [(String, [UInt8])] = []
        var psk: [UInt8] = []

        func value(_ label: String, _ n: Int = 0) -> [UInt8] {
            let all = log.filter { $0.0 == label }
            return n < all.count ? all[n].1 : []
        }
    }

    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/strongswan")

    static func load() throws -> Capture {
        var c = Capture()
        for line in try String(contentsOf: directory.appendingPathComponent("messages.txt"), encoding: .utf8).split(separator: "\n") {
            let f = line.split(separator: " ")
            guard f.count == 4 else { continue }
            c.messages.append((f[0] == "I->R", hex(String(f[3]))))
        }
        for line in try String(contentsOf: directory.appendingPathComponent("initiator.keys.txt"), encoding: .utf8).split(separator: "\n")
        where !line.hasPrefix("#") {
            guard let r = line.range(of: ": ", options: .backwards) else { continue }
            c.log.append((String(line[..<r.lowerBound]), hex(String(line[r.upperBound...]))))
        }
        let conf = try String(contentsOf: directory.appendingPathComponent("initiator.swanctl.conf"), encoding: .utf8)
        if let line = conf.split(separator: "\n").first(where: { $0.contains("secret =") }), let q = line.split(separator: "\"").dropFirst().first {
            c.psk = Array(q.utf8)
        }
        return c
    }

    /// CBC-decrypts an encrypted message; returns the parsed chain and the last ciphertext block.
    static func open(_ bytes: [UInt8], key: [UInt8], iv: [UInt8]) throws -> (ISAKMPMessage, [UInt8]) {
        let header = try ISAKMPHeader.parse(bytes)
        #expect(header.isEncrypted)
        let body = Array(bytes.dropFirst(ISAKMPHeader.length))
        let plain = try openSSL.cbcDecrypt(.tripleDESCBC, key: key, iv: iv, ciphertext: body)
        return (try ISAKMPMessage.parse(header: header, chain: plain, allowPadding: true), Array(body.suffix(8)))
    }

    /// The octets after a leading HASH payload, up to the last payload (RFC 2409 §5.5).
    static func afterHash(_ m: ISAKMPMessage) -> [UInt8] {
        guard let first = m.entries.first, let last = m.entries.last else { return [] }
        return Array(m.chain[first.end..<last.end])
    }

    static func body(_ m: ISAKMPMessage, _ type: UInt8) -> [UInt8] {
        m.entries.first { $0.payload.type == type }?.body ?? []
    }

    @Test func everyKeyIVAndHashMatchesStrongSwan() throws {
        let c = try Self.load()
        try #require(c.messages.count == 9 && !c.psk.isEmpty)
        // MM1..MM4 are in the clear: our parser and serializer reproduce them octet for octet.
        let clear = try c.messages.prefix(4).map { try ISAKMPMessage.parse($0.bytes) }
        for (m, original) in zip(clear, c.messages.prefix(4)) {
            #expect(ISAKMPMessage.serialize(m.header, m.payloads) == original.bytes)
        }
        let (mm1, mm2, mm3, mm4) = (clear[0], clear[1], clear[2], clear[3])
        let cookies = mm2.header.cookies
        // The responder's choice is the seed policy 3DES/SHA-1/group 2.
        guard case .securityAssociation(let chosen)? = mm2.payloads.first, let t = chosen.proposals.first?.transforms.first else {
            Issue.record("MM2 without SA"); return
        }
        let policy = ISAKMPPolicy(priority: 1, encryption: .tripleDESCBC, keyLength: 24, hash: .sha1, group: .modp1024)
        #expect(ISAKMPPolicy.seedPolicies.contains(policy))
        #expect(mm1.payloads.contains(.vendorID(ISAKMPVendorID.natTraversalRFC3947)))
        #expect(mm1.payloads.contains(.vendorID(ISAKMPVendorID.deadPeerDetection)))
        // Our responder, given strongSwan's MM1, picks the same transform strongSwan's did.
        var ours = IKEv1Responder(configuration: responderConfiguration(), crypto: openSSL)
        let reply = ours.receive(c.messages[0].bytes, from: clientEndpoint, to: gatewayEndpoint, now: .seconds(1)).sent
        let ourMM2 = try ISAKMPMessage.parse(try #require(reply.first))
        guard case .securityAssociation(let ourChoice)? = ourMM2.payloads.first else { Issue.record("our MM2 without SA"); return }
        #expect(ourChoice.proposals.first?.transforms == [t])
        #expect(ourMM2.payloads.contains(.vendorID(ISAKMPVendorID.natTraversalRFC3947)))

        let saiBody = Self.body(mm1, ISAKMPPayloadType.securityAssociation)
        let gxi = Self.body(mm3, ISAKMPPayloadType.keyExchange), gxr = Self.body(mm4, ISAKMPPayloadType.keyExchange)
        let ni = Self.body(mm3, ISAKMPPayloadType.nonce), nr = Self.body(mm4, ISAKMPPayloadType.nonce)
        let gxy = c.value("shared Diffie Hellman secret")
        #expect(gxi.count == 128 && gxr.count == 128 && gxy.count == 128)

        // SKEYID family and the App. B expanded 3DES key (SHA-1 gives 20 < 24 octets).
        let skeyid = IKEv1KeyDerivation.skeyidPreShared(openSSL, .sha1, psk: c.psk, ni: ni, nr: nr)
        let k = IKEv1KeyDerivation.phase1Keys(openSSL, .sha1, skeyid: skeyid, sharedSecret: gxy, cookies: cookies, keyLength: 24)
        #expect(k.skeyid == c.value("SKEYID") && k.skeyidD == c.value("SKEYID_d"))
        #expect(k.skeyidA == c.value("SKEYID_a") && k.skeyidE == c.value("SKEYID_e"))
        #expect(k.encryptionKey == c.value("encryption key Ka"))
        let iv0 = IKEv1KeyDerivation.phase1IV(openSSL, .sha1, gxi: gxi, gxr: gxr, blockSize: 8)
        #expect(iv0 == c.value("initial IV"))

        // NAT-D (RFC 3947 §3.2): the initiator's hash of the responder's 203.0.113.100:500.
        #expect(IKEv1KeyDerivation.natDiscovery(openSSL, .sha1, cookies: cookies, endpoint: IKEEndpoint(vip, 500))
                == c.value("natd_hash", 0))
        // The responder faked its own NAT-D (kernel-libipsec forces encapsulation): no match.
        let responderNATD = mm4.payloads.compactMap { if case .natDiscovery(let h) = $0 { h } else { nil } }
        #expect(responderNATD.count == 2)
        #expect(responderNATD.first == IKEv1KeyDerivation.natDiscovery(openSSL, .sha1, cookies: cookies, endpoint: clientEndpoint))
        #expect(!responderNATD.dropFirst().contains(IKEv1KeyDerivation.natDiscovery(openSSL, .sha1, cookies: cookies,
                                                                                      endpoint: IKEEndpoint(vip, 500))))

        // MM5 (IV = initial IV) and MM6 (IV = last block of MM5): decrypt and verify HASH_I/HASH_R.
        let (mm5, mm5Last) = try Self.open(c.messages[4].bytes, key: k.encryptionKey, iv: iv0)
        #expect(mm5Last == c.value("next IV for MID 0", 0))
        let hashI = IKEv1KeyDerivation.hashI(openSSL, .sha1, skeyid: skeyid, gxi: gxi, gxr: gxr, cookies: cookies, saiBody: saiBody,
                                             idiiBody: Self.body(mm5, ISAKMPPayloadType.identification))
        #expect(Self.body(mm5, ISAKMPPayloadType.hash) == hashI && hashI == c.value("HASH_I"))
        #expect(mm5.payloads.first == .identification(.ipv4(clientAddress, protocolID: 17, port: 500)) ||
                mm5.payloads.first == .identification(.ipv4(clientAddress)))
        let (mm6, phase1IV) = try Self.open(c.messages[5].bytes, key: k.encryptionKey, iv: mm5Last)
        #expect(phase1IV == c.value("next IV for MID 0", 1))
        let hashR = IKEv1KeyDerivation.hashR(openSSL, .sha1, skeyid: skeyid, gxi: gxi, gxr: gxr, cookies: cookies, saiBody: saiBody,
                                             idirBody: Self.body(mm6, ISAKMPPayloadType.identification))
        #expect(Self.body(mm6, ISAKMPPayloadType.hash) == hashR && hashR == c.value("HASH_R"))

        // Quick mode: IV from the phase-1 IV and the M-ID, then chained.
        let mid = try ISAKMPHeader.parse(c.messages[6].bytes).messageID
        let qmIV = IKEv1KeyDerivation.exchangeIV(openSSL, .sha1, lastPhase1Block: phase1IV, messageID: mid, blockSize: 8)
        #expect(qmIV == c.value("next IV for MID \(mid)", 0))
        let (qm1, qm1Last) = try Self.open(c.messages[6].bytes, key: k.encryptionKey, iv: qmIV)
        let hash1 = IKEv1KeyDerivation.exchangeHash(openSSL, .sha1, skeyidA: k.skeyidA, messageID: mid, rest: Self.afterHash(qm1))
        #expect(Self.body(qm1, ISAKMPPayloadType.hash) == hash1 && hash1 == c.value("Hash(1)"))
        let qmNi = Self.body(qm1, ISAKMPPayloadType.nonce)
        let (qm2, qm2Last) = try Self.open(c.messages[7].bytes, key: k.encryptionKey, iv: qm1Last)
        let hash2 = IKEv1KeyDerivation.exchangeHash(openSSL, .sha1, skeyidA: k.skeyidA, messageID: mid, prefix: qmNi,
                                                    rest: Self.afterHash(qm2))
        #expect(Self.body(qm2, ISAKMPPayloadType.hash) == hash2 && hash2 == c.value("Hash(2)"))
        let qmNr = Self.body(qm2, ISAKMPPayloadType.nonce)
        let (qm3, _) = try Self.open(c.messages[8].bytes, key: k.encryptionKey, iv: qm2Last)
        let hash3 = IKEv1KeyDerivation.quickModeHash3(openSSL, .sha1, skeyidA: k.skeyidA, messageID: mid, ni: qmNi, nr: qmNr)
        #expect(qm3.payloads == [.hash(hash3)] && hash3 == c.value("Hash(3)"))

        // Our quick mode policy accepts what strongSwan proposed and what it got back.
        guard case .securityAssociation(let offer)? = qm1.payloads.dropFirst().first,
              case .securityAssociation(let answer)? = qm2.payloads.dropFirst().first,
              let offerSPI = offer.proposals.first?.spi, let answerSPI = answer.proposals.first?.spi,
              let initiatorSPI = UInt32(exactly: offerSPI.reduce(0) { $0 << 8 | UInt64($1) }),
              let responderSPI = UInt32(exactly: answerSPI.reduce(0) { $0 << 8 | UInt64($1) })
        else { Issue.record("quick mode SA payloads"); return }
        #expect(answer.proposals.first?.transforms.first?.transformID == Phase2Attribute.espAES)

        // KEYMAT with PFS (§5.5): I→R traffic is keyed with the responder's SPI.
        let pfs = c.value("DH secret")
        #expect(pfs.count == 128)
        func keymat(_ spi: UInt32) -> [UInt8] {
            IKEv1KeyDerivation.keymat(openSSL, .sha1, skeyidD: k.skeyidD, pfsSharedSecret: pfs, protocolID: ISAKMPProtocolID.ipsecESP,
                                      spi: spi, ni: qmNi, nr: qmNr, length: 16 + 20)
        }
        let toResponder = keymat(responderSPI), toInitiator = keymat(initiatorSPI)
        #expect(Array(toResponder.prefix(16)) == c.value("encryption initiator key"))
        #expect(Array(toResponder.suffix(20)) == c.value("integrity initiator key"))
        #expect(Array(toInitiator.prefix(16)) == c.value("encryption responder key"))
        #expect(Array(toInitiator.suffix(20)) == c.value("integrity responder key"))
    }
}
