import Dataplane
import Foundation
import Lab
import SLBWire
import Testing
@testable import Traffic
#if canImport(Glibc)
import Glibc
#endif

/// Moves a socket-owning object out of the namespace thread that created it.
struct Handoff<T>: @unchecked Sendable { let value: T }

/// A receiving socket in the lab's slb namespace bound to 192.0.2.1 (an RFC 5737 address the
/// lab owns): UDP on a port, or raw IP protocol 50. Records each datagram's source and first word.
final class Listener {
    let descriptor: Int32
    init(udpPort: UInt16?) throws {
        descriptor = udpPort == nil ? socket(AF_INET, Int32(SOCK_RAW.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 50)
                                    : socket(AF_INET, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
        guard descriptor >= 0 else { throw SystemError("socket") }
        var size: Int32 = 8 << 20
        _ = setsockopt(descriptor, SOL_SOCKET, SO_RCVBUFFORCE, &size, socklen_t(MemoryLayout<Int32>.size))
        if let udpPort {
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = udpPort.bigEndian
            address.sin_addr.s_addr = LabAddressPlan.slbPublic.value.bigEndian
            let status = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            guard status == 0 else { throw SystemError("bind") }
        }
    }
    deinit { close(descriptor) }

    /// (source, first four payload bytes as a word); raw sockets see the IP header first.
    func drain(raw: Bool) -> [(IPv4Address, UInt32)] {
        var out: [(IPv4Address, UInt32)] = []
        var buffer = [UInt8](repeating: 0, count: 2048)
        while true {
            var from = sockaddr_in()
            var length = socklen_t(MemoryLayout<sockaddr_in>.size)
            let count = withUnsafeMutablePointer(to: &from) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { recvfrom(descriptor, &buffer, buffer.count, 0, $0, &length) }
            }
            guard count > 0 else { return out }
            let offset = raw ? Int(buffer[0] & 0x0f) * 4 : 0
            guard count >= offset + 4 else { continue }
            let word = UInt32(buffer[offset]) << 24 | UInt32(buffer[offset + 1]) << 16 | UInt32(buffer[offset + 2]) << 8 | UInt32(buffer[offset + 3])
            out.append((IPv4Address(UInt32(bigEndian: from.sin_addr.s_addr)), word))
        }
    }
}

@Suite("slb traffic in the lab (root)", .serialized,
       .enabled(if: NetworkNamespace.isAvailable, "needs root and `ip netns`: traffic lab tests skipped"))
struct TrafficLabTests {
    /// A lab of its own (vslb-t<pid>-*), torn down by the caller's defer.
    static func makeLab() throws -> (LabController, LabPlan) {
        let id = try #require(LabID("t\(getpid() % 100_000)"))
        let directory = stateDirectory(id)
        let controller = LabController(store: LabStateStore(directory: directory))
        let plan = try LabPlan(id: id, gatewayCount: 1)
        _ = try controller.up(plan, owner: ProcessIdentity.current, handOver: true)
        return (controller, plan)
    }

    static func stateDirectory(_ id: LabID) -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("vslb-traffic-\(id)").path
    }

    /// Lab down, and its state directory gone.
    static func removeLab(_ controller: LabController, _ plan: LabPlan) {
        do { try controller.down(plan.id) } catch { Issue.record("lab down: \(error)") }
        try? FileManager.default.removeItem(atPath: stateDirectory(plan.id))
    }

    @Test("paced: every packet arrives from its client's address, per kind exactly as reported, with valid UDP checksums")
    func paced() throws {
        let (controller, plan) = try TrafficLabTests.makeLab()
        defer { TrafficLabTests.removeLab(controller, plan) }
        let listeners = try NetworkNamespace.run(plan.slbNamespace) {
            Handoff(value: (try Listener(udpPort: 500), try Listener(udpPort: 4500), try Listener(udpPort: nil)))
        }.value
        let traffic = try TrafficPlan(clients: 20, rate: 400, duration: 1, vip: LabAddressPlan.slbPublic,
                                      nattShare: 0.5, esp: true, seed: 3)
        let generator = try NetworkNamespace.run(plan.clientNamespace) { try TrafficGenerator(plan: traffic) }
        let report = generator.run()
        #expect(report.elapsedSeconds < 1.5)
        #expect((300...401).contains(report.totalSent), "\(report.text)")
        #expect(report.totalNotSent == 0)
        usleep(200_000)

        let isakmp = listeners.0.drain(raw: false)
        let natt = listeners.1.drain(raw: false)
        let esp = listeners.2.drain(raw: true)
        #expect(isakmp.count == report.sent(.isakmp))
        #expect(natt.filter { $0.1 == 0 }.count == report.sent(.nattIKE))
        #expect(natt.filter { $0.1 != 0 }.count == report.sent(.nattESP))
        #expect(esp.count == report.sent(.esp))
        #expect(report.sent(.isakmp) + report.sent(.nattIKE) + report.sent(.nattESP) >= report.totalSent / 2)
        let clients = Set((0..<20).compactMap(TrafficPlan.clientAddress))
        let sources = Set((isakmp + natt + esp).map(\.0))
        #expect(sources == clients)
        for (source, _) in natt { #expect(traffic.isBehindNAT((0..<20).first { TrafficPlan.clientAddress($0) == source } ?? -1)) }

        let snmp = try SystemCommandRunner().run(["ip", "netns", "exec", plan.slbNamespace, "cat", "/proc/net/snmp"]).output
        let udp = snmp.split(separator: "\n").filter { $0.hasPrefix("Udp:") }.map { $0.split(separator: " ") }
        if udp.count == 2, let column = udp[0].firstIndex(of: "InCsumErrors") {
            #expect(udp[1][column] == "0", "UDP checksum errors at the receiver")
        }
    }

    @Test("fast: sendmmsg batches of 64, bounded by --count; sent + not sent adds up")
    func fast() throws {
        let (controller, plan) = try TrafficLabTests.makeLab()
        defer { TrafficLabTests.removeLab(controller, plan) }
        let listener = try NetworkNamespace.run(plan.slbNamespace) { Handoff(value: try Listener(udpPort: 500)) }.value
        let traffic = try TrafficPlan(clients: 4, rate: 0, duration: 5, vip: LabAddressPlan.slbPublic, mode: .fast,
                                      only: .isakmp, maximumPackets: 640)
        let generator = try NetworkNamespace.run(plan.clientNamespace) { try TrafficGenerator(plan: traffic) }
        let report = generator.run()
        #expect(report.totalSent + report.totalNotSent == 640)
        #expect(report.totalSent > 0)
        // The sending thread's own accounting (slb-bench's "sender waited"); the kernel updates
        // a running thread's sum at scheduler ticks, so a run this short may read 0.
        #expect((report.threadRunSeconds ?? -1) >= 0 && (report.threadRunQueueSeconds ?? -1) >= 0)
        usleep(200_000)
        let received = listener.drain(raw: false)
        #expect(received.count > 0 && received.count <= report.totalSent)
        #expect(Set(received.map(\.0)).count == 4)
    }
}
