import IPsecCrypto
import SLBWire

/// Drops by reason, for `show` output and metrics.
public struct ESPDropCounters: Hashable, Sendable {
    public private(set) var byReason: [ESPError: UInt64] = [:]
    public init() {}
    public subscript(reason: ESPError) -> UInt64 { byReason[reason] ?? 0 }
    public var total: UInt64 { byReason.values.reduce(0, &+) }
    mutating func count(_ reason: ESPError) { byReason[reason, default: 0] &+= 1 }
}

/// Inbound SAs keyed by SPI (the receiver chose each SPI, RFC 4303 §2.1, so the SPI alone
/// identifies the SA for unicast). Bounded: a peer cannot make the gateway hold more than
/// `capacity` SAs.
public struct ESPSADatabase: Sendable {
    /// Default bound: several thousand tunnels per gateway, each a Child SA or two.
    public static let defaultCapacity = 8192

    public let capacity: Int
    private var inbound: [UInt32: InboundSA] = [:]
    public private(set) var drops = ESPDropCounters()

    public init(capacity: Int = ESPSADatabase.defaultCapacity) {
        self.capacity = max(capacity, 1)
    }

    public enum InsertError: Error, Hashable, Sendable {
        case full, duplicateSPI
    }

    public var count: Int { inbound.count }
    public var spis: [UInt32] { inbound.keys.sorted() }
    public subscript(spi: UInt32) -> InboundSA? { inbound[spi] }

    public mutating func insert(_ sa: InboundSA) throws(InsertError) {
        guard inbound[sa.spi] == nil else { throw .duplicateSPI }
        guard inbound.count < capacity else { throw .full }
        inbound[sa.spi] = sa
    }

    /// A random SPI for a new inbound SA that is neither reserved (< 256, RFC 4303 §2.1) nor
    /// in use; nil only if `maximumSPIAttempts` draws all collided (a nearly full space).
    /// Random rather than sequential so SPIs do not reveal how many SAs the gateway holds.
    public func freshSPI(crypto: some CryptoProvider) -> UInt32? {
        for _ in 0..<Self.maximumSPIAttempts {
            let bytes = crypto.randomBytes(count: 4)
            guard bytes.count == 4 else { return nil }
            let spi = UInt32(bytes[0]) << 24 | UInt32(bytes[1]) << 16 | UInt32(bytes[2]) << 8 | UInt32(bytes[3])
            if spi >= minimumSPI && inbound[spi] == nil { return spi }
        }
        return nil
    }

    /// Draws before `freshSPI` gives up; with at most `capacity` SPIs in use out of 2^32 a
    /// collision is rare, so 16 failures in a row mean a broken random source.
    static let maximumSPIAttempts = 16

    @discardableResult
    public mutating func remove(spi: UInt32) -> InboundSA? {
        inbound.removeValue(forKey: spi)
    }

    /// Looks the SPI up and decapsulates; every failure is counted in `drops` and rethrown.
    public mutating func open(_ packet: consuming [UInt8], now: MonotonicTime, crypto: some CryptoProvider) throws(ESPError) -> ESPDecapsulated {
        do throws(ESPError) {
            guard packet.count >= espHeaderLength else { throw ESPError.truncated }
            guard let index = inbound.index(forKey: readBigEndian32(packet, at: 0)) else { throw ESPError.badSPI }
            // Mutate in place through the index so the replay bitmap is not copied.
            return try inbound.values[index].open(packet, now: now, crypto: crypto)
        } catch {
            drops.count(error)
            throw error
        }
    }

    /// Removes SAs past their hard lifetime and returns their SPIs (the IKE side then sends
    /// or expects a Delete).
    public mutating func removeExpired(now: MonotonicTime) -> [UInt32] {
        let expired = inbound.values.filter { $0.lifetimeState(now: now) == .expired }.map(\.spi).sorted()
        for spi in expired { inbound.removeValue(forKey: spi) }
        return expired
    }
}
