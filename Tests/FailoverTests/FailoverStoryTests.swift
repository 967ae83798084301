import BenchKit
import Dataplane
import Foundation
import GatewayShow
import Lab
import SLBCore
import SLBWire
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Issue 7: a gateway's IKE dies (its `slb gateway` process killed, or its link cut); the SLB's
/// IKE probe marks it PROBE_FAILED and purges; the strongSwan clients' DPD (IKEv2 liveness
/// checks, IKEv1 RFC 3706 R-U-THERE) declares the peer dead, they re-initiate, land on
/// surviving gateways, and their tunnels carry pings again.
/// With only a ping probe a killed IKE process goes unnoticed and its clients stay black-holed.
@Suite("failover story: IKE probe, purge, DPD re-landing (root, namespaces, strongSwan)", .serialized,
       .enabled(if: StoryLab.unavailableReason == nil, Comment(rawValue: StoryLab.unavailableReason ?? "")))
struct FailoverStoryTests {
    /// strongSwan clients, initiated one after another (round robin over 3 equal reals puts
    /// clients 1, 4 and 7 on the victim): the odd ones speak IKEv1, the even ones IKEv2.
    static let clientCount = 8
    static let ikev1Clients: Set<Int> = [1, 3, 5, 7]
    /// The project's own clients (`slb client --hold`) beside the strongSwan ones.
    static let ownClientCount = 100
    static let victim = 2

    static func config(probe: String) -> String {
        // The IKE farm runs both probes: the ping keeps succeeding on a killed IKE process, and
        // any failing probe fails the real.
        var text = "ip slb probe GW-PING ping\n interval 1\n faildetect 2\n"
        if probe == "ike" { text += "ip slb probe GW-IKE ike\n interval 1\n faildetect 2\n" }
        text += "ip slb serverfarm VPN\n failaction purge\n probe GW-PING\n"
        if probe == "ike" { text += " probe GW-IKE\n" }
        for n in 1...3 { text += " real 198.51.100.1\(n)\n  weight 1\n  inservice\n" }
        for (vserver, service) in [("VPN-ISAKMP", "udp isakmp"), ("VPN-NATT", "udp 4500"), ("VPN-ESP", "esp")] {
            text += "ip slb vserver \(vserver)\n virtual \(StoryLab.vip) \(service)\n serverfarm VPN\n sticky 3600 group 7\n idle 60\n inservice\n"
        }
        return text
    }

    enum Failure: String, CustomStringConvertible {
        case processKilled = "slb gateway killed"
        case linkCut = "link cut"
        var description: String { rawValue }
    }

    /// Brings up 3 gateways, the SLB and every client; returns the clients' first placement.
    static func bringUp(_ lab: StoryLab, probe: String) throws -> [String: [Int]] {
        for n in 1...3 { try lab.startGateway(n) }
        try lab.startSLB(config: config(probe: probe))
        // First probe rounds: every real answers before any client arrives.
        usleep(1_500_000)
        for i in lab.clients.indices { try lab.startClient(i) }
        for i in lab.clients.indices {
            try #require(lab.initiate(i), "client \(i) (IKEv\(lab.isIKEv1(i) ? 1 : 2)) did not connect: \(lab.log("charon\(i).log").suffix(3000))")
        }
        for i in lab.clients.indices { #expect(lab.ping(i), "client \(i) ping before the failure") }
        try lab.startOwnClients(ownClientCount)
        var placement: [String: [Int]] = [:]
        let placed = waitUntil(seconds: 30) {
            placement = lab.placement([1, 2, 3])
            return (lab.clients + lab.ownSources).allSatisfy { placement[$0]?.count == 1 }
        }
        let missing = (lab.clients + lab.ownSources).filter { placement[$0]?.count != 1 }
        try #require(placed, "not every client connected: \(missing) \(lab.log("own.log").suffix(1000)) \(lab.slbLog.suffix(3000))")
        return placement
    }

    @Test("IKE probe: PROBE_FAILED and purge, nothing forwarded to the dead real afterwards, every client re-lands on a live gateway with one IKE SA within DPD + 15 s and pings, healthy reals unchanged, the returning gateway is not handed existing clients",
          arguments: [Failure.processKilled, .linkCut])
    func ikeProbe(failure: Failure) throws {
        let lab = try StoryLab(gateways: 3, clients: FailoverStoryTests.clientCount, ikev1Clients: FailoverStoryTests.ikev1Clients)
        defer { lab.tearDown() }
        let placement = try FailoverStoryTests.bringUp(lab, probe: "ike")
        let victim = FailoverStoryTests.victim
        let victimIndices = lab.clients.indices.filter { placement[lab.clients[$0]] == [victim] }
        let victims = victimIndices.map { lab.clients[$0] }
        try #require(victimIndices.contains(where: lab.isIKEv1) && victimIndices.contains { !lab.isIKEv1($0) },
                     "round robin put no IKEv1 and IKEv2 strongSwan client on gateway \(victim): \(placement)")
        let victimAddress = "198.51.100.1\(victim)"
        #expect(!lab.slbLog.contains("slb.real.down"), "a real failed before the test: \(lab.slbLog)")

        _ = try lab.startPingers()
        usleep(1_000_000)
        let failedAt = Date().timeIntervalSince1970
        let failedMono = Clock.now
        switch failure {
        case .processKilled: lab.killGateway(victim)
        case .linkCut: #expect(StoryLab.run(["ip", "-n", lab.plan.gatewayNamespace(victim), "link", "set", "eth0", "down"]).status == 0)
        }

        try #require(waitUntil(seconds: 6) { lab.slbLog.contains("slb.purge real=\(victimAddress)") },
                     "no slb.real.down / slb.purge for \(victimAddress): \(lab.slbLog)")
        let down = try #require(lab.slbLog.split(separator: "\n").first { $0.hasPrefix("slb.real.down real=\(victimAddress)") })
        if failure == .processKilled {
            #expect(down.contains("GW-IKE"), "the IKE probe failed the real (the host still answers pings): \(down)")
        }
        let purge = try #require(lab.slbLog.split(separator: "\n").first { $0.hasPrefix("slb.purge real=\(victimAddress)") })
        let toDown = EventLine.monotonicTime(in: down).map { Double(($0 - failedMono).nanoseconds) / 1e9 }
        let toPurge = EventLine.monotonicTime(in: purge).map { Double(($0 - failedMono).nanoseconds) / 1e9 }
        #expect(purge.contains("connections="), "\(purge)")
        let afterPurge = try lab.snapshot()
        let victimID = try #require(afterPurge.reals.first { $0.address.description == victimAddress }?.id)
        #expect(afterPurge.reals.first { $0.id == victimID }?.state == .probeFailed)

        // Every client: exactly one IKE SA, on a live gateway, and pings through it.
        let live = [1, 2, 3].filter { $0 != victim }
        let bound = StoryLab.slowestDPDDetection + 15
        var relanded: Double?
        let settled = waitUntil(seconds: bound) {
            let now = lab.placement(live)
            guard (lab.clients + lab.ownSources).allSatisfy({ now[$0]?.count == 1 }) else { return false }
            guard lab.clients.indices.allSatisfy({ lab.ping($0) }) else { return false }
            relanded = Date().timeIntervalSince1970 - failedAt
            return true
        }
        #expect(settled, "not every client re-landed within DPD \(StoryLab.slowestDPDDetection) s + 15 s: \(lab.placement(live)) \(lab.slbLog.suffix(1500))")
        usleep(1_000_000)
        lab.stopPingers()

        // After the purge nothing went to the dead real.
        let later = try lab.snapshot()
        #expect(later.reals.first { $0.id == victimID }?.packets == afterPurge.reals.first { $0.id == victimID }?.packets,
                "packets forwarded to \(victimAddress) after the purge")
        // No healthy real changed state.
        for n in live {
            #expect(!lab.slbLog.contains("slb.real.down real=198.51.100.1\(n) "), "healthy gateway \(n) went down: \(lab.slbLog)")
            #expect(later.reals.first { $0.address.description == "198.51.100.1\(n)" }?.state == .operational)
        }

        print("failover story (\(failure)): PROBE_FAILED \(toDown.map { String(format: "%.2f", $0) } ?? "?") s, purge \(toPurge.map { String(format: "%.2f", $0) } ?? "?") s, "
              + "every client re-landed and pinging \(relanded.map { String(format: "%.2f", $0) } ?? "never") s after the failure; "
              + "strongSwan victims \(victims.count)/\(lab.clients.count)")
        for (version, detection) in [(2, StoryLab.dpdDetection), (1, StoryLab.ikev1DPDDetection)] {
            let mine = victimIndices.filter { lab.isIKEv1($0) == (version == 1) }
            let outage = OutageMeasurement(failureAt: failedAt, answered: Dictionary(uniqueKeysWithValues:
                mine.map { (lab.clients[$0], lab.answeredPings($0)) }))
            print("failover story (\(failure)): strongSwan IKEv\(version) victims \(mine.count): " + outage.summary(dpdDetection: detection))
            #expect(outage.unrecovered.isEmpty, "IKEv\(version) clients without an answer after the failure: \(outage.unrecovered)")
            for (client, value) in outage.outages {
                if let value { #expect(value <= detection + 15, "IKEv\(version) client \(client) outage \(value) s") }
            }
        }

        // The gateway comes back: the probe brings it up; it gets no existing client.
        switch failure {
        case .processKilled: try lab.startGateway(victim)
        case .linkCut:
            #expect(StoryLab.run(["ip", "-n", lab.plan.gatewayNamespace(victim), "link", "set", "eth0", "up"]).status == 0)
            // Link down flushed the gateway's default route; the probes (from the SLB's on-link
            // inside address) do not need it, the clients' replies do.
            #expect(StoryLab.run(["ip", "-n", lab.plan.gatewayNamespace(victim), "route", "replace", "default", "via",
                                  LabAddressPlan.slbInside.description]).status == 0)
        }
        #expect(waitUntil(seconds: 6) { lab.slbLog.contains("slb.real.up real=\(victimAddress)") }, "no slb.real.up: \(lab.slbLog)")
        usleep(2_000_000)
        let after = lab.placement(live)
        for client in lab.clients + lab.ownSources {
            #expect(after[client]?.count == 1, "client \(client) moved after the gateway returned: \(String(describing: after[client]))")
        }
        for i in lab.clients.indices { #expect(lab.ping(i), "client \(i) ping after the gateway returned") }
        if failure == .processKilled { #expect(lab.ikeSAs(victim)?.isEmpty == true, "the returned gateway was handed existing clients") }
        // New clients do reach it (round robin over the three operational reals).
        let newcomers = (0..<3).map { "192.0.2.\(200 + $0)" }
        let joined = lab.inClient(slbPath: true, ["client", "--gateway", StoryLab.vip, "--source", newcomers[0], "--count", "3",
                                                  "--psk-file", lab.dir + "/psk", "--pings", "1", "--keep", "--time-limit", "20"], timeout: 30)
        #expect(joined.status == 0, "\(joined.stdout) \(joined.stderr)")
        let landed = lab.placement([victim])
        #expect(newcomers.contains { landed[$0] != nil }, "no new client landed on the returned gateway: \(landed)")

        // The project's own clients: DPD declared the dead gateway's clients' peer dead, they
        // re-initiated and were up at the end; nobody else restarted.
        let own = try lab.stopOwnClients()
        let ownVictims = Set(lab.ownSources.filter { placement[$0] == [victim] })
        #expect(!ownVictims.isEmpty)
        var gaps: [Double] = []
        for result in own.results {
            #expect(result.upAtEnd, "own client \(result.source) down at the end: \(result.failures)")
            if ownVictims.contains(result.source) {
                #expect(result.deadPeers >= 1 && result.establishments >= 2, "own client \(result.source) did not restart: \(result)")
                let gap = result.longestGap ?? .infinity
                gaps.append(gap)
                #expect(gap <= own.dpdDetectionSeconds + 15, "own client \(result.source) outage \(gap) s")
            } else {
                #expect(result.deadPeers == 0 && result.establishments == 1, "healthy gateway's client \(result.source) restarted: \(result)")
            }
        }
        gaps.sort()
        func at(_ p: Double) -> String {
            gaps.isEmpty ? "-" : String(format: "%.2f s", gaps[min(gaps.count - 1, max(0, Int((p / 100 * Double(gaps.count)).rounded(.up)) - 1))])
        }
        print("failover story (\(failure)): own clients \(ownVictims.count)/\(own.results.count) on the dead gateway, outage (longest gap between answered pings) "
              + "min \(gaps.first.map { String(format: "%.2f s", $0) } ?? "-") median \(at(50)) p95 \(at(95)) max \(gaps.last.map { String(format: "%.2f s", $0) } ?? "-"); "
              + "DPD detection \(String(format: "%.2f", own.dpdDetectionSeconds)) s")
    }

    @Test("ping probe only: a killed `slb gateway` goes unnoticed; the real stays OPERATIONAL and its clients stay black-holed past their DPD")
    func pingOnlyMissesDeadIKE() throws {
        let lab = try StoryLab(gateways: 3, clients: FailoverStoryTests.clientCount, ikev1Clients: FailoverStoryTests.ikev1Clients)
        defer { lab.tearDown() }
        let placement = try FailoverStoryTests.bringUp(lab, probe: "ping")
        let victim = FailoverStoryTests.victim
        let victims = lab.clients.indices.filter { placement[lab.clients[$0]] == [victim] }
        try #require(!victims.isEmpty, "round robin put no client on gateway \(victim): \(placement)")
        lab.killGateway(victim)
        usleep(UInt32((StoryLab.slowestDPDDetection + 4) * 1_000_000))
        #expect(!lab.slbLog.contains("slb.real.down"), "a ping probe noticed a dead IKE process? \(lab.slbLog)")
        let snapshot = try lab.snapshot()
        #expect(snapshot.reals.first { $0.address.description == "198.51.100.1\(victim)" }?.state == .operational)
        let live = lab.placement([1, 2, 3].filter { $0 != victim })
        for i in victims {
            #expect(live[lab.clients[i]] == nil, "client \(lab.clients[i]) reached a live gateway without a probe")
            #expect(!lab.ping(i), "client \(lab.clients[i]) pings although its gateway is dead")
        }
        // The project's own clients on that gateway: DPD restarts them, but their new
        // IKE_SA_INIT keeps matching the old connection, so none reaches a live gateway.
        let ownVictims = lab.ownSources.filter { placement[$0] == [victim] }
        #expect(!ownVictims.isEmpty)
        for source in ownVictims { #expect(live[source] == nil, "own client \(source) reached a live gateway without a probe") }
        let own = try lab.stopOwnClients()
        for result in own.results where ownVictims.contains(result.source) {
            #expect(result.deadPeers >= 1 && !result.upAtEnd, "own client \(result.source) on the dead gateway: \(result)")
        }
    }

    @Test("slb-bench failover (smoke): PROBE_FAILED, purge, re-landing and every failed gateway's client's outage are measured",
          arguments: [2, 1])
    func benchSmoke(ikeVersion: Int) throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("vslb-failover-bench-\(getpid())")
        defer { try? FileManager.default.removeItem(at: directory) }
        var parameters = FailoverScenario.Parameters.smoke
        parameters.ikeVersions = [ikeVersion]
        let scenario = try FailoverScenario(parameters: parameters, slbPath: try #require(StoryLab.slbPath),
                                            output: BenchOutput(directory: directory, quiet: true), smoke: true)
        let document = try scenario.run()
        let m = try #require(document.measurements.first)
        #expect(m.ikeVersion == ikeVersion && document.measurements.count == 1)
        #expect(m.victims > 0 && m.outages.count == m.victims, "\(m)")
        #expect(m.unrecovered == 0 && m.healthyRestarts == 0, "\(m)")
        #expect((m.toProbeFailed ?? .infinity) <= 4 && m.toPurge != nil && m.toAllRelanded != nil, "\(m)")
        #expect((m.outageMax ?? .infinity) <= m.dpdDetection + 15, "\(m)")
        #expect(FileManager.default.fileExists(atPath: directory.appendingPathComponent("failover.json").path))
        #expect(FileManager.default.fileExists(atPath: directory.appendingPathComponent("failover.svg").path))
        print("slb-bench failover smoke:\n" + FailoverScenario.table(document))
    }
}
