import SLBWire

/// The kernel's IPv4 neighbour (ARP) table as the forwarder needs it: the MAC of each real.
///
/// Dispatched mode sends a client's packet, unchanged but for the MACs, to the real; the real's
/// MAC comes from the kernel, which resolves it when the prober pings the real (or when the
/// forwarder asks for it after a miss). Read from `/proc/thread-self/net/arp`, i.e. the
/// namespace of the reading thread (the forwarding thread).
public enum NeighbourTable {
    public static let procPath = "/proc/thread-self/net/arp"
    /// ATF_COM (include/uapi/linux/if_arp.h): the entry is resolved.
    static let completeFlag: UInt32 = 0x2

    /// Parses /proc/net/arp:
    /// `IP address       HW type     Flags       HW address            Mask     Device`
    /// Keeps complete entries on `device` (any device when nil); malformed lines are skipped.
    public static func parse(_ text: String, device: String?) -> [IPv4Address: MACAddress] {
        var table: [IPv4Address: MACAddress] = [:]
        for line in text.split(separator: "\n").dropFirst() {
            let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard fields.count >= 6, let address = IPv4Address(fields[0]),
                  fields[2].hasPrefix("0x"), let flags = UInt32(fields[2].dropFirst(2), radix: 16),
                  flags & completeFlag != 0, let mac = MACAddress(fields[3]), mac != .zero else { continue }
            if let device, fields[5] != device { continue }
            table[address] = mac
        }
        return table
    }
}
