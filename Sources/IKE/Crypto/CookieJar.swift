import IPsecCrypto
import SLBWire

/// Stateless COOKIEs (RFC 7296 §2.6): Cookie = VersionIDofSecret ‖ HMAC-SHA256(secret,
/// Ni | IPi | SPIi). Every gateway of a farm configured with the same secrets accepts the
/// cookies of the others, so an SLB may send the retried IKE_SA_INIT anywhere. KE is not
/// covered (§2.6.1: the initiator may change KE after INVALID_KE_PAYLOAD and keep the cookie).
public struct CookieJar: Sendable {
    public struct Secret: Hashable, Sendable {
        public var version: UInt32
        public var key: [UInt8]
        public init(version: UInt32, key: [UInt8]) { self.version = version; self.key = key }
    }

    /// §2.6: cookie data is 1 to 64 octets.
    public static let maximumLength = 64
    static let versionLength = 4

    public private(set) var current: Secret
    public private(set) var previous: Secret?

    public init(secret: Secret) { current = secret }

    /// §2.6: rotate periodically; cookies made with the previous secret stay valid once more.
    public mutating func rotate(to secret: Secret) {
        previous = current
        current = secret
    }

    public func cookie(_ crypto: some CryptoProvider, ni: [UInt8], initiator: IPv4Address, spiI: UInt64) -> [UInt8] {
        make(crypto, current, ni: ni, initiator: initiator, spiI: spiI)
    }

    public func verify(_ cookie: [UInt8], _ crypto: some CryptoProvider, ni: [UInt8], initiator: IPv4Address, spiI: UInt64) -> Bool {
        guard cookie.count > Self.versionLength, let version = UInt32(bigEndianBytes: Array(cookie.prefix(Self.versionLength))) else { return false }
        for secret in [current, previous].compactMap({ $0 }) where secret.version == version {
            return constantTimeEqual(cookie, make(crypto, secret, ni: ni, initiator: initiator, spiI: spiI))
        }
        return false
    }

    private func make(_ crypto: some CryptoProvider, _ s: Secret, ni: [UInt8], initiator: IPv4Address, spiI: UInt64) -> [UInt8] {
        s.version.bigEndianBytes + crypto.hmac(.sha256, key: s.key, data: ni + initiator.value.bigEndianBytes + spiI.bigEndianBytes)
    }
}
