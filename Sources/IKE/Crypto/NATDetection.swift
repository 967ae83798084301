import IPsecCrypto
import SLBWire

/// An IPv4 address and UDP port.
public struct IKEEndpoint: Hashable, Sendable, CustomStringConvertible {
    public var address: IPv4Address
    public var port: UInt16
    public init(_ address: IPv4Address, _ port: UInt16) { self.address = address; self.port = port }
    public var description: String { "\(address):\(port)" }
}

/// NAT_DETECTION_*_IP data (RFC 7296 §2.23): SHA-1(SPIi | SPIr | IP | Port), with the SPIs
/// as they appear in the header of the message that carries the notify.
public enum NATDetection {
    public static func hash(_ crypto: some CryptoProvider, spiI: UInt64, spiR: UInt64, endpoint: IKEEndpoint) -> [UInt8] {
        var data = spiI.bigEndianBytes + spiR.bigEndianBytes + endpoint.address.value.bigEndianBytes
        data.appendU16(endpoint.port)
        return crypto.hash(.sha1, data)
    }

    /// NAT_DETECTION_SOURCE_IP data of an IKE_SA_INIT request (SPIr = 0). `faked`: a random
    /// value in place of the hash (strongSwan's `encap = yes`), which matches no endpoint, so
    /// the responder sees this end as translated and both ends use UDP 4500 (§2.23).
    public static func sourceData(_ crypto: some CryptoProvider, spiI: UInt64, endpoint: IKEEndpoint, faked: Bool) -> [UInt8] {
        faked ? crypto.randomBytes(count: HashAlgorithm.sha1.digestLength) : hash(crypto, spiI: spiI, spiR: 0, endpoint: endpoint)
    }

    /// True when no NAT_DETECTION notify of `type` in `payloads` matches `endpoint`
    /// (§2.23: any match means that side is not translated). Absent notifies mean "no NAT".
    public static func translated(_ payloads: [Payload], _ type: NotifyType, crypto: some CryptoProvider,
                                  spiI: UInt64, spiR: UInt64, endpoint: IKEEndpoint) -> Bool {
        let values = payloads.notifies.filter { $0.type == type }.map(\.data)
        guard !values.isEmpty else { return false }
        let expected = hash(crypto, spiI: spiI, spiR: spiR, endpoint: endpoint)
        return !values.contains { constantTimeEqual($0, expected) }
    }
}
