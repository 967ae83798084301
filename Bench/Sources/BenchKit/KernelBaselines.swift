import Lab
import SLBWire

/// The kernel doing the SLB's job in the same lab, as nftables rulesets (testbed.md, "Kernel
/// baselines"). Every jhash carries the same explicit seed, or ISAKMP and ESP of one client
/// split across gateways. Each is loaded into the slb namespace, measured and deleted.
public enum KernelBaseline: String, CaseIterable, Codable, Sendable {
    /// Stateful: conntrack + DNAT to a gateway chosen by source hash (prerouting, dstnat).
    case nftDNAT = "nft-dnat"
    /// Stateless direct server return at netdev ingress: rewrite the destination MAC by
    /// source hash and forward the frame to the gateway bridge.
    case nftDSR = "nft-dsr"

    public static let table = "vslbbench"
    public static let seed = "0x5eed"

    public func ruleset(plan: LabPlan, vip: IPv4Address) -> String {
        let n = plan.gatewayCount
        switch self {
        case .nftDNAT:
            let map = plan.gatewayNumbers.map { "\($0 - 1) : \(plan.gatewayAddress($0)?.description ?? "")" }.joined(separator: ", ")
            let pick = "dnat to jhash ip saddr mod \(n) seed \(KernelBaseline.seed) map { \(map) }"
            return """
                table ip \(KernelBaseline.table) {
                  chain prerouting {
                    type nat hook prerouting priority dstnat; policy accept;
                    ip daddr \(vip) udp dport { 500, 4500 } \(pick)
                    ip daddr \(vip) ip protocol esp \(pick)
                  }
                }

                """
        case .nftDSR:
            let map = plan.gatewayNumbers.map { "\($0 - 1) : \(plan.gatewayMAC($0))" }.joined(separator: ", ")
            let pick = "ether daddr set jhash ip saddr mod \(n) seed \(KernelBaseline.seed) map { \(map) } fwd to \"\(LabPlan.gatewayBridge)\""
            return """
                table netdev \(KernelBaseline.table) {
                  chain ingress {
                    type filter hook ingress device "\(LabPlan.clientPort)" priority 0; policy accept;
                    ip daddr \(vip) udp dport { 500, 4500 } \(pick)
                    ip daddr \(vip) ip protocol esp \(pick)
                  }
                }

                """
        }
    }

    public var family: String { self == .nftDNAT ? "ip" : "netdev" }
}

/// Delivery counters on each gateway: an nft `netdev ingress` chain on eth0 that counts the
/// benchmark's UDP 500/4500 and ESP frames (by protocol, so DNAT'd and DSR'd frames count alike)
/// and drops them there. The bench's gateways run no IKE, so delivered frames would otherwise
/// go up the gateway's stack to "port/protocol unreachable": a UDP socket lookup and an ICMP
/// route lookup per frame before the rate limiter (about half of CPU 0 in slb rounds by perf),
/// done in the softirq of whoever sent into the gateway's veth: `slb run`'s CPU in its rounds,
/// the sender's CPU in the kernel baselines' rounds. Dropping at ingress keeps that out of every
/// variant, so the benchmark measures the forwarder.
public enum GatewayCounters {
    public static func ruleset(client networks: [IPv4Network]) -> String {
        let sources = networks.map(\.description).joined(separator: ", ")
        return """
            table netdev \(KernelBaseline.table)
            delete table netdev \(KernelBaseline.table)
            table netdev \(KernelBaseline.table) {
              chain ingress {
                type filter hook ingress device "\(LabPlan.hostInterface)" priority 0; policy accept;
                ip saddr { \(sources) } udp dport { 500, 4500 } counter drop
                ip saddr { \(sources) } ip protocol esp counter drop
              }
            }

            """
    }

    /// Sum of the `counter packets N` of `nft list table netdev vslbbench`.
    public static func packets(inListing text: String) -> Int {
        var total = 0
        var rest = Substring(text)
        while let range = rest.range(of: "counter packets ") {
            rest = rest[range.upperBound...]
            total += Int(rest.prefix(while: \.isNumber)) ?? 0
        }
        return total
    }
}
