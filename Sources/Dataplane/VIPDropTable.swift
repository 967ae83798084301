import Foundation
import SLBConfig

/// The nftables table `slb run` installs so the SLB host's own kernel leaves VIP traffic alone:
/// without it the host would answer the clients' packets with ICMP "net unreachable" (it has no
/// route to the VIP) or route them itself. Drop rules only, at prerouting priority raw (before
/// conntrack, so no state is created); no dnat/snat/fwd/redirect: forwarding is ours.
///
/// Packet sockets see a frame before prerouting (shared notes, testbed.md: verified), so the
/// forwarder still receives what the kernel drops.
///
/// With `ingress` devices (what `slb run` passes: the interfaces it captures on) the same rules
/// are also loaded into `table netdev vpnslb`, at the ingress hook of those interfaces: the
/// kernel delivers a frame to the packet sockets on a device before its ingress hook
/// (`__netif_receive_skb_core`: taps, then tc/nft ingress), so capture is unchanged, but the
/// frame is freed before `ip_rcv` and the prerouting hook. slb-bench forwarding, perf on the
/// sender's CPU: `ip_rcv` with the raw drop took 12 % of the sender's time in the slb rounds
/// (Bench/README.md). The prerouting table stays as the catch-all for VIP traffic arriving on
/// any other interface, so what the kernel never answers or routes is exactly what it was.
public enum VIPDropTable {
    public static let family = "ip"
    public static let name = "vpnslb"
    public static let ingressFamily = "netdev"

    /// The interfaces `slb run` captures on: VIP traffic is dropped at the public one's ingress,
    /// directed-mode replies at the inside one's.
    public struct IngressDevices: Equatable, Hashable, Sendable {
        public var publicInterface: String
        public var insideInterface: String
        public init(publicInterface: String, insideInterface: String) {
            self.publicInterface = publicInterface
            self.insideInterface = insideInterface
        }

        /// Linux interface names are at most 15 bytes (IFNAMSIZ − 1); only names made of
        /// letters, digits and `. _ - @` are written into the script (no quoting games).
        static func usable(_ name: String) -> Bool {
            !name.isEmpty && name.utf8.count <= 15
                && name.unicodeScalars.allSatisfy { $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || ".-_@".unicodeScalars.contains($0)) }
        }
    }

    /// The ruleset text for `nft -f -`. Declaring then deleting the table first makes the load
    /// one atomic replace, so a table left by a crashed run never doubles the rules.
    public static func script(for vservers: [VirtualServer], replies: DirectedReplyMap? = nil,
                              ingress: IngressDevices? = nil) -> String {
        var rules: [String] = []
        var seen: Set<String> = []
        for vserver in vservers {
            let destination = vserver.mask == .host ? "\(vserver.address)"
                : "\(vserver.address.masked(by: vserver.mask))/\(vserver.mask.prefixLength)"
            let match: String
            switch vserver.service {
            case .udp(let port?): match = "udp dport \(port)"
            case .udp(nil): match = "ip protocol udp"
            case .esp: match = "ip protocol esp"
            }
            for rule in ["ip daddr \(destination) \(match) drop",
                         // ICMP to the VIP is answered/forwarded by the forwarder (Forwarder+ICMP).
                         "ip daddr \(destination) ip protocol icmp drop",
                         // Later fragments carry no UDP header (RFC 791 §3.2): the VIPFilter admits them.
                         "ip daddr \(destination) ip frag-off & 0x1fff != 0 drop"] where seen.insert(rule).inserted {
                rules.append(rule)
            }
        }
        // Directed mode: the reals' replies are translated by the forwarder; the kernel must not
        // also route them to the client with the real's address.
        var replyRules: [String] = []
        for real in replies?.reals ?? [] {
            for match in ReplyFilter.nftMatches(replies?.services[real] ?? []) {
                replyRules.append("ip saddr \(real) \(match) drop")
            }
        }
        let devices = ingress.flatMap { IngressDevices.usable($0.publicInterface) && IngressDevices.usable($0.insideInterface) ? $0 : nil }
        var lines = ["table \(family) \(name)", "delete table \(family) \(name)"]
        if devices != nil { lines += ["table \(ingressFamily) \(name)", "delete table \(ingressFamily) \(name)"] }
        lines += ["table \(family) \(name) {", "  chain prerouting {", "    type filter hook prerouting priority raw; policy accept;"]
        lines += (rules + replyRules).map { "    " + $0 }
        lines += ["  }", "}"]
        if let devices {
            lines += ["table \(ingressFamily) \(name) {"]
            lines += chain("public", device: devices.publicInterface, rules: rules)
            if !replyRules.isEmpty { lines += chain("inside", device: devices.insideInterface, rules: replyRules) }
            lines += ["}"]
        }
        return lines.joined(separator: "\n") + "\n"
    }

    private static func chain(_ chainName: String, device: String, rules: [String]) -> [String] {
        ["  chain \(chainName) {", "    type filter hook ingress device \"\(device)\" priority filter; policy accept;"]
            + rules.map { "    " + $0 } + ["  }"]
    }

    public struct NFTError: Error, CustomStringConvertible {
        public var message: String
        public var description: String { "nft: \(message)" }
    }

    public static func install(_ vservers: [VirtualServer], replies: DirectedReplyMap? = nil) throws {
        try load(script: script(for: vservers, replies: replies))
    }

    /// One `nft -f` transaction: at start and on every reload that changes the rules, the old
    /// rules are replaced by the new ones atomically (no moment with neither set).
    public static func load(script: String) throws {
        try nft(["-f", "-"], input: script)
    }

    /// Removes both tables in one transaction; a missing table is fine (idempotent).
    public static func remove() {
        _ = try? nft(["-f", "-"], input: ["table \(family) \(name)", "delete table \(family) \(name)",
                                          "table \(ingressFamily) \(name)", "delete table \(ingressFamily) \(name)"]
                                            .joined(separator: "\n") + "\n")
    }

    public static func isInstalled() -> Bool {
        (try? nft(["list", "table", family, name], input: nil)) != nil
    }

    @discardableResult
    static func nft(_ arguments: [String], input: String?) throws -> String {
        guard let path = ["/usr/sbin/nft", "/sbin/nft", "/usr/bin/nft"].first(where: FileManager.default.isExecutableFile)
        else { throw NFTError(message: "nft not found (install nftables)") }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        let stdin = Pipe(), stdout = Pipe(), stderr = Pipe()
        process.standardInput = input == nil ? FileHandle.nullDevice : stdin
        process.standardOutput = stdout
        process.standardError = stderr
        try process.run()
        if let input {
            stdin.fileHandleForWriting.write(Data(input.utf8))
            try stdin.fileHandleForWriting.close()
        }
        let out = stdout.fileHandleForReading.readDataToEndOfFile()
        let err = stderr.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw NFTError(message: String(decoding: err, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))
        }
        return String(decoding: out, as: UTF8.self)
    }
}
