import Testing
import SLBWire
@testable import Lab

@Suite("Lab address plan and plan (pure, no root)")
struct LabPlanTests {
    static func net(_ text: String) -> IPv4Network {
        let parts = text.split(separator: "/")
        return IPv4Network(address: IPv4Address(parts[0])!, mask: IPv4Mask(prefixLength: Int(parts[1])!)!)
    }

    @Test("CIDR cover of an address range", arguments: [
        ("192.0.2.11", "192.0.2.254", ["192.0.2.11/32", "192.0.2.12/30", "192.0.2.16/28", "192.0.2.32/27",
                                        "192.0.2.64/26", "192.0.2.128/26", "192.0.2.192/27", "192.0.2.224/28",
                                        "192.0.2.240/29", "192.0.2.248/30", "192.0.2.252/31", "192.0.2.254/32"]),
        ("198.51.100.128", "198.51.100.255", ["198.51.100.128/25"]),
        ("192.0.2.7", "192.0.2.7", ["192.0.2.7/32"]),
        ("192.0.2.9", "192.0.2.8", []),
        ("0.0.0.0", "255.255.255.255", ["0.0.0.0/0"]),
    ])
    func cidrCover(first: String, last: String, expected: [String]) {
        let blocks = LabAddressPlan.cidrCover(from: IPv4Address(first)!, through: IPv4Address(last)!)
        #expect(blocks.map(\.description) == expected)
    }

    @Test("client host owns exactly 192.0.2.10–.254 and 198.51.100.128/25, never .1–.9")
    func clientAddresses() {
        let routes = LabAddressPlan.clientLocalRoutes
        let owned = { (a: IPv4Address) in a == LabAddressPlan.clientHost || routes.contains { $0.contains(a) } }
        for host in UInt8(1)...UInt8(255) {
            let address = IPv4Address(192, 0, 2, host)
            #expect(owned(address) == (10...254).contains(host), "192.0.2.\(host)")
        }
        #expect(owned(IPv4Address(198, 51, 100, 128)) && owned(IPv4Address(198, 51, 100, 255)))
        #expect(!owned(IPv4Address(198, 51, 100, 127)) && !owned(IPv4Address(198, 51, 100, 11)))
        // ≤ 350 clients in all (DESIGN.md).
        let count = 245 + 128
        #expect(count >= 350)
    }

    @Test("gateway n is 198.51.100.(10+n), inside the slb's /25", arguments: [
        (1, "198.51.100.11"), (3, "198.51.100.13"), (9, "198.51.100.19"), (116, "198.51.100.126"),
    ])
    func gatewayAddress(number: Int, expected: String) {
        let address = LabAddressPlan.gateway(number)
        #expect(address?.description == expected)
        #expect(address.map { LabPlanTests.net("198.51.100.0/25").contains($0) } == true)
    }

    @Test("gateway counts outside 1...116 are refused", arguments: [0, -1, 117, 1000])
    func badGatewayCount(count: Int) {
        #expect(throws: LabPlan.PlanError.gatewayCount(count)) { try LabPlan(id: .standard, gatewayCount: count) }
        #expect(LabAddressPlan.gateway(count) == nil)
    }

    @Test("lab ids", arguments: [("lab", true), ("t0a9", true), ("abcdefgh", true), ("abcdefghi", false),
                                 ("", false), ("Lab", false), ("a-b", false), ("a/b", false), ("é", false)])
    func labID(text: String, valid: Bool) {
        #expect((LabID(text) != nil) == valid)
    }

    @Test("every lab address is RFC 5737 (192.0.2/24, 198.51.100/24, 203.0.113/24)")
    func onlyDocumentationAddresses() throws {
        let plan = try LabPlan(id: LabID("x1")!, gatewayCount: 5)
        let documentation = ["192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24"].map(LabPlanTests.net)
        var seen = 0
        for step in plan.steps {
            var addresses: [IPv4Address] = []
            switch step {
            case .addAddress(_, _, let address, _): addresses = [address]
            case .addRoute(_, .defaultVia(let gw)): addresses = [gw]
            case .addRoute(_, .via(let network, let gw)): addresses = [network.address, gw]
            case .addRoute(_, .local(let network)): addresses = [network.address]
            default: continue
            }
            for address in addresses {
                seen += 1
                #expect(documentation.contains { $0.contains(address) }, "\(step)")
            }
        }
        #expect(seen > 20)
    }

    @Test("names carry the lab prefix; every namespace is created before it is used")
    func namesAndOrder() throws {
        let plan = try LabPlan(id: LabID("t7")!, gatewayCount: 3)
        #expect(plan.namespaces == ["vslb-t7-slb", "vslb-t7-cli", "vslb-t7-gw1", "vslb-t7-gw2", "vslb-t7-gw3"])
        var created: Set<String> = []
        for step in plan.steps {
            if case .addNamespace(let ns) = step { created.insert(ns); continue }
            #expect(created.contains(step.namespace), "\(step) before its namespace")
            if case .addVethPair(_, _, _, let peer, _, _) = step { #expect(created.contains(peer)) }
        }
    }

    @Test("the testbed pitfalls are in the plan")
    func pitfalls() throws {
        let plan = try LabPlan(id: LabID("p")!, gatewayCount: 2)
        let steps = plan.steps
        let slb = plan.slbNamespace
        for (key, value) in [("net.ipv4.ip_forward", "1"), ("net.ipv4.conf.all.rp_filter", "0"),
                             ("net.ipv4.conf.default.rp_filter", "0"),
                             ("net.bridge.bridge-nf-call-iptables", "0")] {
            #expect(steps.contains(.sysctl(namespace: slb, key: key, value: value)), "\(key)")
        }
        for n in plan.gatewayNumbers {
            let gw = plan.gatewayNamespace(n)
            #expect(steps.contains(.sysctl(namespace: gw, key: "net.ipv4.conf.all.arp_ignore", value: "1")))
            #expect(steps.contains(.sysctl(namespace: gw, key: "net.ipv4.conf.all.arp_announce", value: "2")))
            #expect(steps.contains(.addAddress(namespace: gw, device: "lo", address: LabAddressPlan.vip, prefixLength: 32)))
            #expect(steps.contains(.addRoute(namespace: gw, route: .defaultVia(LabAddressPlan.slbInside))))
            // Static FDB entry for the gateway's MAC on its slb port.
            #expect(steps.contains(.addStaticFDB(namespace: slb, mac: plan.gatewayMAC(n), port: plan.gatewayPort(n))))
        }
        #expect(steps.contains(.addStaticFDB(namespace: slb, mac: plan.clientMAC, port: LabPlan.clientPort)))
        #expect(steps.contains(.addRoute(namespace: slb, route: .via(LabAddressPlan.routedClients, LabAddressPlan.clientHost))))
        // sysctls come before any link exists, so new interfaces inherit `default`.
        let firstLink = steps.firstIndex { if case .addBridge = $0 { true } else { false } } ?? 0
        let lastSysctl = steps.lastIndex { if case .sysctl = $0 { true } else { false } } ?? Int.max
        #expect(lastSysctl < firstLink)
    }

    @Test("MACs are unique and locally administered")
    func macs() throws {
        let plan = try LabPlan(id: LabID("m")!, gatewayCount: 116)
        var macs: [LabMAC] = [LabPlan.clientBridgeMAC, LabPlan.gatewayBridgeMAC]
        for step in plan.steps {
            if case .addVethPair(_, _, let a, _, _, let b) = step { macs += [a, b] }
        }
        #expect(Set(macs).count == macs.count)
        #expect(macs.allSatisfy { $0.octets[0] & 0x03 == 0x02 })
        #expect(LabPlan.mac(link: 3, end: 2).description == "02:53:4c:02:03:02")
    }

    @Test("steps render to ip/bridge/sysctl commands inside the lab namespaces", arguments: [
        (LabStep.addNamespace("vslb-a-slb"), "ip netns add vslb-a-slb"),
        (.sysctl(namespace: "n", key: "net.ipv4.ip_forward", value: "1"), "ip netns exec n sysctl -q -w net.ipv4.ip_forward=1"),
        (.addBridge(namespace: "n", name: "brg", mac: LabPlan.gatewayBridgeMAC),
         "ip -n n link add brg address 02:53:4c:02:00:00 type bridge nf_call_iptables 0 nf_call_ip6tables 0 nf_call_arptables 0"),
        (.addVethPair(namespace: "n", name: "gw1", mac: LabPlan.mac(link: 1, end: 1), peerNamespace: "g",
                      peerName: "eth0", peerMAC: LabPlan.mac(link: 1, end: 2)),
         "ip -n n link add gw1 address 02:53:4c:02:01:01 type veth peer name eth0 address 02:53:4c:02:01:02 netns g"),
        (.addRoute(namespace: "c", route: .local(net("198.51.100.128/25"))), "ip -n c route add local 198.51.100.128/25 dev lo"),
        (.addRoute(namespace: "g", route: .defaultVia(IPv4Address("198.51.100.1")!)), "ip -n g route add default via 198.51.100.1"),
        (.addStaticFDB(namespace: "n", mac: LabPlan.mac(link: 0, end: 2), port: "cli"),
         "bridge -n n fdb replace 02:53:4c:01:00:02 dev cli master static"),
    ])
    func rendering(step: LabStep, expected: String) {
        #expect(step.argv.joined(separator: " ") == expected)
    }

    @Test("durations", arguments: [("90", 90), ("30s", 30), ("5m", 300), ("1h", 3600), ("24h", 86_400),
                                   ("0", nil), ("25h", nil), ("", nil), ("s", nil), ("-5", nil), ("1.5m", nil),
                                   ("99999999999999999999", nil)] as [(String, Int?)])
    func durations(text: String, seconds: Int?) {
        #expect(LabDuration.seconds(text) == seconds)
    }
}
