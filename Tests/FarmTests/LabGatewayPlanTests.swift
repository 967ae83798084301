import Lab
import SLBWire
import Testing

/// The gateway plan as data (no root): pools, command lines, file places, counter parsing.
struct LabGatewayPlanTests {
    @Test("pools are disjoint, inside 203.0.113.0/24, and hold neither the service address nor the VIP",
          arguments: [1, 3, 14, 15, 30, 31, 62])
    func poolsAreDisjointAndAvoidTheFixedAddresses(count: Int) {
        let pools = LabGatewayPlan.pools(count: count)
        #expect(pools.count == count)
        for (i, pool) in pools.enumerated() {
            #expect(LabGatewayPlan.poolSpace.contains(pool.address))
            #expect(!pool.contains(LabGatewayPlan.serviceAddress), "\(pool) holds 203.0.113.1")
            #expect(!pool.contains(LabAddressPlan.vip), "\(pool) holds the VIP")
            for other in pools[(i + 1)...] { #expect(!pool.overlaps(other), "\(pool) overlaps \(other)") }
        }
    }

    @Test("pool size: /28 up to 14 gateways, /29 up to 30, /30 up to 62, none beyond",
          arguments: [(1, 28), (14, 28), (15, 29), (30, 29), (31, 30), (62, 30)])
    func poolSize(count: Int, prefixLength: Int) {
        #expect(LabGatewayPlan.pools(count: count).allSatisfy { $0.mask.prefixLength == prefixLength })
    }

    @Test func noPoolsWhenTheyCannotBeDisjoint() {
        #expect(LabGatewayPlan.pools(count: 63).isEmpty)
        #expect(LabGatewayPlan.pools(count: 0).isEmpty)
    }

    @Test func threeGatewaysGetTheDocumentedPools() throws {
        let plan = LabGatewayPlan(lab: try LabPlan(id: try #require(LabID("t1")), gatewayCount: 3),
                                  directory: "/run/vpnslb/lab/t1.gateways", executable: "/usr/local/bin/slb")
        #expect((1...3).map { plan.pool($0)?.description } == ["203.0.113.16/28", "203.0.113.32/28", "203.0.113.48/28"])
        #expect(plan.pool(4) == nil)
    }

    @Test func gatewayCommandLine() throws {
        let plan = LabGatewayPlan(lab: try LabPlan(id: try #require(LabID("t1")), gatewayCount: 2),
                                  directory: "/run/vpnslb/lab/t1.gateways", executable: "/usr/local/bin/slb")
        #expect(plan.arguments(2) == [
            "ip", "netns", "exec", "vslb-t1-gw2", "/usr/local/bin/slb", "gateway", "run",
            "--vip", "203.0.113.100",
            "--psk-file", "/run/vpnslb/lab/t1.gateways/psk",
            "--cookie-secret-file", "/run/vpnslb/lab/t1.gateways/cookie-secret",
            "--inside", "203.0.113.1",
            "--control", "/run/vpnslb/lab/t1.gateways/gw2.sock",
            "--listen", "198.51.100.12",
            "--pool", "203.0.113.32/28",
        ])
        #expect(plan.counterArguments(1) == ["ip", "netns", "exec", "vslb-t1-gw1", "nft", "-f",
                                             "/run/vpnslb/lab/t1.gateways/esp-counters.nft"])
        #expect(LabStateStore(directory: "/run/vpnslb/lab").gatewayDirectory(for: try #require(LabID("t1")))
                == "/run/vpnslb/lab/t1.gateways")
    }

    @Test("nft list counter output → packets", arguments: [
        ("table ip vslbgw {\n\tcounter esp_in {\n\t\tpackets 612 bytes 73440\n\t}\n}\n", UInt64(612)),
        ("table ip vslbgw {\n\tcounter esp_out {\n\t\tpackets 0 bytes 0\n\t}\n}\n", UInt64(0)),
    ])
    func counterListing(text: String, packets: UInt64) {
        #expect(LabGateways.packets(inCounterListing: text) == packets)
    }

    @Test func counterListingWithoutPacketsIsNil() {
        #expect(LabGateways.packets(inCounterListing: "Error: No such file or directory") == nil)
        #expect(LabGateways.packets(inCounterListing: "packets") == nil)
    }

    @Test func secretsAre128BitHex() throws {
        let a = try LabGateways.randomSecret(), b = try LabGateways.randomSecret()
        #expect(a.count == 32 && b.count == 32 && a != b)
        #expect(a.allSatisfy { $0.isHexDigit })
    }
}
