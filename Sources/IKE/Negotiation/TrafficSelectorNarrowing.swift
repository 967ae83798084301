/// Traffic selector narrowing (RFC 7296 §2.9): the responder answers with the intersection
/// of what the initiator proposed and what its policy allows, never with more.
public enum TrafficSelectorNarrowing {
    /// The intersection of two IPv4 selectors, or nil when they share no packet.
    /// IPv6 and unknown types never intersect (this gateway is IPv4 only).
    public static func intersect(_ a: TrafficSelector, _ b: TrafficSelector) -> TrafficSelector? {
        guard let ra = a.ipv4Range, let rb = b.ipv4Range else { return nil }
        let proto: UInt8
        switch (a.ipProtocol, b.ipProtocol) {
        case (0, let p), (let p, 0): proto = p
        case (let p, let q): guard p == q else { return nil }; proto = p
        }
        let low = max(ra.lowerBound, rb.lowerBound), high = min(ra.upperBound, rb.upperBound)
        let portLow = max(a.startPort, b.startPort), portHigh = min(a.endPort, b.endPort)
        guard low <= high, portLow <= portHigh else { return nil }
        return TrafficSelector(type: TrafficSelector.ipv4Type, ipProtocol: proto, startPort: portLow, endPort: portHigh,
                               startAddress: low.bigEndianBytes, endAddress: high.bigEndianBytes)
    }

    /// Every non-empty intersection of an offered selector with an allowed one, in offer order,
    /// duplicates removed. Empty means TS_UNACCEPTABLE (§2.9).
    public static func narrow(offered: [TrafficSelector], allowed: [TrafficSelector]) -> [TrafficSelector] {
        var out: [TrafficSelector] = []
        for o in offered {
            for a in allowed {
                if let i = intersect(o, a), !out.contains(i) { out.append(i) }
            }
        }
        return out
    }
}
