import Foundation
import SLBConfig
import Testing
@testable import BenchKit

/// The in-process scenarios at smoke size: the structure of what they write (JSON keys,
/// non-zero counts, sticky consistency), never their speed.
@Suite("slb-bench smoke: in-process scenarios")
struct InProcessSmokeTests {
    static let farmPath: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.appendingPathComponent(FarmLoader.defaultFarm).path
    }()

    static func temporaryOutput(_ name: String) -> BenchOutput {
        BenchOutput(directory: FileManager.default.temporaryDirectory
            .appendingPathComponent("slb-bench-\(name)-\(getpid())-\(UUID().uuidString.prefix(8))"), quiet: true)
    }

    static func jsonObject(_ url: URL) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
    }

    @Test("distribution --smoke: four variants, shares on target with sticky groups, 100 % sticky consistency, JSON + SVG written")
    func distribution() throws {
        let output = InProcessSmokeTests.temporaryOutput("distribution")
        defer { try? FileManager.default.removeItem(at: output.directory) }
        let farm = InProcessSmokeTests.farmPath
        let scenario = try DistributionScenario(parameters: .smoke(farm: farm), configuration: try FarmLoader.load(farm),
                                                output: output, smoke: true)
        let document = try scenario.run()
        #expect(document.variants.map(\.variant) == ["WRR, sticky group", "WRR, per-vserver sticky",
                                                     "WLC, sticky group", "WLC, per-vserver sticky"])
        for variant in document.variants {
            #expect(variant.packets > 0 && variant.forwarded == variant.packets, "\(variant.variant)")
            #expect(variant.reals.count == 3)
            #expect(variant.reals.map(\.clients).reduce(0, +) == document.parameters.clients)
            #expect(variant.newFlowNanoseconds > 0 && variant.establishedNanoseconds > 0)
            #expect(variant.peakConnections > 0 && variant.peakTableBytes > 0 && variant.bytesPerClient > 0)
            if variant.sticky == "group" {
                // The point of the IPsec sticky group: ISAKMP, NAT-T and ESP of a client on one real.
                #expect(variant.stickyConsistency == 1.0, "\(variant.variant)")
                // IOS WRR hands out whole blocks of 3,1,2: the split is exact up to one block.
                #expect(variant.maxDeviation < 0.01, "\(variant.variant): \(variant.reals)")
            }
        }
        let json = try InProcessSmokeTests.jsonObject(output.directory.appendingPathComponent("distribution.json"))
        #expect(Set(json.keys) == ["run", "parameters", "variants"])
        let run = try #require(json["run"] as? [String: Any])
        #expect(run["scenario"] as? String == "distribution" && run["smoke"] as? Bool == true)
        let first = try #require((json["variants"] as? [[String: Any]])?.first)
        for key in ["reals", "maxDeviation", "jainIndex", "stickyConsistency", "newFlowNanoseconds",
                    "establishedNanoseconds", "bytesPerClient"] {
            #expect(first[key] != nil, "missing \(key)")
        }
        let svg = try String(contentsOf: output.directory.appendingPathComponent("distribution.svg"), encoding: .utf8)
        #expect(svg.hasPrefix("<svg") && svg.contains("198.51.100.12"))
    }

    @Test("scale --smoke: every client forwarded, two connections and one sticky object each, expiry removes exactly the silent clients")
    func scale() throws {
        let output = InProcessSmokeTests.temporaryOutput("scale")
        defer { try? FileManager.default.removeItem(at: output.directory) }
        let farm = InProcessSmokeTests.farmPath
        let parameters = ScaleScenario.Parameters.smoke(farm: farm)
        let document = try ScaleScenario(parameters: parameters, configuration: try FarmLoader.load(farm),
                                         output: output, smoke: true).run()
        let r = document.result
        #expect(r.forwardedAll)
        #expect(r.connections == 2 * parameters.clients && r.stickyObjects == parameters.clients)
        #expect(r.purgedConnections == 2 * parameters.purgeClients)
        #expect(r.connectionsAfterPurge == 2 * (parameters.clients - parameters.purgeClients))
        #expect(r.clientsPerSecond > 0 && r.lookupsPerSecond > 0 && r.tableBytes > 0 && r.bytesPerConnection > 0)
        let reload = try #require(r.reload)
        #expect(reload.connections == 2 * parameters.reloadClients && reload.keptAll)
        #expect(reload.remapCarry == "remapped" && reload.reimportCarry == "reimported")
        let json = try InProcessSmokeTests.jsonObject(output.directory.appendingPathComponent("scale.json"))
        #expect(Set(json.keys) == ["run", "parameters", "result"])
        #expect(FileManager.default.fileExists(atPath: output.directory.appendingPathComponent("scale.svg").path))
    }

    @Test("a farm file that does not parse is an error naming the file")
    func badFarm() throws {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("bad-\(getpid()).cfg")
        try "ip slb serverfarm\n".write(to: url, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: url) }
        #expect(throws: BenchError.self) { try FarmLoader.load(url.path) }
    }

    @Test("every scenario is available (failover: FailoverScenario, smoke-tested in FailoverTests)")
    func failover() {
        #expect(ScenarioName.failover.isAvailable)
        #expect(ScenarioName.allCases.filter(\.isAvailable).map(\.rawValue) == ["distribution", "scale", "forwarding", "micro", "failover"])
    }
}
