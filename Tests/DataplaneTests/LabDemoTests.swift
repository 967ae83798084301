import Dataplane
import Foundation
import Lab
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// `slb lab demo` is what a newcomer runs first (`make demo`): it must bring up real tunnels
/// through the SLB to the lab's `slb gateway`s, show the IOS tables with a row per client,
/// end by itself and leave no namespace behind.
@Suite("slb lab demo (root)", .serialized,
       .enabled(if: NetworkNamespace.isAvailable && SLBBinary.path != nil,
                "needs root, `ip netns` and a built .build/debug/slb"))
struct LabDemoTests {
    static let clients = 4
    static let clientAddresses = (10..<(10 + clients)).map { "192.0.2.\($0)" }
    /// The demo runs the second half of its clients with `slb client --natt`.
    static let nattAddresses = Set(clientAddresses.suffix(clients / 2))

    @Test("a 5-second demo: 4 real tunnels (2 with --natt) up and pinging, conns/reals/vservers/sticky and a gateway's IKEv2 SAs shown, each client's ISAKMP and ESP (or, NAT-T clients, NAT-T) rows on one real, the lab is gone after")
    func demo() throws {
        let id = "dm\(getpid() % 10000)"
        let (status, text) = try runDemo(id: id, arguments: ["--for", "5", "--every", "2", "--clients", "\(Self.clients)"])
        #expect(status == 0, "\(text)")
        for command in ["slb# slb show ip slb conns --control", "slb# slb show ip slb reals --control",
                        "slb# slb show ip slb vservers --control", "slb# slb show ip slb sticky --control",
                        "slb# slb gateway show crypto ikev2 sa --control"] {
            #expect(text.contains(command), "\(command) missing: \(text)")
        }
        #expect(text.contains("tunnels: \(Self.clients)/\(Self.clients) up at the end (\(Self.nattAddresses.count) ESP-in-UDP/4500)"), "\(text)")
        #expect(text.contains("sticky: \(Self.clients)/\(Self.clients) clients with all their connections on one real"), "\(text)")
        let pings = try #require(text.firstMatch(of: /pings to 203\.0\.113\.1: (\d+)\/(\d+) answered/), "\(text)")
        #expect(Int(pings.1) == Int(pings.2) && (Int(pings.1) ?? 0) >= Self.clients, "\(pings.0)")

        // The last `show ip slb conns`: each client has an ISAKMP and an ESP row (a NAT-T client
        // an ISAKMP and a NAT-T row: its ESP rides in UDP 4500), all on one real.
        let lastConns = try #require(text.components(separatedBy: "slb# slb show ip slb conns").last)
        let rows = lastConns.components(separatedBy: "slb# ").first?.split(separator: "\n")
            .map { $0.split(separator: " ").map(String.init) }.filter { $0.first?.hasPrefix("IPSEC-") == true && $0.count >= 4 } ?? []
        for client in Self.clientAddresses {
            let mine = rows.filter { $0[2].hasPrefix(client + ":") }
            let expected: Set = Self.nattAddresses.contains(client) ? ["IPSEC-ISAKMP", "IPSEC-NATT"] : ["IPSEC-ISAKMP", "IPSEC-ESP"]
            #expect(Set(mine.map { $0[0] }) == expected, "\(client): \(mine)")
            #expect(Set(mine.map { $0[3] }).count == 1, "\(client) split over reals: \(mine)")
        }
        // The gateways hold the tunnels between them: "gwN ...: K IKE SAs".
        let perGateway = text.matches(of: /gw\d 198\.51\.100\.\d+: (\d+) IKE SAs, (\d+) IPsec SAs/)
        #expect(perGateway.count == 2, "\(text)")
        #expect(perGateway.compactMap { Int($0.1) }.reduce(0, +) == Self.clients, "\(perGateway.map(\.0))")
        #expect(text.contains("lab \(id) down"))
        try expectNoNamespace(id)
    }

    @Test("SIGTERM in the middle: the demo still reports, stops its children and removes the lab")
    func terminated() throws {
        let id = "dt\(getpid() % 10000)"
        let (status, text) = try runDemo(id: id, arguments: ["--for", "60", "--clients", "2"], terminateAfter: 8)
        #expect(status == 130, "\(text)")
        #expect(text.contains("stopping early (signal)") && text.contains("=== summary ==="), "\(text)")
        #expect(text.contains("lab \(id) down"), "\(text)")
        try expectNoNamespace(id)
    }

    private func runDemo(id: String, arguments: [String], terminateAfter: Double? = nil) throws -> (Int32, String) {
        var root = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { root.deleteLastPathComponent() }
        let state = FileManager.default.temporaryDirectory.appendingPathComponent("vslb-demo-test-\(id)").path
        defer { try? FileManager.default.removeItem(atPath: state) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try #require(SLBBinary.path))
        process.arguments = ["lab", "demo"] + arguments + ["--id", id, "--state-dir", state]
        process.currentDirectoryURL = root
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        if let terminateAfter {
            let pid = process.processIdentifier
            DispatchQueue.global().asyncAfter(deadline: .now() + terminateAfter) { kill(pid, SIGTERM) }
        }
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    private func expectNoNamespace(_ id: String) throws {
        let namespaces = try SystemCommandRunner().run(["ip", "netns", "list"]).output
        #expect(!namespaces.contains("vslb-\(id)-"), "lab namespaces left: \(namespaces)")
    }
}
