import Dataplane
import Foundation
import Lab
import SLBWire
import Synchronization
import Testing
#if canImport(Glibc)
import Glibc
#endif

// The minimum of Tests/DataplaneTests' lab fixture, copied (test targets cannot share files):
// a lab per test with a unique id prefix `o<pid>x<n>`, torn down in a `defer`.

struct RuntimeLab {
    static let serial = Atomic<Int>(0)
    let plan: LabPlan
    let controller: LabController
    let directory: URL

    init(gateways: Int) throws {
        let serial = RuntimeLab.serial.add(1, ordering: .relaxed).newValue % 100
        let id = try #require(LabID("o\(getpid() % 10000)x\(serial)"))
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("vslb-ops-\(id)")
        try? FileManager.default.removeItem(at: directory)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        controller = LabController(store: LabStateStore(directory: directory.appendingPathComponent("lab").path))
        plan = try LabPlan(id: id, gatewayCount: gateways)
        try controller.up(plan, owner: ProcessIdentity.current, handOver: true)
    }

    func tearDown() {
        do { try controller.down(plan.id) } catch { Issue.record("lab down failed: \(error)") }
        try? FileManager.default.removeItem(at: directory)
    }

    func inside<T>(_ namespace: String, _ make: @escaping @Sendable () throws -> T) throws -> T {
        try NetworkNamespace.run(namespace) { Handoff(value: try make()) }.value
    }
}

/// Records the source of every datagram a gateway gets on VIP:500.
final class GatewaySink {
    let descriptor: Int32

    init() throws {
        descriptor = socket(AF_INET, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
        guard descriptor >= 0 else { throw SystemError("socket") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(500).bigEndian
        address.sin_addr.s_addr = LabAddressPlan.vip.value.bigEndian
        let status = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard status == 0 else { throw SystemError("bind(udp 500)") }
    }

    deinit { close(descriptor) }

    func drain() -> [IPv4Address] {
        var sources: [IPv4Address] = []
        var buffer = [UInt8](repeating: 0, count: 2048)
        while true {
            var from = sockaddr_in()
            var length = socklen_t(MemoryLayout<sockaddr_in>.size)
            let count = withUnsafeMutablePointer(to: &from) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { recvfrom(descriptor, &buffer, buffer.count, 0, $0, &length) }
            }
            guard count > 0 else { return sources }
            sources.append(IPv4Address(UInt32(bigEndian: from.sin_addr.s_addr)))
        }
    }
}

/// An IKE client: UDP from CLIENT:500 to VIP:500.
final class IKEClient: @unchecked Sendable {
    let descriptor: Int32
    let source: IPv4Address

    init(source: IPv4Address) throws {
        self.source = source
        descriptor = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        guard descriptor >= 0 else { throw SystemError("socket") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(500).bigEndian
        address.sin_addr.s_addr = source.value.bigEndian
        let status = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard status == 0 else { throw SystemError("bind(\(source))") }
    }

    deinit { close(descriptor) }

    func send() {
        let data = Array("IKE from \(source)".utf8)
        var to = sockaddr_in()
        to.sin_family = sa_family_t(AF_INET)
        to.sin_port = UInt16(500).bigEndian
        to.sin_addr.s_addr = LabAddressPlan.vip.value.bigEndian
        _ = withUnsafePointer(to: &to) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { sendto(descriptor, data, data.count, 0, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
    }
}

/// `slb run` in the lab's SLB namespace, its standard error in a file.
final class SLBProcess {
    let process = Process()
    let logFile: URL

    init(lab: RuntimeLab, arguments: [String], logName: String) throws {
        logFile = lab.directory.appendingPathComponent(logName)
        _ = FileManager.default.createFile(atPath: logFile.path, contents: nil)
        process.executableURL = URL(fileURLWithPath: "/usr/sbin/ip")
        process.arguments = ["netns", "exec", lab.plan.slbNamespace, try #require(SLBBinary.path), "run"] + arguments
        process.standardError = try FileHandle(forWritingTo: logFile)
        process.standardOutput = FileHandle.nullDevice
        try process.run()
    }

    var log: String { (try? String(contentsOf: logFile, encoding: .utf8)) ?? "" }

    func waitFor(_ text: String, seconds: Double) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if log.contains(text) { return true }
            usleep(50_000)
        }
        return log.contains(text)
    }

    /// SIGTERM to the process this test started; bounded wait.
    func terminate() -> Int32? {
        guard process.isRunning else { return process.terminationStatus }
        process.terminate()
        let deadline = Date().addingTimeInterval(10)
        while process.isRunning && Date() < deadline { usleep(20_000) }
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            return nil
        }
        return process.terminationStatus
    }

    deinit { if process.isRunning { _ = terminate() } }
}
