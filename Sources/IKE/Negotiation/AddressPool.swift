import SLBWire

/// Virtual addresses handed out with CP(REPLY) INTERNAL_IP4_ADDRESS (RFC 7296 §3.15.1).
/// Leases are keyed by the owning IKE SA's responder SPI, so an IKE SA rekey moves the lease.
public struct AddressPool: Hashable, Sendable {
    public let range: ClosedRange<UInt32>
    private var leases: [UInt64: UInt32] = [:]
    private var inUse: Set<UInt32> = []
    private var cursor: UInt32

    /// A pool of all host addresses of `network` (network and broadcast excluded for
    /// prefixes shorter than /31).
    public init(network: IPv4Network) {
        let first = network.address.value
        let last = first | ~network.mask.value
        if network.mask.prefixLength < 31 {
            range = (first + 1)...(last - 1)
        } else {
            range = first...last
        }
        cursor = range.lowerBound
    }

    public init(first: IPv4Address, last: IPv4Address) {
        range = min(first.value, last.value)...max(first.value, last.value)
        cursor = range.lowerBound
    }

    public var leasedCount: Int { leases.count }
    public func lease(of owner: UInt64) -> IPv4Address? { leases[owner].map(IPv4Address.init) }

    /// Allocates the next free address round-robin (so a just-released address is reused last).
    public mutating func allocate(owner: UInt64) -> IPv4Address? {
        if let a = leases[owner] { return IPv4Address(a) }
        let size = UInt64(range.upperBound - range.lowerBound) + 1
        var candidate = cursor
        for _ in 0..<min(size, UInt64(inUse.count) + 1) {
            if !inUse.contains(candidate) {
                inUse.insert(candidate)
                leases[owner] = candidate
                cursor = candidate == range.upperBound ? range.lowerBound : candidate + 1
                return IPv4Address(candidate)
            }
            candidate = candidate == range.upperBound ? range.lowerBound : candidate + 1
        }
        return nil
    }

    public mutating func release(owner: UInt64) {
        if let a = leases.removeValue(forKey: owner) { inUse.remove(a) }
    }

    public mutating func move(from old: UInt64, to new: UInt64) {
        if let a = leases.removeValue(forKey: old) { leases[new] = a }
    }
}
