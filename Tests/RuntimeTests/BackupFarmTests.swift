import Dataplane
import Foundation
import Lab
import Runtime
import SLBCore
import SLBShow
import SLBWire
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// `serverfarm PRIMARY backup BACKUP` (IOS: the backup farm takes new connections while no
/// real of the primary is available): the primary's gateways stop answering probes (nft drops
/// ICMP echo inside their namespaces), new clients land on the backup's gateway, and once the
/// primary answers again new clients go back to it while existing ones stay where they are.
@Suite("backup serverfarm takes over (root)", .serialized,
       .enabled(if: NetworkNamespace.isAvailable && SLBBinary.path != nil,
                "needs root, `ip netns` and a built .build/debug/slb: backup farm lab tests skipped"))
struct BackupFarmTests {
    static let config = """
        ip slb probe GW-PING ping
         interval 1
         faildetect 2
        ip slb serverfarm PRIMARY
         probe GW-PING
         real 198.51.100.11
          inservice
         real 198.51.100.12
          inservice
        ip slb serverfarm BACKUP
         probe GW-PING
         real 198.51.100.13
          inservice
        ip slb vserver VPN-ISAKMP
         virtual 203.0.113.100 udp isakmp
         serverfarm PRIMARY backup BACKUP
         idle 60
         inservice

        """
    static let primary: Set<Int> = [1, 2]
    static let backup = 3

    func reals(_ control: String) throws -> [RealSnapshot] {
        let answer = try ControlRequest.show(["show", "ip", "slb", "reals", "--json"]).send(to: control, timeoutMilliseconds: 5000)
        return try ShowJSON.decode(ShowDocument.self, from: answer.text).reals ?? []
    }

    func connections(_ control: String) throws -> [IPv4Address: IPv4Address] {
        let answer = try ControlRequest.show(["show", "ip", "slb", "conns", "--json"]).send(to: control, timeoutMilliseconds: 5000)
        let rows = try ShowJSON.decode(ShowDocument.self, from: answer.text).connections ?? []
        return Dictionary(rows.map { ($0.client, $0.real) }, uniquingKeysWith: { first, _ in first })
    }

    /// Polls `show ip slb reals --json` until every primary real is in `state` (bounded).
    func waitForPrimary(_ state: RealState, _ control: String, _ lab: RuntimeLab, seconds: Double) throws -> Bool {
        let addresses = Set(Self.primary.compactMap { lab.plan.gatewayAddress($0) })
        let deadline = Date().addingTimeInterval(seconds)
        repeat {
            let primary = try reals(control).filter { $0.farm == "PRIMARY" && addresses.contains($0.address) }
            if primary.count == addresses.count && primary.allSatisfy({ $0.state == state }) { return true }
            usleep(100_000)
        } while Date() < deadline
        return false
    }

    func echoRule(_ lab: RuntimeLab, gateway: Int, drop: Bool) throws {
        let rules = drop
            ? "add table ip backuptest; add chain ip backuptest input { type filter hook input priority 0; policy accept; }; "
                + "add rule ip backuptest input icmp type echo-request drop"
            : "delete table ip backuptest"
        let result = try SystemCommandRunner().run(["ip", "netns", "exec", lab.plan.gatewayNamespace(gateway), "nft", rules])
        #expect(result.succeeded, "\(result.errorOutput)")
    }

    @Test("the primary's reals fail → new clients on the backup farm; the primary returns → new clients on it again, the others stay")
    func backupTakesOver() throws {
        let lab = try RuntimeLab(gateways: 3)
        defer { lab.tearDown() }
        let file = lab.directory.appendingPathComponent("backup.cfg")
        try Self.config.write(to: file, atomically: true, encoding: .utf8)
        let traffic = try PortTraffic(lab: lab, port: 500)
        let control = lab.directory.appendingPathComponent("slb.sock").path
        let slb = try SLBProcess(lab: lab, arguments: [file.path, "--for", "60", "--control", control], logName: "slb.log")
        defer { _ = slb.terminate() }
        var cut: Set<Int> = []
        defer { for n in cut { try? echoRule(lab, gateway: n, drop: false) } }
        try #require(slb.waitFor("slb.run.ready", seconds: 5), "slb run did not start: \(slb.log)")
        usleep(1_300_000)
        let backupAddress = try #require(lab.plan.gatewayAddress(Self.backup))

        // 1. Primary up: every client on a primary gateway, none on the backup.
        let first = Array(UInt8(20)...UInt8(25))
        let onPrimary = try traffic.round(first).mapValues { $0.first ?? 0 }
        try #require(onPrimary.count == first.count, "\(slb.log)")
        #expect(onPrimary.values.allSatisfy { Self.primary.contains($0) }, "\(onPrimary)")

        // 2. The primary's gateways stop answering ping: PROBE_FAILED (faildetect 2 × 1 s).
        for n in Self.primary {
            try echoRule(lab, gateway: n, drop: true)
            cut.insert(n)
        }
        let failed = try waitForPrimary(.probeFailed, control, lab, seconds: 6)
        #expect(failed, "\((try? reals(control)) ?? []) \(slb.log)")
        let second = Array(UInt8(40)...UInt8(45))
        let onBackup = try traffic.round(second).mapValues { $0.first ?? 0 }
        #expect(onBackup.count == second.count, "\(onBackup) \(slb.log)")
        #expect(onBackup.values.allSatisfy { $0 == Self.backup }, "new clients not on the backup farm: \(onBackup)")
        var table = try connections(control)
        for client in onBackup.keys { #expect(table[client] == backupAddress, "\(client): \(String(describing: table[client]))") }
        let backupReal = try reals(control).first { $0.farm == "BACKUP" }
        #expect(backupReal?.connections == second.count, "\(String(describing: backupReal))")

        // 3. The primary answers again: new clients go to it, the backup's clients stay.
        for n in Self.primary {
            try echoRule(lab, gateway: n, drop: false)
            cut.remove(n)
        }
        let recovered = try waitForPrimary(.operational, control, lab, seconds: 6)
        #expect(recovered, "\((try? reals(control)) ?? []) \(slb.log)")
        let third = Array(UInt8(60)...UInt8(65))
        let back = try traffic.round(third).mapValues { $0.first ?? 0 }
        #expect(back.count == third.count, "\(back) \(slb.log)")
        #expect(back.values.allSatisfy { Self.primary.contains($0) }, "new clients not back on the primary: \(back)")
        let stayed = try traffic.round(second).mapValues { $0.first ?? 0 }
        #expect(stayed == onBackup, "the backup's clients moved when the primary returned: \(stayed)")
        table = try connections(control)
        for (client, gateway) in back { #expect(table[client] == lab.plan.gatewayAddress(gateway), "\(client)") }
        for client in onBackup.keys { #expect(table[client] == backupAddress, "\(client)") }
        #expect(slb.terminate() == 0, "\(slb.log)")
    }
}
