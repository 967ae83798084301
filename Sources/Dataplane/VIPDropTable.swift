import Foundation
import SLBConfig

/// The nftables table `slb run` installs so the SLB host's own kernel leaves VIP traffic alone:
/// without it the host would answer the clients' packets with ICMP "net unreachable" (it has no
/// route to the VIP) or route them itself. Drop rules only, at prerouting priority raw (before
/// conntrack, so no state is created); no dnat/snat/fwd/redirect: forwarding is ours.
///
/// Packet sockets see a frame before prerouting (shared notes, testbed.md: verified), so the
/// forwarder still receives what the kernel drops.
public enum VIPDropTable {
    public static let family = "ip"
    public static let name = "vpnslb"

    /// The ruleset text for `nft -f -`. Declaring then deleting the table first makes the load
    /// one atomic replace, so a table left by a crashed run never doubles the rules.
    public static func script(for vservers: [VirtualServer], replies: DirectedReplyMap? = nil) -> String {
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
        for real in replies?.reals ?? [] {
            for match in ReplyFilter.nftMatches(replies?.services[real] ?? []) {
                rules.append("ip saddr \(real) \(match) drop")
            }
        }
        var lines = ["table \(family) \(name)", "delete table \(family) \(name)", "table \(family) \(name) {",
                     "  chain prerouting {", "    type filter hook prerouting priority raw; policy accept;"]
        lines += rules.map { "    " + $0 }
        lines += ["  }", "}"]
        return lines.joined(separator: "\n") + "\n"
    }

    public struct NFTError: Error, CustomStringConvertible {
        public var message: String
        public var description: String { "nft: \(message)" }
    }

    public static func install(_ vservers: [VirtualServer], replies: DirectedReplyMap? = nil) throws {
        try nft(["-f", "-"], input: script(for: vservers, replies: replies))
    }

    /// Removes the table; a missing table is fine (idempotent).
    public static func remove() {
        _ = try? nft(["delete", "table", family, name], input: nil)
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
