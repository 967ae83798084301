/// Small, well-formed payloads: the SLB and the gateways' counters only look at headers, and
/// small packets are what stresses a forwarder (packets per second, not bytes).
public enum TrafficPayloads {
    /// An IKEv2 header alone (RFC 7296 §3.1): SPIi, zero SPIr, no payloads, IKE_SA_INIT (34),
    /// initiator flag, message ID 0, length 28.
    public static func ikeHeader(spi: UInt64) -> [UInt8] {
        var bytes = withUnsafeBytes(of: spi.bigEndian, Array.init)
        bytes += [UInt8](repeating: 0, count: 8)
        bytes += [0, 0x20, 34, 0x08, 0, 0, 0, 0, 0, 0, 0, 28]
        return bytes
    }

    /// RFC 3948 §2.2: four zero octets (the non-ESP marker) before the IKE header on UDP 4500.
    public static func nattIKE(spi: UInt64) -> [UInt8] { [0, 0, 0, 0] + ikeHeader(spi: spi) }

    /// An ESP header (RFC 4303 §2: SPI ≥ 256, sequence) and 16 opaque bytes standing in for
    /// IV + ciphertext + ICV. The same bytes go in UDP 4500 (RFC 3948 §2.1: a non-zero first
    /// word marks ESP) or raw as IP protocol 50.
    public static func esp(spi: UInt32, sequence: UInt32) -> [UInt8] {
        withUnsafeBytes(of: spi.bigEndian, Array.init) + withUnsafeBytes(of: sequence.bigEndian, Array.init)
            + [UInt8](repeating: 0xa5, count: 16)
    }

    /// Per-client SPIs: distinct, never in the reserved range 1–255 (RFC 4303 §2.1).
    public static func espSPI(client index: Int) -> UInt32 { 0x1000 &+ UInt32(truncatingIfNeeded: index) }
    public static func ikeSPI(client index: Int) -> UInt64 { 0x5653_4C42_0000_0000 | UInt64(index) }

    public static func payload(_ kind: PacketKind, client index: Int) -> [UInt8] {
        switch kind {
        case .isakmp: ikeHeader(spi: ikeSPI(client: index))
        case .nattIKE: nattIKE(spi: ikeSPI(client: index))
        case .nattESP, .esp: esp(spi: espSPI(client: index), sequence: 1)
        }
    }
}
