// Wire constants of an ESP packet (RFC 4303 §2):
//   SPI(4) | Sequence Number(4) | IV | E(payload | Padding | Pad Length(1) | Next Header(1)) | ICV

/// SPI + Sequence Number.
let espHeaderLength = 8
/// Pad Length + Next Header.
let espTrailerLength = 2
/// §2.4: the Pad Length field is one octet.
let maximumPadLength = 255
/// SPIs 1–255 are reserved by IANA and 0 means "no SA" (§2.1).
let minimumSPI: UInt32 = 256

/// Values of the Next Header field this gateway cares about (IANA protocol numbers).
public enum ESPNextHeader {
    /// Tunnel mode carrying IPv4 (RFC 4303 §2.6, IP-in-IP protocol number 4).
    public static let ipv4: UInt8 = 4
    public static let ipv6: UInt8 = 41
    /// A traffic-flow-confidentiality dummy packet: authenticate, then drop (§2.6).
    public static let dummy: UInt8 = 59
}

/// Reads a big-endian 32-bit value; the caller has checked that 4 bytes exist.
@inline(__always)
func readBigEndian32(_ bytes: [UInt8], at offset: Int) -> UInt32 {
    UInt32(bytes[offset]) << 24 | UInt32(bytes[offset + 1]) << 16 | UInt32(bytes[offset + 2]) << 8 | UInt32(bytes[offset + 3])
}
