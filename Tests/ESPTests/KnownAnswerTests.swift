import ESP
import IPsecCrypto
import Testing

// Whole ESP packets built independently (Python `cryptography` + `hmac`, following RFC 4303
// §2.4 padding and §3.3.2 / RFC 4106 layouts by hand) and pinned here byte for byte.
// Inner packet: IPv4 ICMP echo request 192.0.2.10 → 203.0.113.1, id 0x1234 seq 1, "ping".
let kat_inner = hex("450000200001000040017cd0c000020acb007101080006fa1234000170696e67")

@Test func aesCBCHMACSHA1KnownPacket() throws {
    // AES-128 key and IV from RFC 3602 §4 case 1; HMAC key 0x20…0x33; SPI 0x4321, seq 1.
    let transform = try ESPTransform(encryption: .aesCBC, keyLength: 16, integrity: .hmacSHA1_96)
    let keyMaterial = hex("06a9214036b8a15b512e03d534120006") + Array(0x20...0x33)
    let provider = FixedRandomProvider(fixed: hex("3dafba429d9eb430b422da802c9fac41"))
    var outbound = try OutboundSA(spi: 0x4321, transform: transform, keyMaterial: keyMaterial, now: .zero)
    let expected = hex("""
        00004321 00000001 3dafba429d9eb430b422da802c9fac41
        42a480894383318085e7a270505914bd15712a7aba9870ce9cc48c55543bd496250950ff6fd6993d27f5d78a8647429f
        4581dae909ded39cf8d7f31e
        """)
    #expect(try outbound.seal(kat_inner, now: .zero, crypto: provider) == expected)

    var inbound = try InboundSA(spi: 0x4321, transform: transform, keyMaterial: keyMaterial, now: .zero)
    let opened = try inbound.open(expected, now: .zero, crypto: crypto)
    #expect(opened.payload == kat_inner)
    #expect(opened.nextHeader == 4)
}

@Test func aesGCMKnownPacket() throws {
    // Key and salt from the GCM spec's test case 3 (K = feffe992…, salt cafebabe); SPI 0x4322.
    let transform = try ESPTransform(encryption: .aesGCM16, keyLength: 16, integrity: nil)
    let keyMaterial = hex("feffe9928665731c6d6a8f9467308308 cafebabe")
    var outbound = try OutboundSA(spi: 0x4322, transform: transform, keyMaterial: keyMaterial, now: .zero)
    let expected = hex("""
        00004322 00000001 0000000000000001
        c944aab9f44f7cb944bbcdba2281634894d2a596d9c105cce036bbb50031949e5376dfd9
        94a28aa2a86c9037aac8b96d0dbe2c08
        """)
    #expect(try outbound.seal(kat_inner, now: .zero, crypto: crypto) == expected)

    var inbound = try InboundSA(spi: 0x4322, transform: transform, keyMaterial: keyMaterial, now: .zero)
    #expect(try inbound.open(expected, now: .zero, crypto: crypto).payload == kat_inner)
}
