import Dataplane
import Foundation
import Lab
import SLBCore
import SLBWire
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Issue 3 "Done when", item 5: probe `interval 1`, `faildetect 2`, vserver `idle 10`. A
/// gateway is cut off (its veth down, or ICMP echo dropped by nftables inside its namespace
/// with the link up); PROBE_FAILED must be logged within 3 s (+1 s slack) of the cut, by the
/// SLB's own event timestamps (CLOCK_MONOTONIC, comparable with the test's).
@Suite("slb run: gateway failover (root, namespaces)", .serialized,
       .enabled(if: NetworkNamespace.isAvailable && SLBBinary.path != nil,
                "needs root, `ip netns` and a built .build/debug/slb"))
struct FailoverIntegrationTests {
    enum Cut: String, CustomStringConvertible {
        case linkDown = "veth down"
        case echoDropped = "nft drops ICMP echo"
        var description: String { rawValue }
    }

    static func config(purge: Bool) -> String {
        """
        ip slb probe GW-PING ping
         interval 1
         faildetect 2
        ip slb serverfarm VPN3
        \(purge ? " failaction purge\n" : "") probe GW-PING
         real 198.51.100.11
          weight 1
          inservice
         real 198.51.100.12
          weight 1
          inservice
         real 198.51.100.13
          weight 1
          inservice
        ip slb vserver VPN3-ISAKMP
         virtual 203.0.113.100 udp isakmp
         serverfarm VPN3
         sticky 3600 group 7
         idle 10
         inservice

        """
    }

    static let victim = 2
    static let idle = 10.0

    @Test("PROBE_FAILED within 3 s (+1 s slack); purge moves the failed gateway's clients to survivors for good; without purge they stay while sending and move after idle + 2 s of silence; healthy gateways never change state",
          arguments: [(Cut.linkDown, true), (Cut.echoDropped, true), (Cut.echoDropped, false)])
    func failover(cut: Cut, purge: Bool) throws {
        let lab = try LabFixture(gateways: 3)
        defer { lab.tearDown() }
        let plan = lab.plan
        let gateways = try plan.gatewayNumbers.map { n in try lab.inside(plan.gatewayNamespace(n)) { try FarmGateway(echo: false) } }
        let addresses = labClients(6)
        let clients = try lab.inside(plan.clientNamespace) { try FarmClients(addresses) }
        let slb = try SLBRun(lab: lab, config: FailoverIntegrationTests.config(purge: purge))
        defer { slb.finish() }
        try #require(slb.waitFor("slb.run.ready", seconds: 5), "slb run did not start: \(slb.log)")
        usleep(1_300_000)

        /// Sends one ISAKMP datagram from each client in `indices`; returns where each arrived.
        func round(_ indices: [Int]) -> [Int: Int] {
            let before = gateways.map { $0.udp500Sources }
            for index in indices { _ = clients.sendISAKMP(index, Array("IKE \(index)".utf8)) }
            var arrived: [Int: Int] = [:]
            poll(seconds: 3) {
                gateways.forEach { $0.drain() }
                for index in indices {
                    for g in gateways.indices where (gateways[g].udp500Sources[addresses[index]] ?? 0) > (before[g][addresses[index]] ?? 0) {
                        arrived[index] = g + 1
                    }
                }
                return arrived.count == indices.count
            }
            return arrived
        }

        let all = Array(addresses.indices)
        let home = round(all)
        try #require(home.count == addresses.count, "not every client arrived: \(home) \(slb.log)")
        let victims = all.filter { home[$0] == FailoverIntegrationTests.victim }
        let others = all.filter { home[$0] != FailoverIntegrationTests.victim }
        try #require(victims.count == 2, "round robin 1,1,1 over 6 clients: \(home)")

        let namespace = plan.gatewayNamespace(FailoverIntegrationTests.victim)
        let victimAddress = try #require(plan.gatewayAddress(FailoverIntegrationTests.victim))
        let runner = SystemCommandRunner()
        let cutAt = Clock.now
        switch cut {
        case .linkDown:
            #expect(try runner.run(["ip", "-n", namespace, "link", "set", "eth0", "down"]).succeeded)
        case .echoDropped:
            let rules = "add table ip gwtest; add chain ip gwtest input { type filter hook input priority 0; policy accept; }; "
                + "add rule ip gwtest input icmp type echo-request drop"
            let result = try runner.run(["ip", "netns", "exec", namespace, "nft", rules])
            #expect(result.succeeded, "\(result.errorOutput)")
        }
        let down = "slb.real.down real=\(victimAddress)"
        try #require(slb.waitFor(down, seconds: 6), "no \(down): \(slb.log)")
        // `slb.event <line>`: the event with its CLOCK_MONOTONIC time (written by --report-json's hook).
        let event = try #require(slb.line(startingWith: "slb.event " + down), "no timed event line: \(slb.log)")
        let failedAt = try #require(EventLine.monotonicTime(in: event), "no mono= in \(event)")
        let detection = Double((failedAt - cutAt).nanoseconds) / 1e9
        #expect(detection <= 4.0, "PROBE_FAILED \(detection) s after the cut (faildetect 2 × interval 1, + 1 s slack)")
        #expect(failedAt > cutAt, "the event predates the cut")
        print("failover (\(cut), purge \(purge)): PROBE_FAILED \(detection) s after the cut")

        if purge {
            #expect(slb.waitFor("slb.purge real=\(victimAddress)", seconds: 2), "no slb.purge event: \(slb.log)")
            let moved = round(all)
            for index in victims {
                #expect(moved[index] != nil && moved[index] != FailoverIntegrationTests.victim, "client \(index) after purge: \(String(describing: moved[index]))")
            }
            for index in others { #expect(moved[index] == home[index], "a healthy gateway's client moved") }
            let again = round(all)
            for index in all { #expect(again[index] == moved[index], "client \(index) did not stay: \(String(describing: again[index]))") }
        } else {
            // Without purge the connection keeps its dead gateway while the client keeps sending.
            for _ in 0..<3 {
                let kept = round(victims)
                for index in victims { #expect(kept[index] == FailoverIntegrationTests.victim, "client \(index) left before idle: \(kept)") }
                usleep(1_000_000)
            }
            // Silent for idle + 2 s: the connection is gone, the sticky object rebinds.
            usleep(UInt32((FailoverIntegrationTests.idle + 2) * 1_000_000))
            let moved = round(victims)
            for index in victims {
                #expect(moved[index] != nil && moved[index] != FailoverIntegrationTests.victim, "client \(index) after idle: \(moved)")
            }
        }

        // No healthy real changed state.
        let healthy = plan.gatewayNumbers.filter { $0 != FailoverIntegrationTests.victim }.compactMap(plan.gatewayAddress)
        for address in healthy {
            #expect(!slb.log.contains("slb.real.down real=\(address) "), "\(address) went down: \(slb.log)")
            #expect(!slb.log.contains("slb.real.up real=\(address) "), "\(address) changed state: \(slb.log)")
        }
    }
}
