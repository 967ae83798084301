@testable import CryptoOpenSSL
import IPsecCrypto
import Testing

@Test(arguments: DHGroup.allCases)
func twoPartiesAgree(_ group: DHGroup) throws {
    // Several rounds so MODP secrets with a leading zero byte (1 in 256) are likely over time
    // and the fixed length is exercised on every run.
    for _ in 0..<4 {
        let initiator = try provider.makeKeyExchange(group: group)
        let responder = try provider.makeKeyExchange(group: group)
        #expect(initiator.group == group)
        #expect(initiator.publicValue.count == group.publicValueLength)
        #expect(initiator.publicValue != responder.publicValue)
        let a = try initiator.sharedSecret(peerPublicValue: responder.publicValue)
        let b = try responder.sharedSecret(peerPublicValue: initiator.publicValue)
        #expect(a == b)
        #expect(a.count == group.sharedSecretLength)
    }
}

struct PrimeCheck: Sendable {
    let group: DHGroup
    let bits: Int
    let sha256: String
}

/// SHA-256 of each prime's big-endian bytes, computed from the RFC formula with an
/// independent π; group 14's value is also the one in the project's IKE spec (§5).
@Test(arguments: [
    PrimeCheck(group: .modp1024, bits: 1024, sha256: "3f35a3f5f6c4376a744acad409bb22f8d897f949d2311d885adaa890981b67a0"),
    PrimeCheck(group: .modp1536, bits: 1536, sha256: "64fcc83ec403930bf18393dbc883ccaa1fbb08ac876f77f7aa99748ca945019b"),
    PrimeCheck(group: .modp2048, bits: 2048, sha256: "d66436f79bbd6b2e38c0ffbd079be904d2641415e2e67140e09448be9a60890e"),
])
func modpPrimesMatchTheRFCs(_ check: PrimeCheck) throws {
    let prime = try #require(MODPPrime.bytes(for: check.group))
    #expect(prime.count * 8 == check.bits)
    #expect(prime.count == check.group.publicValueLength)
    // 2^n − 2^(n−64) − 1 + 2^64·(…): the top and bottom 64 bits are all ones.
    #expect(prime.prefix(8).allSatisfy { $0 == 0xFF })
    #expect(prime.suffix(8).allSatisfy { $0 == 0xFF })
    // All three share ⌊2^k·π⌋'s leading digits (C90FDAA2 2168C234 …).
    #expect(Array(prime[8..<16]) == hex("C90FDAA22168C234"))
    #expect(hexString(provider.hash(.sha256, prime)) == check.sha256)
    // The key OpenSSL generated really lives in that group.
    let exchange = try OpenSSLKeyExchange(group: check.group)
    #expect(try exchange.domainPrime() == prime)
}

struct BadPublicValue: Sendable, CustomTestStringConvertible {
    let name: String
    let group: DHGroup
    let value: [UInt8]
    var testDescription: String { name }
}

let badPublicValues: [BadPublicValue] = makeBadPublicValues()

func makeBadPublicValues() -> [BadPublicValue] {
    var cases: [BadPublicValue] = []
    for group in DHGroup.allCases {
        let length = group.publicValueLength
        cases.append(BadPublicValue(name: "\(group) empty", group: group, value: []))
        cases.append(BadPublicValue(name: "\(group) one short", group: group, value: [UInt8](repeating: 0x11, count: length - 1)))
        cases.append(BadPublicValue(name: "\(group) one long", group: group, value: [UInt8](repeating: 0x11, count: length + 1)))
    }
    for group in [DHGroup.modp1024, .modp1536, .modp2048] {
        let length = group.publicValueLength
        let zero = [UInt8](repeating: 0, count: length)
        var one = zero
        one[length - 1] = 1
        let prime = MODPPrime.bytes(for: group) ?? []
        var primeMinusOne = prime
        primeMinusOne[length - 1] -= 1
        cases.append(BadPublicValue(name: "\(group) y = 0", group: group, value: zero))
        cases.append(BadPublicValue(name: "\(group) y = 1", group: group, value: one))
        cases.append(BadPublicValue(name: "\(group) y = p - 1", group: group, value: primeMinusOne))
        cases.append(BadPublicValue(name: "\(group) y = p", group: group, value: prime))
        cases.append(BadPublicValue(name: "\(group) y > p", group: group, value: [UInt8](repeating: 0xFF, count: length)))
    }
    for group in [DHGroup.ecp256, .ecp384] {
        let half = group.publicValueLength / 2
        let coordinateOne = [UInt8](repeating: 0, count: half - 1) + [1]
        cases.append(BadPublicValue(name: "\(group) point (0, 0)", group: group, value: [UInt8](repeating: 0, count: 2 * half)))
        cases.append(BadPublicValue(name: "\(group) point (1, 1)", group: group, value: coordinateOne + coordinateOne))
        cases.append(BadPublicValue(name: "\(group) coordinates ≥ p", group: group, value: [UInt8](repeating: 0xFF, count: 2 * half)))
    }
    // u = 0 and u = 1 are low-order points: X25519 would output zeros (RFC 7748 §6.1).
    cases.append(BadPublicValue(name: "X25519 u = 0", group: .curve25519, value: [UInt8](repeating: 0, count: 32)))
    cases.append(BadPublicValue(name: "X25519 u = 1", group: .curve25519, value: [1] + [UInt8](repeating: 0, count: 31)))
    return cases
}

@Test(arguments: badPublicValues)
func invalidPeerValuesAreRejected(_ bad: BadPublicValue) throws {
    let exchange = try provider.makeKeyExchange(group: bad.group)
    do {
        _ = try exchange.sharedSecret(peerPublicValue: bad.value)
        Issue.record("accepted \(bad.name)")
    } catch let error as CryptoError {
        #expect(error.code == .invalidPublicValue)
    }
}

@Test func validECPointThatIsNotOursStillWorksAfterARejection() throws {
    // A rejection must not poison the key object or the thread's error queue.
    let exchange = try provider.makeKeyExchange(group: .ecp256)
    #expect(throws: CryptoError.self) { try exchange.sharedSecret(peerPublicValue: [UInt8](repeating: 0, count: 64)) }
    let peer = try provider.makeKeyExchange(group: .ecp256)
    #expect(try exchange.sharedSecret(peerPublicValue: peer.publicValue) == peer.sharedSecret(peerPublicValue: exchange.publicValue))
}

// MARK: known answers

/// RFC 7748 §6.1: Alice and Bob.
@Test func x25519DiffieHellmanRFC7748() throws {
    let alice = try OpenSSLKeyExchange(group: .curve25519, privateKey: hex("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a"))
    let bob = try OpenSSLKeyExchange(group: .curve25519, privateKey: hex("5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb"))
    #expect(hexString(alice.publicValue) == "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a")
    #expect(hexString(bob.publicValue) == "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f")
    let shared = "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742"
    #expect(hexString(try alice.sharedSecret(peerPublicValue: bob.publicValue)) == shared)
    #expect(hexString(try bob.sharedSecret(peerPublicValue: alice.publicValue)) == shared)
}

/// RFC 7748 §5.2: the X25519 function on arbitrary scalars and u-coordinates (clamping and
/// masking of the top bit happen inside).
@Test(arguments: [
    ("a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4",
     "e6db6867583030db3594c1a424b15f7c726624ec26b3353b10a903a6d0ab1c4c",
     "c3da55379de9c6908e94ea4df28d084f32eccf03491c71f754b4075577a28552"),
    ("4b66e9d4d1b4673c5ad22691957d6af5c11b6421e0ea01d42ca4169e7918ba0d",
     "e5210f12786811d3f4b7959d0538ae2c31dbe7106fc03c3efc4cd549c715a493",
     "95cbde9476e8907d7aade45cb4b873f88b595a68799fa152e6f8f7647aac7957"),
])
func x25519FunctionRFC7748(scalar: String, u: String, output: String) throws {
    let exchange = try OpenSSLKeyExchange(group: .curve25519, privateKey: hex(scalar))
    #expect(hexString(try exchange.sharedSecret(peerPublicValue: hex(u))) == output)
}

/// RFC 5903 §8.1 (ECP-256): both sides, public values in IKE's x ‖ y layout, shared = x.
@Test func ecp256RFC5903() throws {
    let initiator = try OpenSSLKeyExchange(group: .ecp256, privateKey: hex("C88F01F510D9AC3F70A292DAA2316DE544E9AAB8AFE84049C62A9C57862D1433"))
    let responder = try OpenSSLKeyExchange(group: .ecp256, privateKey: hex("C6EF9C5D78AE012A011164ACB397CE2088685D8F06BF9BE0B283AB46476BEE53"))
    let gi = hex("DAD0B65394221CF9B051E1FECA5787D098DFE637FC90B9EF945D0C3772581180"
        + "5271A0461CDB8252D61F1C456FA3E59AB1F45B33ACCF5F58389E0577B8990BB3")
    let gr = hex("D12DFB5289C8D4F81208B70270398C342296970A0BCCB74C736FC7554494BF63"
        + "56FBF3CA366CC23E8157854C13C58D6AAC23F046ADA30F8353E74F33039872AB")
    #expect(initiator.publicValue == gi)
    #expect(responder.publicValue == gr)
    let girx = "d6840f6b42f6edafd13116e0e12565202fef8e9ece7dce03812464d04b9442de"
    #expect(hexString(try initiator.sharedSecret(peerPublicValue: gr)) == girx)
    #expect(hexString(try responder.sharedSecret(peerPublicValue: gi)) == girx)
}

/// RFC 5903 §8.2 (ECP-384): the initiator's side.
@Test func ecp384RFC5903() throws {
    let initiator = try OpenSSLKeyExchange(group: .ecp384, privateKey: hex(
        "099F3C7034D4A2C699884D73A375A67F7624EF7C6B3C0F160647B67414DCE655E35B538041E649EE3FAEF896783AB194"))
    let gr = hex("E558DBEF53EECDE3D3FCCFC1AEA08A89A987475D12FD950D83CFA41732BC509D0D1AC43A0336DEF96FDA41D0774A3571"
        + "DCFBEC7AACF3196472169E838430367F66EEBE3C6E70C416DD5F0C68759DD1FFF83FA40142209DFF5EAAD96DB9E6386C")
    #expect(hexString(try initiator.sharedSecret(peerPublicValue: gr))
        == "11187331c279962d93d604243fd592cb9d0a926f422e47187521287e7156c5c4d603135569b9e9d09cf5d4a270f59746")
}
