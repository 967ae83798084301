import ArgumentParser
import Foundation
import Gateway
import SLBWire

/// `slb client --hold SECONDS [--ike v1]`: held tunnels with DPD and re-initiation (`DPDClientRunner`).
extension ClientCommand {
    struct HeldReport: Codable {
        var tunnels: Int
        var upAtEnd: Int
        /// dpd delay + the liveness request's retransmission waits, in seconds.
        var dpdDetectionSeconds: Double
        var results: [DPDClientResult]
    }

    func runHeld(_ base: ClientConfiguration, ikev1: IKEv1ClientOptions?, hold: UInt64) throws {
        guard (1...3600).contains(hold), (1...3600).contains(dpd), (10...60_000).contains(pingInterval) else {
            throw ValidationError("--hold 1…3600 s, --dpd 1…3600 s, --ping-interval 10…60000 ms")
        }
        var config = DPDClientConfiguration(base: base, hold: .seconds(hold), dpdDelay: .seconds(dpd))
        config.pingInterval = .milliseconds(pingInterval)
        guard natKeepalive <= 3600 else { throw ValidationError("--natt-keepalive 0…3600 s") }
        config.natKeepalive = natKeepalive == 0 ? nil : .seconds(natKeepalive)
        config.ikev1 = ikev1
        let runner: DPDClientRunner
        do {
            runner = try DPDClientRunner(configuration: config)
        } catch {
            FileHandle.standardError.write(Data("slb client: \(error)\n".utf8))
            throw ExitCode(1)
        }
        let results = runner.run()
        let report = HeldReport(tunnels: results.count, upAtEnd: results.filter(\.upAtEnd).count,
                                dpdDetectionSeconds: Double(config.dpdDetection.nanoseconds) / 1e9, results: results)
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            print(String(decoding: try encoder.encode(report), as: UTF8.self))
        } else {
            for r in results {
                let gap = r.longestGap.map { String(format: "%.2f s", $0) } ?? "-"
                print("\(r.source.padding(toLength: 16, withPad: " ", startingAt: 0))\(r.upAtEnd ? "up   " : "DOWN ")"
                      + "\(r.udpEncapsulation == true ? "esp-udp  " : "esp-raw  ")ike SAs \(r.establishments)  dead peers \(r.deadPeers)  ping \(r.pingsAnswered)/\(r.pingsSent)  longest gap \(gap)")
            }
            print("tunnels \(report.tunnels), up at end \(report.upAtEnd), DPD detection \(report.dpdDetectionSeconds) s")
        }
        if report.upAtEnd != report.tunnels { throw ExitCode(1) }
    }
}
