import GatewayShow
import IKE
import IPsecCrypto
import SLBWire

/// IOS spellings of algorithms, identities and selectors for the show tables.
enum ShowNames {
    static func ikeCipher(_ e: EncryptionAlgorithm) -> String {
        switch e {
        case .aesCBC: "AES-CBC"
        case .aesGCM16: "AES-GCM"
        case .tripleDESCBC: "3DES"
        }
    }

    static func hash(_ h: HashAlgorithm) -> String {
        switch h {
        case .md5: "MD5"
        case .sha1: "SHA1"
        case .sha256: "SHA256"
        case .sha384: "SHA384"
        case .sha512: "SHA512"
        }
    }

    /// IOS transform-set words: `esp-aes 128 esp-sha256-hmac`, `esp-gcm 256`, `esp-3des esp-sha-hmac`.
    static func transform(_ s: ESPSuite) -> String {
        let cipher: String = switch s.encryption {
        case .aesCBC: "esp-aes \(s.keyLength * 8)"
        case .aesGCM16: "esp-gcm \(s.keyLength * 8)"
        case .tripleDESCBC: "esp-3des"
        }
        guard let i = s.integrity else { return cipher }
        let mac: String = switch i {
        case .hmacMD5_96: "esp-md5-hmac"
        case .hmacSHA1_96: "esp-sha-hmac"
        case .hmacSHA256_128: "esp-sha256-hmac"
        case .hmacSHA384_192: "esp-sha384-hmac"
        case .hmacSHA512_256: "esp-sha512-hmac"
        }
        return "\(cipher) \(mac)"
    }

    static func hex64(_ v: UInt64) -> String {
        let s = String(v, radix: 16, uppercase: true)
        return String(repeating: "0", count: 16 - s.count) + s
    }

    static func identity(_ id: IdentificationPayload) -> String {
        if id.type == .ipv4Address, id.data.count == 4 {
            return "\(id.data[0]).\(id.data[1]).\(id.data[2]).\(id.data[3])"
        }
        if id.type == .fqdn || id.type == .rfc822Address, let s = String(validating: id.data, as: UTF8.self) {
            return s
        }
        return "type \(id.type.rawValue) " + id.data.map { String($0, radix: 16) }.joined()
    }

    /// IOS ident: address/mask/protocol/port; a range that is not a prefix prints its ends.
    static func selector(_ ts: TrafficSelector?) -> SelectorRow {
        guard let ts, let r = ts.ipv4Range else { return SelectorRow(address: "-", mask: "-", ipProtocol: 0, port: 0) }
        let port = ts.startPort == ts.endPort ? ts.startPort : 0
        let size = UInt64(r.upperBound) - UInt64(r.lowerBound) + 1
        if size & (size - 1) == 0, UInt64(r.lowerBound) % size == 0 {
            let prefix = 32 - (size.trailingZeroBitCount)
            let mask = IPv4Mask(prefixLength: prefix) ?? .host
            return SelectorRow(address: "\(IPv4Address(r.lowerBound))", mask: "\(mask)", ipProtocol: ts.ipProtocol, port: port)
        }
        return SelectorRow(address: "\(IPv4Address(r.lowerBound))-\(IPv4Address(r.upperBound))", mask: "-",
                           ipProtocol: ts.ipProtocol, port: port)
    }
}
