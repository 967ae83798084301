import SLBConfig
import SLBWire

/// Directed mode (`nat server`), real → client: which VIP and virtual port a real's reply is
/// translated back to, from the configuration alone: a reply from real R, protocol P, source
/// port S belongs to the vserver whose farm (or backup farm) holds R with port S (or with no
/// port, and the vserver's port is S).
///
/// Static, not per connection: a gateway's reply carries no trace of which VIP the client
/// used, and the SLB sees each client's own packets only on the public side. Where two
/// vservers would map the same (real, protocol, port) to different VIPs/ports the first in
/// configuration order wins and `ambiguities` names the rest (`slb run` prints them).
public struct DirectedReplyMap: Sendable {
    public struct Target: Hashable, Sendable {
        public var vip: IPv4Address
        /// nil: leave the source port as it is (ESP, `udp any`, or real port = virtual port).
        public var port: UInt16?
    }

    private var targets: [UInt64: Target] = [:]
    /// One VIP per real for later fragments, which carry no port (RFC 791 §3.2).
    private var vipByReal: [IPv4Address: IPv4Address] = [:]
    public private(set) var ambiguities: [String] = []
    /// Every real that is in a directed-mode farm: the inside capture filter's sources.
    public private(set) var reals: [IPv4Address] = []
    /// Their (protocol, source port) pairs, for the capture filter and the nft drop rules.
    public private(set) var services: [IPv4Address: Set<ReplyService>] = [:]

    public enum ReplyService: Hashable, Sendable {
        case udp(port: UInt16?)
        case esp
    }

    public var isEmpty: Bool { targets.isEmpty }

    public init(configuration: SLBConfiguration) {
        var farms: [String: ServerFarm] = [:]
        for farm in configuration.farms where farms[farm.name] == nil { farms[farm.name] = farm }
        for vserver in configuration.vservers {
            for name in [vserver.farm, vserver.backupFarm].compactMap({ $0 }) {
                guard let farm = farms[name], farm.nat == .server else { continue }
                for real in farm.reals { add(vserver: vserver, real: real) }
            }
        }
    }

    private mutating func add(vserver: VirtualServer, real: RealServer) {
        let service: ReplyService
        let sourcePort: UInt16
        let target: Target
        switch vserver.service {
        case .esp:
            service = .esp
            sourcePort = 0
            target = Target(vip: vserver.address, port: nil)
        case .udp(let port):
            if let port {
                let replyPort = real.port ?? port
                service = .udp(port: replyPort)
                sourcePort = replyPort
                target = Target(vip: vserver.address, port: replyPort == port ? nil : port)
            } else {
                service = .udp(port: nil)
                sourcePort = 0
                target = Target(vip: vserver.address, port: nil)
            }
        }
        let key = DirectedReplyMap.key(real.address, service == .esp ? .esp : .udp, sourcePort)
        if let existing = targets[key] {
            if existing != target {
                ambiguities.append("real \(real.address) \(service): replies go to \(existing.vip), not \(vserver.address) (vserver \(vserver.name))")
            }
        } else {
            targets[key] = target
        }
        if vipByReal[real.address] == nil {
            vipByReal[real.address] = vserver.address
            reals.append(real.address)
        }
        services[real.address, default: []].insert(service)
    }

    @inline(__always)
    static func key(_ real: IPv4Address, _ ipProtocol: IPProtocol, _ port: UInt16) -> UInt64 {
        UInt64(real.value) << 24 | UInt64(ipProtocol.rawValue) << 16 | UInt64(port)
    }

    /// The translation of a reply from `real` (source port `port`, 0 for ESP).
    @inline(__always)
    public func target(real: IPv4Address, ipProtocol: IPProtocol, port: UInt16) -> Target? {
        if let exact = targets[DirectedReplyMap.key(real, ipProtocol, port)] { return exact }
        // `udp any` vservers: any source port.
        return ipProtocol == .udp ? targets[DirectedReplyMap.key(real, .udp, 0)] : nil
    }

    /// The VIP for a later fragment of a reply from `real` (no port to look at).
    public func vip(forFragmentFrom real: IPv4Address) -> IPv4Address? { vipByReal[real] }
}

/// The inside capture filter and nft drop rules for directed-mode replies:
/// `ip and src host 198.51.100.11 and (udp src port 500 or udp src port 4500 or ip proto 50 or ICMP-ERROR or ip[6:2] & 0x1fff != 0)`
/// where ICMP-ERROR is an unreachable / time exceeded / parameter problem whose quoted datagram
/// is UDP or ESP (a client's datagram to the real; the probes' echoes never match).
public enum ReplyFilter {
    static let redirectType: UInt8 = 5
    /// RFC 792 types 3, 11, 12; quoted protocol at ICMP offset 8 + 9 (RFC 792: the quoted
    /// "Internet Header + 64 bits of Original Data Datagram").
    static let icmpErrorTest = "(icmp[0] == 3 or icmp[0] == 11 or icmp[0] == 12) and (icmp[17] == 17 or icmp[17] == 50)"
    static let icmpErrorMatch = "icmp type { destination-unreachable, time-exceeded, parameter-problem } @th,136,8 { 17, 50 }"

    public static func expression(for map: DirectedReplyMap) -> String? {
        guard !map.reals.isEmpty else { return nil }
        let clauses = map.reals.map { real in
            "ip and src host \(real) and (\(tests(map.services[real] ?? []).joined(separator: " or ")))"
        }
        return clauses.count == 1 ? clauses[0] : clauses.map { "(\($0))" }.joined(separator: " or ")
    }

    static func tests(_ services: Set<DirectedReplyMap.ReplyService>) -> [String] {
        var tests: [String] = []
        if services.contains(.udp(port: nil)) {
            tests.append("udp")
        } else {
            tests += services.compactMap { if case .udp(let port?) = $0 { port } else { nil } }.sorted().map { "udp src port \($0)" }
        }
        if services.contains(.esp) { tests.append("ip proto 50") }
        tests.append("(icmp and \(icmpErrorTest))")
        tests.append("ip[6:2] & 0x1fff != 0")
        return tests
    }

    /// nft rule matches (after `ip saddr REAL`) for the same traffic.
    static func nftMatches(_ services: Set<DirectedReplyMap.ReplyService>) -> [String] {
        var matches: [String] = []
        if services.contains(.udp(port: nil)) {
            matches.append("ip protocol udp")
        } else {
            matches += services.compactMap { if case .udp(let port?) = $0 { port } else { nil } }.sorted().map { "udp sport \($0)" }
        }
        if services.contains(.esp) { matches.append("ip protocol esp") }
        matches.append(icmpErrorMatch)
        matches.append("ip frag-off & 0x1fff != 0")
        return matches
    }
}
