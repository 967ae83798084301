import SLBWire

/// Client addresses from the lab plan (DESIGN.md): 192.0.2.10–.254, then the hosts of
/// 198.51.100.128/25 (.129–.254). RFC 5737 documentation space only; the simulation never
/// sends anything, the addresses are only table keys.
public enum ClientAddressPlan {
    static let first = (start: IPv4Address(192, 0, 2, 10), count: 245)      // .10 ... .254
    static let second = (start: IPv4Address(198, 51, 100, 129), count: 126) // .129 ... .254

    /// How many clients the plan has addresses for.
    public static let capacity = first.count + second.count

    /// The `index`-th client address (0-based), or nil past `capacity`.
    public static func address(_ index: Int) -> IPv4Address? {
        guard index >= 0 else { return nil }
        if index < first.count { return IPv4Address(first.start.value + UInt32(index)) }
        let rest = index - first.count
        guard rest < second.count else { return nil }
        return IPv4Address(second.start.value + UInt32(rest))
    }
}
