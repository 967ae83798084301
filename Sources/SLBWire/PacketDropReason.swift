/// Why a frame was not accepted by `PacketView.parse` or a rewrite. The raw value is the
/// stable counter name the dataplane exports (`slb.wire.drop.<name>`); never rename one.
public enum PacketDropReason: String, Hashable, Sendable, CaseIterable, Error, CustomStringConvertible {
    /// Fewer than 14 bytes: no complete Ethernet II header.
    case truncatedEthernet = "truncated-ethernet"
    /// An 802.1Q/802.1ad TPID with fewer than 4 tag bytes after it.
    case truncatedVLANTag = "truncated-vlan-tag"
    /// More than `EthernetHeader.maximumVLANTags` stacked tags.
    case tooManyVLANTags = "too-many-vlan-tags"
    /// EtherType other than IPv4 or ARP (IPv6 included: the SLB is IPv4-only).
    case notIPv4 = "not-ipv4"
    /// ARP shorter than its 28-byte Ethernet/IPv4 body (RFC 826).
    case truncatedARP = "truncated-arp"
    /// ARP for another hardware or protocol type, or another operation than request/reply.
    case unsupportedARP = "unsupported-arp"
    /// Fewer than 20 bytes after the Ethernet header.
    case truncatedIPv4 = "truncated-ipv4"
    /// IP version field is not 4.
    case badIPVersion = "bad-ip-version"
    /// IHL < 5, or the header it announces does not fit the frame or the total length.
    case badIHL = "bad-ihl"
    /// Total length smaller than the header or larger than the bytes received.
    case badTotalLength = "bad-total-length"
    /// Header checksum wrong (only when verification is requested).
    case badIPChecksum = "bad-ip-checksum"
    /// Fragment that cannot be part of a valid datagram (RFC 791 §3.2: non-last fragments
    /// carry a multiple of 8 bytes; a datagram ends at or before byte 65535).
    case badFragment = "bad-fragment"
    /// UDP (first fragment or whole datagram) with fewer than 8 header bytes present.
    case truncatedUDP = "truncated-udp"
    /// UDP length field < 8 or larger than the IP payload (RFC 768).
    case badUDPLength = "bad-udp-length"
    /// TCP with fewer than 20 header bytes present (RFC 9293 §3.1).
    case truncatedTCP = "truncated-tcp"
    /// ICMP with fewer than 8 header bytes (RFC 792).
    case truncatedICMP = "truncated-icmp"
    /// ICMP error whose quoted datagram lacks a valid IPv4 header plus 8 bytes (RFC 792,
    /// RFC 1122 §3.2.2): the SLB could not map it to a connection.
    case truncatedICMPQuote = "truncated-icmp-quote"
    /// ESP with fewer than 8 bytes (SPI + sequence number, RFC 4303 §2).
    case truncatedESP = "truncated-esp"
    /// TTL would reach 0 when forwarded (RFC 1812 §5.3.1).
    case ttlExpired = "ttl-expired"
    /// The frame no longer matches the parse it is rewritten with (defensive; a bug if counted).
    case parseMismatch = "parse-mismatch"

    /// Stable counter name.
    public var name: String { rawValue }
    public var description: String { rawValue }
}
