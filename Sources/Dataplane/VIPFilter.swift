import SLBConfig
import SLBWire

/// The capture filter for a configuration's virtual servers, as a libpcap filter expression:
/// only IPv4 packets to a VIP, for a protocol/port some vserver balances, plus non-first
/// fragments to a VIP (they carry no UDP header, RFC 791 §3.2, so a port test would miss them;
/// the fragment table maps them to the first fragment's real).
///
/// `ip and dst host 203.0.113.100 and (udp dst port 500 or udp dst port 4500 or ip proto 50 or icmp or ip[6:2] & 0x1fff != 0)`
public enum VIPFilter {
    /// The expression for `vservers` (all of them, in service or not: the engine answers
    /// `.pass` for those out of service, which the loop counts). nil when there are none, so
    /// the caller installs a filter that admits nothing.
    public static func expression(for vservers: [VirtualServer]) -> String? {
        // One clause per VIP (address and mask), services merged, in a stable order.
        var services: [IPv4Network: Set<VirtualService>] = [:]
        for vserver in vservers {
            services[IPv4Network(address: vserver.address, mask: vserver.mask), default: []].insert(vserver.service)
        }
        guard !services.isEmpty else { return nil }
        let clauses = services.keys.sorted { ($0.address, $0.mask.prefixLength) < ($1.address, $1.mask.prefixLength) }
            .map { vip in clause(vip: vip, services: services[vip] ?? []) }
        return clauses.count == 1 ? clauses[0] : clauses.map { "(\($0))" }.joined(separator: " or ")
    }

    static func clause(vip: IPv4Network, services: Set<VirtualService>) -> String {
        let destination = vip.mask == .host ? "dst host \(vip.address)" : "dst net \(vip)"
        var tests: [String] = []
        if services.contains(.udp(port: nil)) {
            tests.append("udp")
        } else {
            let ports = services.compactMap { service -> UInt16? in
                if case .udp(let port?) = service { port } else { nil }
            }.sorted()
            tests += ports.map { "udp dst port \($0)" }
        }
        if services.contains(.esp) { tests.append("ip proto 50") }
        // Echo to the VIP is answered, errors about a connection go to its real (Forwarder+ICMP).
        tests.append("icmp")
        tests.append("ip[6:2] & 0x1fff != 0")
        return "ip and \(destination) and (\(tests.joined(separator: " or ")))"
    }
}
