import SLBWire

/// What `clear ip slb sticky [client IP] [group N]` removed (a VPNSLB extension, spec §4:
/// IOS has no generic client-IP sticky clear).
public struct StickyClearResult: Hashable, Sendable {
    /// Objects removed: they were waiting on their sticky timer (no live connection).
    public var removed = 0
    /// Matching objects kept because connections still use them (see `clearSticky`).
    public var inUse = 0

    public init(removed: Int = 0, inUse: Int = 0) {
        self.removed = removed
        self.inUse = inUse
    }
}

extension Engine {
    /// `clear ip slb sticky [client IP] [group N]`: removes the matching sticky objects that
    /// no connection uses, so those clients are balanced afresh on their next flow instead
    /// of waiting out the sticky timer. `client` matches an object whose client AND its
    /// netmask equals `client` AND that netmask (as `show ip slb sticky client`); `group` is
    /// the group `show ip slb sticky` prints (1–255, or 4097 + vserver index for a private
    /// group 0). Returns nil when no sticky domain shows `group`.
    ///
    /// An object with live connections is kept and counted in `inUse`: removing it would
    /// let the client's next buddied flow (its ESP after IKE, or NAT-T) be balanced on its
    /// own and land on another gateway than its IKE SA. `clear ip slb connections` first
    /// (which keeps the objects and starts their timers, as IOS does), then this, resets a
    /// client completely. One pass over the sticky slots: an operator command, not a
    /// per-packet path.
    public func clearSticky(client: IPv4Address?, group: Int?) -> StickyClearResult? {
        if let group, !stickyDomains.contains(where: { $0.displayGroup == group }) { return nil }
        var result = StickyClearResult()
        var s = 0
        while s < sticky.slots.count {
            defer { s += 1 }
            let slot = sticky.slots[s]
            guard slot.isInUse, stickyDomains.indices.contains(slot.domain) else { continue }
            if let group, stickyDomains[slot.domain].displayGroup != group { continue }
            if let client, client.value & slot.mask != slot.client { continue }
            if slot.references > 0 {
                result.inUse += 1
            } else {
                sticky.remove(Int32(truncatingIfNeeded: s))
                result.removed += 1
            }
        }
        counters.stickyDestroyed &+= UInt64(result.removed)
        return result
    }
}
