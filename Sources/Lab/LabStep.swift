import SLBWire

/// A 48-bit Ethernet address the plan assigns, so static FDB entries are known before any
/// link exists. All lab MACs are locally administered (IEEE 802 U/L bit set: first octet 0x02).
public struct LabMAC: Hashable, Sendable, CustomStringConvertible, Codable {
    public let octets: [UInt8]

    public init(_ a: UInt8, _ b: UInt8, _ c: UInt8, _ d: UInt8, _ e: UInt8, _ f: UInt8) {
        octets = [a, b, c, d, e, f]
    }

    public var description: String {
        octets.map { byte in
            let hex = String(byte, radix: 16)
            return byte < 0x10 ? "0" + hex : hex
        }.joined(separator: ":")
    }
}

/// A route the lab installs.
public enum LabRoute: Hashable, Sendable {
    case defaultVia(IPv4Address)
    case via(IPv4Network, IPv4Address)
    /// `ip route add local NET dev lo`: the host owns every address of NET (answers ARP,
    /// accepts and sources traffic) without one interface address per host.
    case local(IPv4Network)
}

/// One action of building a lab, as data. `argv` renders it to the command the executor runs;
/// everything runs inside a lab namespace (`ip -n`, `ip netns exec`), never in the caller's.
public enum LabStep: Hashable, Sendable {
    case addNamespace(String)
    case sysctl(namespace: String, key: String, value: String)
    /// A bridge with netfilter hooks off (`nf_call_iptables 0`): see `LabPlan` on br_netfilter.
    case addBridge(namespace: String, name: String, mac: LabMAC)
    /// A veth pair whose two ends are created directly in their namespaces, so no name ever
    /// exists in the caller's namespace (no clash between labs, nothing to leak on a crash).
    case addVethPair(namespace: String, name: String, mac: LabMAC,
                     peerNamespace: String, peerName: String, peerMAC: LabMAC)
    case attachToBridge(namespace: String, port: String, bridge: String)
    case addAddress(namespace: String, device: String, address: IPv4Address, prefixLength: Int)
    case setUp(namespace: String, device: String)
    case addRoute(namespace: String, route: LabRoute)
    /// `bridge fdb replace MAC dev PORT master static`: a static entry never ages out.
    case addStaticFDB(namespace: String, mac: LabMAC, port: String)

    public var namespace: String {
        switch self {
        case .addNamespace(let ns): ns
        case .sysctl(let ns, _, _), .addBridge(let ns, _, _), .addVethPair(let ns, _, _, _, _, _),
             .attachToBridge(let ns, _, _), .addAddress(let ns, _, _, _), .setUp(let ns, _),
             .addRoute(let ns, _), .addStaticFDB(let ns, _, _):
            ns
        }
    }

    public var argv: [String] {
        switch self {
        case .addNamespace(let ns):
            ["ip", "netns", "add", ns]
        case .sysctl(let ns, let key, let value):
            ["ip", "netns", "exec", ns, "sysctl", "-q", "-w", "\(key)=\(value)"]
        case .addBridge(let ns, let name, let mac):
            ["ip", "-n", ns, "link", "add", name, "address", mac.description, "type", "bridge",
             "nf_call_iptables", "0", "nf_call_ip6tables", "0", "nf_call_arptables", "0"]
        case .addVethPair(let ns, let name, let mac, let peerNS, let peerName, let peerMAC):
            ["ip", "-n", ns, "link", "add", name, "address", mac.description, "type", "veth",
             "peer", "name", peerName, "address", peerMAC.description, "netns", peerNS]
        case .attachToBridge(let ns, let port, let bridge):
            ["ip", "-n", ns, "link", "set", port, "master", bridge]
        case .addAddress(let ns, let device, let address, let prefixLength):
            ["ip", "-n", ns, "address", "add", "\(address)/\(prefixLength)", "dev", device]
        case .setUp(let ns, let device):
            ["ip", "-n", ns, "link", "set", device, "up"]
        case .addRoute(let ns, let route):
            switch route {
            case .defaultVia(let gateway):
                ["ip", "-n", ns, "route", "add", "default", "via", gateway.description]
            case .via(let network, let gateway):
                ["ip", "-n", ns, "route", "add", network.description, "via", gateway.description]
            case .local(let network):
                ["ip", "-n", ns, "route", "add", "local", network.description, "dev", "lo"]
            }
        case .addStaticFDB(let ns, let mac, let port):
            ["bridge", "-n", ns, "fdb", "replace", mac.description, "dev", port, "master", "static"]
        }
    }
}
