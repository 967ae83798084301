import Dataplane
import Foundation
import Testing
@testable import BenchKit

/// The built `slb` next to this package (swift build --build-tests builds it).
enum BuiltSLB {
    static let path: String? = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        let candidate = url.appendingPathComponent(".build/debug/slb").path
        return FileManager.default.isExecutableFile(atPath: candidate) ? candidate : nil
    }()
}

/// The forwarding scenario at smoke size in a lab of its own (namespace prefix vslb-b<pid>-,
/// removed by the scenario's own defer even when a measurement throws). Bounded: 1 run of
/// 1 s per variant and packet kind, each `slb run` with `--for`, each sender with `--duration`.
@Suite("slb-bench smoke: forwarding in the lab (root)", .serialized,
       .enabled(if: NetworkNamespace.isAvailable && BuiltSLB.path != nil,
                "needs root, `ip netns`, nft and a built .build/debug/slb: forwarding smoke skipped"))
struct ForwardingSmokeTests {
    @Test("forwarding --smoke: slb run, nft-dnat and nft-dsr each deliver UDP/500 and ESP to all three gateways; JSON has every key; the lab is gone afterwards")
    func forwarding() throws {
        let output = InProcessSmokeTests.temporaryOutput("forwarding")
        defer { try? FileManager.default.removeItem(at: output.directory) }
        let farm = InProcessSmokeTests.farmPath
        let scenario = try ForwardingScenario(parameters: .smoke(farm: farm),
                                              farmText: try String(contentsOfFile: farm, encoding: .utf8),
                                              slbPath: try #require(BuiltSLB.path), output: output, smoke: true)
        let document = try scenario.run()
        #expect(document.measurements.count == 6)
        for m in document.measurements {
            #expect(m.sent > 0, "\(m.variant) \(m.kind): nothing sent")
            #expect(m.delivered > 0 && m.delivered <= m.sent + m.sent / 100, "\(m.variant) \(m.kind): \(m.delivered) of \(m.sent)")
            #expect(m.perGateway.count == 3)
            #expect(m.perGateway.allSatisfy { $0 > 0 }, "\(m.variant) \(m.kind): \(m.perGateway)")
            if m.variant == ForwardingScenario.slbVariant {
                #expect(m.forwarderCPUSecondsPerMpkt != nil && m.forwarderReport?.isEmpty == false)
                // Regression: with a client ARP table past 4 KiB the forwarder lost the reals' MACs.
                let counters = m.forwarderReport?.first { $0.hasPrefix("slb.dataplane.counters") } ?? ""
                #expect(counters.contains("no-neighbour 0 "), "\(m.kind): \(counters)")
            }
        }
        #expect(document.summary.count == 6)
        let json = try InProcessSmokeTests.jsonObject(output.directory.appendingPathComponent("forwarding.json"))
        #expect(Set(json.keys) == ["run", "parameters", "measurements", "summary", "notes"])
        let left = (try? FileManager.default.contentsOfDirectory(atPath: NetworkNamespace.directory)) ?? []
        #expect(!left.contains { $0.hasPrefix("vslb-b\(getpid() % 100_000)-") }, "lab namespaces left: \(left)")
    }

    @Test("distribution --live --smoke: 30 slb client tunnels through slb run; every tunnel pings; at the gateways each client's IKE SA and ESP SA sit on one gateway (100 %) and the shares follow 3:1:2; the lab is gone afterwards")
    func live() throws {
        let output = InProcessSmokeTests.temporaryOutput("live")
        defer { try? FileManager.default.removeItem(at: output.directory) }
        let farm = InProcessSmokeTests.farmPath
        let configuration = try FarmLoader.load(farm)
        var scenario = try DistributionScenario(parameters: .smoke(farm: farm), configuration: configuration,
                                                output: output, smoke: true)
        scenario.live = try LiveDistribution(parameters: .smoke, farmText: try String(contentsOfFile: farm, encoding: .utf8),
                                             configuration: configuration, slbPath: try #require(BuiltSLB.path), output: output)
        let live = try #require(try scenario.run().live)
        let clients = LiveDistribution.Parameters.smoke.clients
        #expect(live.established == clients && live.pingOK == clients, "\(live)")
        #expect(live.clientsSeen == clients && live.consistentClients == clients)
        #expect(live.stickyConsistency == 1.0)
        #expect(live.pingsSent == clients * LiveDistribution.Parameters.smoke.pings && live.espDecrypted >= live.pingsSent)
        #expect(live.espDroppedAtGateways == 0, "ESP reached a gateway without its SA or failed to decrypt")
        #expect(live.reals.map(\.clients) == [15, 5, 10], "IOS WRR 3,1,2 over 30 clients: \(live.reals)")
        // Whole milliseconds from the client; a tunnel needs a DH on each end (never 0 in a debug build).
        #expect(live.setupMedianMilliseconds >= 1 && live.setupP95Milliseconds >= live.setupMedianMilliseconds,
                "\(live.setupMedianMilliseconds) \(live.setupP95Milliseconds)")
        let json = try InProcessSmokeTests.jsonObject(output.directory.appendingPathComponent("distribution.json"))
        #expect(Set(json.keys) == ["run", "parameters", "variants", "live"])
        let liveJSON = try #require(json["live"] as? [String: Any])
        for key in ["reals", "maxDeviation", "jainIndex", "stickyConsistency", "consistentClients", "clientsSeen",
                    "setupMedianMilliseconds", "setupP95Milliseconds", "nattTunnels", "espDecrypted", "espDroppedAtGateways"] {
            #expect(liveJSON[key] != nil, "missing live.\(key)")
        }
        let left = (try? FileManager.default.contentsOfDirectory(atPath: NetworkNamespace.directory)) ?? []
        #expect(!left.contains { $0.hasPrefix("vslb-l\(getpid() % 100_000)-") }, "lab namespaces left: \(left)")
    }
}
