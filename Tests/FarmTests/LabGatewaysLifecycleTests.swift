#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Lab
import Testing

/// `slb lab up` starts one `slb gateway` per gateway namespace and records it; `slb lab down`
/// (and `down --stale`) end them by PID and remove their files.
extension FarmNamespaceTests {
    @Suite struct LabGatewaysLifecycleTests {
        @Test func labUpStartsAGatewayPerNamespaceAndDownEndsThem() throws {
            let lab = try FarmLab()
            defer { lab.tearDown() }
            let state = try #require(lab.state)
            #expect(state.processes.count == 3, "\(lab.upOutput)")
            #expect(state.processes.allSatisfy { $0.isAlive })
            for (n, process) in zip(lab.plan.gatewayNumbers, state.processes) {
                // Each recorded PID is the gateway itself (ip netns exec execs), in its namespace.
                let commandLine = (try? String(contentsOfFile: "/proc/\(process.pid)/cmdline", encoding: .utf8)) ?? ""
                #expect(commandLine.split(separator: "\0").contains("gateway"), "pid \(process.pid): \(commandLine)")
                let netns = FarmLab.shell(["ip", "netns", "identify", "\(process.pid)"]).stdout
                #expect(netns.trimmingCharacters(in: .whitespacesAndNewlines) == lab.plan.gatewayNamespace(n))
                let snapshot = try lab.gatewaySnapshot(n)
                #expect(snapshot.virtualIP == "203.0.113.100" && snapshot.ikeSAs.isEmpty)
                let counters = try LabGateways(controller: lab.controller).espCounters(namespace: lab.plan.gatewayNamespace(n))
                #expect(counters.input == 0 && counters.output == 0, "no ESP yet")
            }
            // Root-only secrets: the gateway refuses anything else, and so should the lab.
            for path in [lab.gateways.pskPath, lab.gateways.cookieSecretPath] {
                var info = stat()
                #expect(stat(path, &info) == 0)
                #expect(info.st_uid == 0 && info.st_mode & 0o777 == 0o600, "\(path) mode \(String(info.st_mode & 0o777, radix: 8))")
            }
            var directoryInfo = stat()
            #expect(stat(lab.gateways.directory, &directoryInfo) == 0 && directoryInfo.st_mode & 0o777 == 0o700)
            #expect(try lab.psk().count == 32)

            let down = FarmLab.shell([try #require(FarmLab.slbPath), "lab", "down", "--id", lab.id.rawValue,
                                      "--state-dir", lab.stateDirectory])
            #expect(down.status == 0, "\(down.stderr)")
            #expect(state.processes.allSatisfy { !$0.isAlive }, "gateways still running after lab down")
            #expect(!FileManager.default.fileExists(atPath: lab.gateways.directory))
        }

        @Test func noGatewaysRunStartsNone() throws {
            let lab = try FarmLab(extra: ["--no-gateways-run"])
            defer { lab.tearDown() }
            #expect(try #require(lab.state).processes.isEmpty)
            #expect(!FileManager.default.fileExists(atPath: lab.gateways.pskPath))
        }

        /// An `up --for` whose process is killed leaves a stale lab: `down --stale` ends its
        /// gateways by their recorded PIDs.
        @Test func staleLabGatewaysAreEndedByDownStale() throws {
            let lab = try FarmLab.heldForAWhile()
            defer { lab.tearDown() }
            let processes = try #require(lab.state).processes
            #expect(processes.count == 3)
            let down = FarmLab.shell([try #require(FarmLab.slbPath), "lab", "down", "--id", "none", "--stale",
                                      "--state-dir", lab.stateDirectory])
            #expect(down.status == 0, "\(down.stdout) \(down.stderr)")
            #expect(down.stdout.contains("stale labs removed: \(lab.id)"), "\(down.stdout)")
            #expect(processes.allSatisfy { !$0.isAlive })
        }
    }
}

extension FarmLab {
    /// `slb lab up --for 5m` in the background, killed (SIGKILL, by PID) once its gateways are
    /// up: the lab is then stale.
    static func heldForAWhile() throws -> FarmLab {
        let lab = try FarmLab(build: false)
        let holder = try Daemon([try #require(slbPath), "lab", "up", "--id", lab.id.rawValue, "--state-dir", lab.stateDirectory,
                                 "--for", "5m"], log: lab.stateDirectory + ".hold.log")
        defer { try? FileManager.default.removeItem(atPath: holder.logPath) }
        // Its output is block-buffered in a file: watch the lab record instead.
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline && holder.process.isRunning && (lab.state?.processes.count ?? 0) < 3 { usleep(50_000) }
        usleep(500_000)  // the gateways' readiness wait after the last PID was recorded
        guard holder.process.isRunning, lab.state?.processes.count == 3 else {
            holder.stop()
            lab.tearDown()
            throw FarmError("slb lab up --for did not come up: \(holder.log)")
        }
        kill(holder.process.processIdentifier, SIGKILL)
        holder.process.waitUntilExit()
        return lab
    }
}
