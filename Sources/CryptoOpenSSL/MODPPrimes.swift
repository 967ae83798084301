import IPsecCrypto

/// The MODP primes IKE uses, all with generator 2, as big-endian hex.
///
/// Each equals 2^n − 2^(n−64) − 1 + 2^64·(⌊2^(n−130)·π⌋ + k) from its RFC (checked here
/// against an independent computation of π and against OpenSSL's built-in `modp_1536` /
/// `modp_2048`). OpenSSL 3 has no named group for RFC 2409's 1024-bit prime, so group 2 is
/// always built from p and g; the table also bounds-checks peer public values.
enum MODPPrime {
    /// RFC 2409 §6.2, "Second Oakley Group" (IKE group 2), k = 129093.
    static let group2Hex = [
        "FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74020BBEA63B139B22514A08798E3404DD",
        "EF9519B3CD3A431B302B0A6DF25F14374FE1356D6D51C245E485B576625E7EC6F44C42E9A637ED6B0BFF5CB6F406B7ED",
        "EE386BFB5A899FA5AE9F24117C4B1FE649286651ECE65381FFFFFFFFFFFFFFFF",
    ].joined()

    /// RFC 3526 §2, 1536-bit MODP group (IKE group 5), k = 741804.
    static let group5Hex = [
        "FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74020BBEA63B139B22514A08798E3404DD",
        "EF9519B3CD3A431B302B0A6DF25F14374FE1356D6D51C245E485B576625E7EC6F44C42E9A637ED6B0BFF5CB6F406B7ED",
        "EE386BFB5A899FA5AE9F24117C4B1FE649286651ECE45B3DC2007CB8A163BF0598DA48361C55D39A69163FA8FD24CF5F",
        "83655D23DCA3AD961C62F356208552BB9ED529077096966D670C354E4ABC9804F1746C08CA237327FFFFFFFFFFFFFFFF",
    ].joined()

    /// RFC 3526 §3, 2048-bit MODP group (IKE group 14), k = 124476.
    static let group14Hex = [
        "FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74020BBEA63B139B22514A08798E3404DD",
        "EF9519B3CD3A431B302B0A6DF25F14374FE1356D6D51C245E485B576625E7EC6F44C42E9A637ED6B0BFF5CB6F406B7ED",
        "EE386BFB5A899FA5AE9F24117C4B1FE649286651ECE45B3DC2007CB8A163BF0598DA48361C55D39A69163FA8FD24CF5F",
        "83655D23DCA3AD961C62F356208552BB9ED529077096966D670C354E4ABC9804F1746C08CA18217C32905E462E36CE3B",
        "E39E772C180E86039B2783A2EC07A28FB5C55DF06F4C52C9DE2BCBF6955817183995497CEA956AE515D2261898FA0510",
        "15728E5A8AACAA68FFFFFFFFFFFFFFFF",
    ].joined()

    static let generator: UInt8 = 2

    /// The prime for a MODP group as big-endian bytes, nil for non-MODP groups.
    static func bytes(for group: DHGroup) -> [UInt8]? {
        switch group {
        case .modp1024: group2
        case .modp1536: group5
        case .modp2048: group14
        case .ecp256, .ecp384, .curve25519: nil
        }
    }

    static let group2 = decodeHex(group2Hex)
    static let group5 = decodeHex(group5Hex)
    static let group14 = decodeHex(group14Hex)

    private static func decodeHex(_ hex: String) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(hex.utf8.count / 2)
        var high: UInt8?
        for character in hex.utf8 {
            let nibble: UInt8 = switch character {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): character - UInt8(ascii: "0")
            case UInt8(ascii: "A")...UInt8(ascii: "F"): character - UInt8(ascii: "A") + 10
            default: 0
            }
            if let h = high { bytes.append(h << 4 | nibble); high = nil } else { high = nibble }
        }
        return bytes
    }
}
