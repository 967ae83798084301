import Dataplane
import Foundation
import SLBWire
import Testing
#if canImport(Glibc)
import Glibc
#endif
@testable import Lab

/// Builds a real lab (root, `ip netns`). Skipped, with this reason, where that is impossible.
@Suite("Lab in network namespaces (root)", .serialized,
       .enabled(if: NetworkNamespace.isAvailable, "needs root and iproute2 `ip netns`: lab integration tests skipped"))
struct LabIntegrationTests {
    @Test("lab up with 3 gateways: client reaches every gateway, gateways route back, down leaves nothing")
    func upPingDown() throws {
        let id = try #require(LabID("it\(UInt16.random(in: 0...9999))"))
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("vslb-it-\(id)").path
        let controller = LabController(store: LabStateStore(directory: directory))
        let plan = try LabPlan(id: id, gatewayCount: 3)
        defer {
            // Teardown even when an expectation above failed or threw.
            do { try controller.down(id) } catch { Issue.record("lab down failed: \(error)") }
            try? FileManager.default.removeItem(atPath: directory)
            let left = (try? controller.namespaces(withPrefix: id.namespacePrefix)) ?? ["?"]
            #expect(left.isEmpty, "namespaces left after down: \(left)")
        }
        try controller.up(plan, owner: ProcessIdentity.current, handOver: true)
        #expect(try controller.namespaces(withPrefix: id.namespacePrefix).sorted() == plan.namespaces.sorted())

        // Client host → every gateway address, through the slb's kernel forwarding.
        let client = try NetworkNamespace.run(plan.clientNamespace) { try ICMPEcho(identifier: 0x5101) }
        for n in plan.gatewayNumbers {
            let gateway = try #require(plan.gatewayAddress(n))
            let rtt = try client.ping(gateway, timeout: .seconds(2))
            #expect(rtt != nil, "no echo reply from gateway \(gateway)")
        }

        // Gateway → client sources on both client ranges (local routes on the client's lo),
        // back through the slb.
        let runner = SystemCommandRunner()
        for n in plan.gatewayNumbers {
            let route = try runner.run(["ip", "-n", plan.gatewayNamespace(n), "route", "get", "192.0.2.200"])
            #expect(route.output.contains("via 198.51.100.1 dev eth0"), "\(route.output)")
            let gateway = try NetworkNamespace.run(plan.gatewayNamespace(n)) { try ICMPEcho(identifier: 0x5200 + UInt16(n)) }
            for target in [IPv4Address(192, 0, 2, 200), IPv4Address(198, 51, 100, 200)] {
                #expect(try gateway.ping(target, timeout: .seconds(2)) != nil, "gw\(n) → \(target)")
            }
        }
    }

    @Test("no gateway answers ARP for the VIP (arp_ignore=1)")
    func vipARPSuppressed() throws {
        let id = try #require(LabID("ia\(UInt16.random(in: 0...9999))"))
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("vslb-it-\(id)").path
        let controller = LabController(store: LabStateStore(directory: directory))
        let plan = try LabPlan(id: id, gatewayCount: 2)
        defer {
            do { try controller.down(id) } catch { Issue.record("lab down failed: \(error)") }
            try? FileManager.default.removeItem(atPath: directory)
        }
        try controller.up(plan, owner: ProcessIdentity.current, handOver: true)

        // Make the slb ARP for the VIP on the gateway segment: nobody may answer.
        let runner = SystemCommandRunner()
        let added = try runner.run(["ip", "-n", plan.slbNamespace, "route", "add", "203.0.113.100/32", "dev", "brg"])
        #expect(added.succeeded, "\(added.errorOutput)")
        let slb = try NetworkNamespace.run(plan.slbNamespace) { try ICMPEcho(identifier: 0x5301) }
        #expect(try slb.ping(LabAddressPlan.vip, timeout: .milliseconds(1500)) == nil)
        let neighbours = try runner.run(["ip", "-n", plan.slbNamespace, "neigh", "show", "203.0.113.100"])
        #expect(!neighbours.output.contains("lladdr"), "a gateway answered ARP for the VIP: \(neighbours.output)")
        // The gateways themselves are reachable on the same segment.
        #expect(try slb.ping(try #require(plan.gatewayAddress(1)), timeout: .seconds(2)) != nil)
    }
}

/// The built `slb` (swift build --build-tests builds it too).
enum SLBExecutable {
    static let path: String? = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        let candidate = url.appendingPathComponent(".build/debug/slb").path
        return FileManager.default.isExecutableFile(atPath: candidate) ? candidate : nil
    }()
}

@Suite("slb lab up|down as a command (root)", .serialized,
       .enabled(if: NetworkNamespace.isAvailable && SLBExecutable.path != nil,
                "needs root, `ip netns` and a built .build/debug/slb: lab command tests skipped"))
struct LabCommandTests {
    @Test("a killed `slb lab up --for` leaves a stale lab that `slb lab down --stale` removes; a held lab is kept")
    func staleAfterCrash() throws {
        let slb = try #require(SLBExecutable.path)
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("vslb-cmd-\(getpid())").path
        let crashed = try #require(LabID("k\(getpid() % 100000)"))
        let kept = try #require(LabID("h\(getpid() % 100000)"))
        let controller = LabController(store: LabStateStore(directory: directory))
        defer {
            try? controller.down(crashed)
            try? controller.down(kept)
            try? FileManager.default.removeItem(atPath: directory)
        }
        func run(_ arguments: [String]) throws -> Int32 {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: slb)
            process.arguments = arguments + ["--state-dir", directory]
            process.standardOutput = FileHandle.nullDevice
            try process.run()
            process.waitUntilExit()
            return process.terminationStatus
        }

        #expect(try run(["lab", "up", "--id", kept.rawValue, "--gateways", "1"]) == 0)
        let holder = Process()
        holder.executableURL = URL(fileURLWithPath: slb)
        holder.arguments = ["lab", "up", "--id", crashed.rawValue, "--gateways", "1", "--for", "60", "--state-dir", directory]
        holder.standardOutput = FileHandle.nullDevice
        try holder.run()
        defer { if holder.isRunning { kill(holder.processIdentifier, SIGKILL) } ; holder.waitUntilExit() }
        // Wait until the held lab is complete, then kill its owner the hard way (a crash).
        let store = LabStateStore(directory: directory)
        let deadline = Date().addingTimeInterval(10)
        while (try? store.load(crashed))??.complete != true && Date() < deadline { usleep(50_000) }
        #expect(try store.load(crashed)?.owner?.pid == holder.processIdentifier)
        kill(holder.processIdentifier, SIGKILL)
        holder.waitUntilExit()
        #expect(try store.load(crashed)?.isStale == true)
        #expect(try controller.namespaces(withPrefix: crashed.namespacePrefix).count == 3)

        #expect(try run(["lab", "down", "--id", "nosuch", "--stale"]) == 0)
        #expect(try controller.namespaces(withPrefix: crashed.namespacePrefix).isEmpty)
        #expect(try store.load(crashed) == nil)
        #expect(try controller.namespaces(withPrefix: kept.namespacePrefix).count == 3, "a handed-over lab is not stale")
        #expect(try run(["lab", "down", "--id", kept.rawValue]) == 0)
        #expect(try controller.namespaces(withPrefix: kept.namespacePrefix).isEmpty)
    }
}
