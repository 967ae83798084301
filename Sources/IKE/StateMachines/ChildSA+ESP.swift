import ESP
import SLBWire

extension ChildSA {
    /// The ESP transform of this Child SA, as the ESP target names it.
    public func espTransform() throws(ESPError) -> ESPTransform {
        try ESPTransform(encryption: suite.encryption, keyLength: suite.keyLength, integrity: suite.integrity)
    }

    /// The SA that decrypts what the peer sends to `inboundSPI`.
    public func inboundSA(now: MonotonicTime, lifetime: ESPLifetime = .unlimited) throws(ESPError) -> InboundSA {
        try InboundSA(spi: inboundSPI, transform: espTransform(), keyMaterial: inboundKeys.keyMaterial, lifetime: lifetime, now: now)
    }

    /// The SA that encrypts what we send to the peer's `outboundSPI`.
    public func outboundSA(now: MonotonicTime, lifetime: ESPLifetime = .unlimited) throws(ESPError) -> OutboundSA {
        try OutboundSA(spi: outboundSPI, transform: espTransform(), keyMaterial: outboundKeys.keyMaterial, lifetime: lifetime, now: now)
    }
}
