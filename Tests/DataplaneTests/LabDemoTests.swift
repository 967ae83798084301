import Dataplane
import Foundation
import Lab
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// `slb lab demo` is what a newcomer runs first: it must end by itself, show the IOS tables
/// with live connections, deliver to the gateways, and leave no namespace behind.
@Suite("slb lab demo (root)", .serialized,
       .enabled(if: NetworkNamespace.isAvailable && SLBBinary.path != nil,
                "needs root, `ip netns` and a built .build/debug/slb"))
struct LabDemoTests {
    @Test("a 3-second demo on the default farm prints live conns/reals/vservers, the gateways receive, the lab is gone after")
    func demo() throws {
        var root = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { root.deleteLastPathComponent() }
        let id = "dm\(getpid() % 10000)"
        let state = FileManager.default.temporaryDirectory.appendingPathComponent("vslb-demo-test-\(id)").path
        defer { try? FileManager.default.removeItem(atPath: state) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try #require(SLBBinary.path))
        process.arguments = ["lab", "demo", "--for", "3", "--every", "2", "--clients", "4", "--rate", "40",
                             "--id", id, "--state-dir", state]
        process.currentDirectoryURL = root
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let text = String(decoding: data, as: UTF8.self)
        #expect(process.terminationStatus == 0, "\(text)")
        for table in ["slb# show ip slb conns", "slb# show ip slb reals", "slb# show ip slb vservers"] {
            #expect(text.contains(table), "\(table) missing: \(text)")
        }
        #expect(text.contains("192.0.2.10:500"), "no live connection row: \(text)")
        #expect(text.contains("198.51.100.11         IPSEC            1       OPERATIONAL"), "\(text)")
        // "gateways received gw1 N, gw2 M": both gateways got traffic.
        let received = text.split(separator: "\n").last { $0.contains("gateways received") } ?? ""
        #expect(!received.contains("gw1 0,") && !received.hasSuffix("gw2 0 ==="), "\(received)")
        #expect(text.contains("lab \(id) down"))
        let namespaces = try SystemCommandRunner().run(["ip", "netns", "list"]).output
        #expect(!namespaces.contains("vslb-\(id)-"), "lab namespaces left: \(namespaces)")
    }
}
