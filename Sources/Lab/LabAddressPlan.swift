import SLBWire

/// The lab's address plan: RFC 5737 documentation ranges only, so nothing the lab builds can
/// collide with, or leak to, a real network (RFC 5737 §3: "not to be used on the Internet").
///
/// ```
///  client host ── 192.0.2.0/24 ── SLB ── 198.51.100.0/25 ── gateways 1...N
///  192.0.2.10–.254                .1 | .1                  198.51.100.11 ... .(10+N)
///  198.51.100.128/25 (routed                               VIP 203.0.113.100 on loopback
///  by the SLB to the client host)
/// ```
public enum LabAddressPlan {
    /// The SLB's public side, where clients reach the VIP.
    public static let slbPublic = IPv4Address(192, 0, 2, 1)
    public static let publicPrefixLength = 24
    /// The SLB's inside side: the gateways' segment (the lower half of 198.51.100.0/24).
    public static let slbInside = IPv4Address(198, 51, 100, 1)
    public static let insidePrefixLength = 25
    /// The virtual server address every gateway carries on its loopback (dispatched mode).
    public static let vip = IPv4Address(203, 0, 113, 100)

    /// The client host's interface address: the first client.
    public static let clientHost = IPv4Address(192, 0, 2, 10)
    /// Client sources on the public segment: 192.0.2.10–.254 (.1 is the SLB, .2–.9 are spare).
    public static let firstPublicClient = IPv4Address(192, 0, 2, 10)
    public static let lastPublicClient = IPv4Address(192, 0, 2, 254)
    /// Past the public segment's clients: the upper half of 198.51.100.0/24, routed by the SLB
    /// to the client host, which owns it with a local route (≤ 350 clients in all).
    public static let routedClients = IPv4Network(address: IPv4Address(198, 51, 100, 128),
                                                  mask: IPv4Mask(prefixLength: 25)!)

    /// Gateway n (1-based) is 198.51.100.(10+n).
    public static let firstGatewayHostOctet: UInt8 = 11
    /// The last usable host of 198.51.100.0/25 is .126, so at most 116 gateways fit.
    public static let maximumGateways = 126 - Int(firstGatewayHostOctet) + 1

    public static func gateway(_ number: Int) -> IPv4Address? {
        guard (1...maximumGateways).contains(number) else { return nil }
        return IPv4Address(198, 51, 100, firstGatewayHostOctet + UInt8(number - 1))
    }

    /// Every client source address the client host owns, as CIDR blocks: the public clients
    /// after the interface address, then the routed half. These become `local` routes on the
    /// client host's loopback, so it answers ARP and accepts traffic for all of them.
    public static var clientLocalRoutes: [IPv4Network] {
        cidrCover(from: IPv4Address(clientHost.value + 1), through: lastPublicClient) + [routedClients]
    }

    /// The smallest list of aligned CIDR blocks that covers exactly `first...last`.
    public static func cidrCover(from first: IPv4Address, through last: IPv4Address) -> [IPv4Network] {
        guard first <= last else { return [] }
        var blocks: [IPv4Network] = []
        var start = UInt64(first.value)
        let end = UInt64(last.value)
        while start <= end {
            // The largest block aligned at `start` that does not run past `end`.
            var size: UInt64 = start == 0 ? 1 << 32 : UInt64(1) << UInt64(start.trailingZeroBitCount)
            while start + size - 1 > end { size >>= 1 }
            let prefix = 32 - (size.trailingZeroBitCount)
            blocks.append(IPv4Network(address: IPv4Address(UInt32(truncatingIfNeeded: start)),
                                      mask: IPv4Mask(prefixLength: prefix) ?? .host))
            start += size
        }
        return blocks
    }
}
