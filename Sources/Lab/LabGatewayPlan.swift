import SLBWire

/// The embedded gateways of a lab as data: one `slb gateway` per gateway namespace, what each
/// is started with, and where its files live. Pure (no processes, no files), so it is
/// unit-tested without root; `LabGateways` performs it.
///
/// Every gateway serves the VIP (dispatched farms) and its own address (`--listen`, directed
/// `nat server` farms: it still computes NAT-D and IDr over the VIP), shares the lab's PSK
/// and COOKIE secret (RFC 7296 §2.6: a cookie made by one real is accepted by any), answers
/// pings to the service address inside the tunnel, and hands out inner addresses from its own
/// pool, disjoint from every other gateway's (a client that moves to another real must not get
/// an address some other real has leased).
public struct LabGatewayPlan: Hashable, Sendable {
    /// The inside/service address every gateway answers through the tunnel (`--inside`).
    public static let serviceAddress = IPv4Address(203, 0, 113, 1)
    /// Inner address pools are carved out of this RFC 5737 block (198.51.100.0/24 is the
    /// lab's wire, 192.0.2.0/24 its clients).
    public static let poolSpace = IPv4Network(address: IPv4Address(203, 0, 113, 0), mask: IPv4Mask(prefixLength: 24)!)
    /// Pool sizes tried, largest first: /28 (14 leases) for up to 14 gateways, then smaller.
    public static let poolPrefixLengths = 28...30
    /// nftables table with the `ip protocol esp` counters in each gateway namespace.
    public static let counterTable = "vslbgw"

    public let lab: LabPlan
    /// Root-only directory for the PSK, the COOKIE secret, the control sockets and the logs.
    public let directory: String
    /// The `slb` executable the gateways run.
    public let executable: String

    public init(lab: LabPlan, directory: String, executable: String) {
        self.lab = lab
        self.directory = directory
        self.executable = executable
    }

    public var pskPath: String { directory + "/psk" }
    public var cookieSecretPath: String { directory + "/cookie-secret" }
    public var counterRulesPath: String { directory + "/esp-counters.nft" }
    public func controlPath(_ n: Int) -> String { directory + "/gw\(n).sock" }
    public func logPath(_ n: Int) -> String { directory + "/gw\(n).log" }

    /// Gateway n's pool (1-based), or nil when the lab has more gateways than disjoint pools fit.
    public func pool(_ n: Int) -> IPv4Network? {
        let pools = LabGatewayPlan.pools(count: lab.gatewayCount)
        return pools.indices.contains(n - 1) ? pools[n - 1] : nil
    }

    /// `count` disjoint pools inside `poolSpace`, none holding the service address or the VIP,
    /// of the largest size that fits; empty if not even /30 pools fit (more than 62 gateways).
    public static func pools(count: Int) -> [IPv4Network] {
        guard count > 0 else { return [] }
        for prefixLength in poolPrefixLengths {
            guard let mask = IPv4Mask(prefixLength: prefixLength) else { continue }
            let size = UInt32(1) << UInt32(32 - prefixLength)
            var blocks: [IPv4Network] = []
            var start = poolSpace.address.value
            while poolSpace.contains(IPv4Address(start)) && blocks.count < count {
                let block = IPv4Network(address: IPv4Address(start), mask: mask)
                if !block.contains(serviceAddress) && !block.contains(LabAddressPlan.vip) { blocks.append(block) }
                start += size
            }
            if blocks.count == count { return blocks }
        }
        return []
    }

    /// Gateway n's command line, run in its namespace (`ip netns exec` keeps the PID: it execs).
    public func arguments(_ n: Int) -> [String] {
        var argv = ["ip", "netns", "exec", lab.gatewayNamespace(n), executable, "gateway", "run",
                    "--vip", LabAddressPlan.vip.description,
                    "--psk-file", pskPath,
                    "--cookie-secret-file", cookieSecretPath,
                    "--inside", LabGatewayPlan.serviceAddress.description,
                    "--control", controlPath(n)]
        if let address = lab.gatewayAddress(n) { argv += ["--listen", address.description] }
        if let pool = pool(n) { argv += ["--pool", pool.description] }
        return argv
    }

    /// Counts ESP the gateway's host delivers (input) and sends (output); the raw ESP socket
    /// gets its packets after the input hook, so `esp_in` is what reached the gateway.
    public static let counterRules = """
        table ip \(counterTable) {
          counter esp_in {
          }
          counter esp_out {
          }
          chain input {
            type filter hook input priority 0; policy accept;
            ip protocol esp counter name "esp_in"
          }
          chain output {
            type filter hook output priority 0; policy accept;
            ip protocol esp counter name "esp_out"
          }
        }

        """

    public func counterArguments(_ n: Int) -> [String] {
        ["ip", "netns", "exec", lab.gatewayNamespace(n), "nft", "-f", counterRulesPath]
    }
}

extension LabStateStore {
    /// Lab `id`'s gateway files, next to its record (removed by `LabController.down`).
    public func gatewayDirectory(for id: LabID) -> String { directory + "/" + id.rawValue + ".gateways" }
}
