import SLBWire

/// What a lab is made of, computed without touching the system: the namespaces, links,
/// addresses, routes, sysctls and static FDB entries, in the order they must be applied.
///
/// ```
///  [cli]  eth0 ─────── cli  ┐                       ┌ gw1 ─────── eth0 [gw1]  lo: VIP/32
///  192.0.2.10/24            brc 192.0.2.1/24        │                198.51.100.11/25
///  lo: local .11–.254,   [slb]   ip_forward=1   brg 198.51.100.1/25
///      198.51.100.128/25                            └ gwN ─────── eth0 [gwN]  198.51.100.(10+N)
/// ```
///
/// Each fix below broke a test on this kernel until applied (shared notes, testbed.md):
/// - slb `rp_filter=0`: replies from the VIP (direct server return) have a source the slb has
///   no route back to, and strict reverse-path filtering (RFC 3704 §2.2) drops them.
/// - slb `bridge-nf-call-iptables=0` (and `nf_call_iptables 0` per bridge): br_netfilter is
///   built in and would run bridged frames through the IP hooks.
/// - gateways `arp_ignore=1`, `arp_announce=2`: the VIP is on every gateway's loopback; no
///   gateway may answer ARP for it or use it as an ARP source, or the segment learns it.
/// - static FDB entries for every bridge port's far-end MAC: a silent gateway's entry ages out
///   after 300 s and forwarded frames get flooded to every gateway.
/// - slb `ip_forward=1`: the lab's own routing (client ↔ gateway addresses) goes through it.
public struct LabPlan: Hashable, Sendable {
    public static let slbRole = "slb"
    public static let clientRole = "cli"
    public static let clientBridge = "brc"
    public static let gatewayBridge = "brg"
    /// The interface name on the host side of every link.
    public static let hostInterface = "eth0"

    public let id: LabID
    public let gatewayCount: Int

    public enum PlanError: Error, Equatable, CustomStringConvertible {
        case gatewayCount(Int)
        public var description: String {
            switch self {
            case .gatewayCount(let n):
                "a lab has 1...\(LabAddressPlan.maximumGateways) gateways, not \(n)"
            }
        }
    }

    public init(id: LabID, gatewayCount: Int) throws {
        guard (1...LabAddressPlan.maximumGateways).contains(gatewayCount) else {
            throw PlanError.gatewayCount(gatewayCount)
        }
        self.id = id
        self.gatewayCount = gatewayCount
    }

    // MARK: names

    public var slbNamespace: String { id.namespacePrefix + LabPlan.slbRole }
    public var clientNamespace: String { id.namespacePrefix + LabPlan.clientRole }
    public func gatewayNamespace(_ n: Int) -> String { id.namespacePrefix + "gw\(n)" }
    /// The slb's bridge port towards gateway n.
    public func gatewayPort(_ n: Int) -> String { "gw\(n)" }
    /// The slb's bridge port towards the client host.
    public static let clientPort = "cli"

    public var gatewayNumbers: ClosedRange<Int> { 1...gatewayCount }

    /// Every namespace, slb first: the order they are created in (and recorded).
    public var namespaces: [String] {
        [slbNamespace, clientNamespace] + gatewayNumbers.map(gatewayNamespace)
    }

    public func gatewayAddress(_ n: Int) -> IPv4Address? { LabAddressPlan.gateway(n) }

    // MARK: MACs: 02:53:4c:<segment>:<link>:<end>

    /// Link 0 is the client's, link n the gateway n's; end 1 is the slb's port, end 2 the host.
    public static func mac(link: Int, end: UInt8) -> LabMAC {
        LabMAC(0x02, 0x53, 0x4c, link == 0 ? 0x01 : 0x02, UInt8(truncatingIfNeeded: link), end)
    }
    public static let clientBridgeMAC = LabMAC(0x02, 0x53, 0x4c, 0x01, 0x00, 0x00)
    public static let gatewayBridgeMAC = LabMAC(0x02, 0x53, 0x4c, 0x02, 0x00, 0x00)
    public var clientMAC: LabMAC { LabPlan.mac(link: 0, end: 2) }
    public func gatewayMAC(_ n: Int) -> LabMAC { LabPlan.mac(link: n, end: 2) }

    // MARK: steps

    public var steps: [LabStep] {
        var steps: [LabStep] = namespaces.map { .addNamespace($0) }
        steps += sysctls
        steps += namespaces.map { .setUp(namespace: $0, device: "lo") }
        steps += slbSteps
        steps += clientSteps
        for n in gatewayNumbers { steps += gatewaySteps(n) }
        return steps
    }

    var sysctls: [LabStep] {
        let slb = slbNamespace
        var steps: [LabStep] = [
            .sysctl(namespace: slb, key: "net.ipv4.ip_forward", value: "1"),
            .sysctl(namespace: slb, key: "net.ipv4.conf.all.rp_filter", value: "0"),
            .sysctl(namespace: slb, key: "net.ipv4.conf.default.rp_filter", value: "0"),
            .sysctl(namespace: slb, key: "net.bridge.bridge-nf-call-iptables", value: "0"),
            .sysctl(namespace: slb, key: "net.bridge.bridge-nf-call-arptables", value: "0"),
        ]
        for n in gatewayNumbers {
            let gw = gatewayNamespace(n)
            steps += [
                .sysctl(namespace: gw, key: "net.ipv4.conf.all.arp_ignore", value: "1"),
                .sysctl(namespace: gw, key: "net.ipv4.conf.all.arp_announce", value: "2"),
            ]
        }
        return steps
    }

    var slbSteps: [LabStep] {
        let slb = slbNamespace
        var steps: [LabStep] = [
            .addBridge(namespace: slb, name: LabPlan.clientBridge, mac: LabPlan.clientBridgeMAC),
            .addBridge(namespace: slb, name: LabPlan.gatewayBridge, mac: LabPlan.gatewayBridgeMAC),
            .addAddress(namespace: slb, device: LabPlan.clientBridge,
                        address: LabAddressPlan.slbPublic, prefixLength: LabAddressPlan.publicPrefixLength),
            .addAddress(namespace: slb, device: LabPlan.gatewayBridge,
                        address: LabAddressPlan.slbInside, prefixLength: LabAddressPlan.insidePrefixLength),
            .setUp(namespace: slb, device: LabPlan.clientBridge),
            .setUp(namespace: slb, device: LabPlan.gatewayBridge),
        ]
        steps += link(port: LabPlan.clientPort, bridge: LabPlan.clientBridge, link: 0, host: clientNamespace)
        for n in gatewayNumbers {
            steps += link(port: gatewayPort(n), bridge: LabPlan.gatewayBridge, link: n, host: gatewayNamespace(n))
        }
        return steps
    }

    /// One veth from an slb bridge port to a host's eth0, and the static FDB entry for the
    /// host's MAC on that port.
    private func link(port: String, bridge: String, link: Int, host: String) -> [LabStep] {
        let slb = slbNamespace
        let hostMAC = LabPlan.mac(link: link, end: 2)
        return [
            .addVethPair(namespace: slb, name: port, mac: LabPlan.mac(link: link, end: 1),
                         peerNamespace: host, peerName: LabPlan.hostInterface, peerMAC: hostMAC),
            .attachToBridge(namespace: slb, port: port, bridge: bridge),
            .setUp(namespace: slb, device: port),
            .addStaticFDB(namespace: slb, mac: hostMAC, port: port),
        ]
    }

    var clientSteps: [LabStep] {
        let cli = clientNamespace
        var steps: [LabStep] = [
            .addAddress(namespace: cli, device: LabPlan.hostInterface,
                        address: LabAddressPlan.clientHost, prefixLength: LabAddressPlan.publicPrefixLength),
            .setUp(namespace: cli, device: LabPlan.hostInterface),
            .addRoute(namespace: cli, route: .defaultVia(LabAddressPlan.slbPublic)),
        ]
        steps += LabAddressPlan.clientLocalRoutes.map { .addRoute(namespace: cli, route: .local($0)) }
        steps.append(.addRoute(namespace: slbNamespace,
                               route: .via(LabAddressPlan.routedClients, LabAddressPlan.clientHost)))
        return steps
    }

    func gatewaySteps(_ n: Int) -> [LabStep] {
        let gw = gatewayNamespace(n)
        guard let address = gatewayAddress(n) else { return [] }
        return [
            .addAddress(namespace: gw, device: "lo", address: LabAddressPlan.vip, prefixLength: 32),
            .addAddress(namespace: gw, device: LabPlan.hostInterface,
                        address: address, prefixLength: LabAddressPlan.insidePrefixLength),
            .setUp(namespace: gw, device: LabPlan.hostInterface),
            .addRoute(namespace: gw, route: .defaultVia(LabAddressPlan.slbInside)),
        ]
    }
}
