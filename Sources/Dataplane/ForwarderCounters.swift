/// What the forwarder did with the frames it received (the engine counts per vserver/real).
public struct ForwarderCounters: Hashable, Sendable, CustomStringConvertible {
    public var received: UInt64 = 0
    public var forwarded: UInt64 = 0
    /// Not an IPv4 packet SLBWire could parse (reason counted by SLBWire's names).
    public var malformed: UInt64 = 0
    /// Sent to an Ethernet broadcast or multicast address: not forwarded.
    public var notUnicast: UInt64 = 0
    /// The engine said drop (no real, table full, client not allowed).
    public var engineDropped: UInt64 = 0
    /// The engine said pass (no in-service vserver): the kernel is told to drop VIP traffic,
    /// so nobody else would forward it; counted and dropped.
    public var passed: UInt64 = 0
    /// The chosen real's MAC is not resolved yet (the forwarder asked the kernel to resolve it).
    public var noNeighbour: UInt64 = 0
    /// RFC 1812 §5.3.1: TTL ≤ 1 on arrival.
    public var ttlExpired: UInt64 = 0
    /// Directed mode (`nat server`): frames whose destination was rewritten to the real.
    public var directed: UInt64 = 0
    /// Directed mode: a rewrite refused the frame (its parse no longer fitted; a bug if seen).
    public var directedUnsupported: UInt64 = 0
    /// Directed mode, real → client, received on the inside interface.
    public var repliesReceived: UInt64 = 0
    /// … translated back to the VIP and sent to the client.
    public var repliesForwarded: UInt64 = 0
    /// … from a real/port no directed vserver maps (the filter admitted it; dropped).
    public var repliesUnmatched: UInt64 = 0
    /// … for a client whose MAC is neither learned nor in the public neighbour table.
    public var repliesNoNeighbour: UInt64 = 0
    /// ICMP echo requests to a VIP answered (a vserver on it OPERATIONAL) / not answered.
    public var echoAnswered: UInt64 = 0
    public var echoIgnored: UInt64 = 0
    /// ICMP errors about a known connection sent to its real / about nothing known (dropped).
    public var icmpErrorsForwarded: UInt64 = 0
    public var icmpErrorsUnmatched: UInt64 = 0
    public var fragmentsHeld: UInt64 = 0
    public var fragmentsReleased: UInt64 = 0
    public var fragmentsDropped: UInt64 = 0
    public var checksumsCompleted: UInt64 = 0
    public var sendDropped: UInt64 = 0

    public init() {}

    public var description: String {
        "received \(received) forwarded \(forwarded) malformed \(malformed) not-unicast \(notUnicast) engine-dropped \(engineDropped) "
            + "passed \(passed) no-neighbour \(noNeighbour) ttl-expired \(ttlExpired) "
            + "directed \(directed) directed-unsupported \(directedUnsupported) replies-received \(repliesReceived) "
            + "replies-forwarded \(repliesForwarded) replies-unmatched \(repliesUnmatched) replies-no-neighbour \(repliesNoNeighbour) "
            + "echo-answered \(echoAnswered) echo-ignored \(echoIgnored) icmp-errors-forwarded \(icmpErrorsForwarded) "
            + "icmp-errors-unmatched \(icmpErrorsUnmatched) fragments-held \(fragmentsHeld) "
            + "fragments-released \(fragmentsReleased) fragments-dropped \(fragmentsDropped) "
            + "checksums-completed \(checksumsCompleted) send-dropped \(sendDropped)"
    }
}
