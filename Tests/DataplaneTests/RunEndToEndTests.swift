import Dataplane
import Foundation
import Lab
import SLBWire
import Synchronization
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// The built `slb` next to this test bundle's package (swift build --build-tests builds it).
enum SLBBinary {
    static let path: String? = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        let candidate = url.appendingPathComponent(".build/debug/slb").path
        return FileManager.default.isExecutableFile(atPath: candidate) ? candidate : nil
    }()
}

/// A socket in a gateway namespace that records the source of every datagram it gets:
/// UDP bound to VIP:port, or raw IP protocol 50 (ESP; the kernel needs no ESP support for it).
final class GatewayListener {
    let descriptor: Int32
    let raw: Bool

    init(udpPort: UInt16?) throws {
        raw = udpPort == nil
        descriptor = raw ? socket(AF_INET, Int32(SOCK_RAW.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 50)
                         : socket(AF_INET, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
        guard descriptor >= 0 else { throw SystemError("socket") }
        if let udpPort {
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = udpPort.bigEndian
            address.sin_addr.s_addr = LabAddressPlan.vip.value.bigEndian
            let status = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            guard status == 0 else { throw SystemError("bind(udp \(udpPort))") }
        }
    }

    deinit { close(descriptor) }

    /// Sources of everything waiting (non-blocking).
    func drain() -> [IPv4Address] { drainWithSizes().map(\.source) }

    /// Sources and sizes (UDP payload, or IP datagram for raw ESP) of everything waiting.
    func drainWithSizes() -> [(source: IPv4Address, size: Int)] {
        var sources: [(source: IPv4Address, size: Int)] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            var from = sockaddr_in()
            var length = socklen_t(MemoryLayout<sockaddr_in>.size)
            let count = withUnsafeMutablePointer(to: &from) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { recvfrom(descriptor, &buffer, buffer.count, 0, $0, &length) }
            }
            guard count > 0 else { return sources }
            sources.append((IPv4Address(UInt32(bigEndian: from.sin_addr.s_addr)), count))
        }
    }
}

/// A client socket bound to one client address: UDP from port 500, or raw ESP.
final class ClientSender {
    let descriptor: Int32

    init(source: IPv4Address, esp: Bool) throws {
        descriptor = esp ? socket(AF_INET, Int32(SOCK_RAW.rawValue), 50) : socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        guard descriptor >= 0 else { throw SystemError("socket") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = esp ? 0 : UInt16(500).bigEndian
        address.sin_addr.s_addr = source.value.bigEndian
        let status = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard status == 0 else { throw SystemError("bind(\(source))") }
    }

    deinit { close(descriptor) }

    func send(_ data: [UInt8], port: UInt16) throws {
        var to = sockaddr_in()
        to.sin_family = sa_family_t(AF_INET)
        to.sin_port = port.bigEndian
        to.sin_addr.s_addr = LabAddressPlan.vip.value.bigEndian
        let sent = withUnsafePointer(to: &to) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { sendto(descriptor, data, data.count, 0, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard sent == data.count else { throw SystemError("sendto") }
    }
}

@Suite("slb run in the lab (root)", .serialized,
       .enabled(if: NetworkNamespace.isAvailable && SLBBinary.path != nil,
                "needs root, `ip netns` and a built .build/debug/slb: end-to-end run test skipped"))
struct RunEndToEndTests {
    static let farm = """
        ip slb probe GW-PING ping
         interval 1
         faildetect 2
        ip slb serverfarm VPN3
         failaction purge
         probe GW-PING
         real 198.51.100.11
          weight 3
          inservice
         real 198.51.100.12
          weight 1
          inservice
         real 198.51.100.13
          weight 2
          inservice
        ip slb vserver VPN3-ISAKMP
         virtual 203.0.113.100 udp isakmp
         serverfarm VPN3
         sticky 3600 group 7
         inservice
        ip slb vserver VPN3-ESP
         virtual 203.0.113.100 esp
         serverfarm VPN3
         sticky 3600 group 7
         inservice

        """

    @Test("6 clients go 3/1/2 (IOS WRR), ISAKMP and ESP of a client on one gateway, checksums valid; a failed gateway gets no new client; the nft table goes at exit",
          arguments: ["packet-socket", "pcap"])
    func balance(backend: String) throws {
        let lab = try LabFixture(gateways: 3)
        defer { lab.tearDown() }
        let plan = lab.plan
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("vslb-run-\(plan.id)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let config = directory.appendingPathComponent("farm.cfg")
        try RunEndToEndTests.farm.write(to: config, atomically: true, encoding: .utf8)
        let logFile = directory.appendingPathComponent("slb.log")
        _ = FileManager.default.createFile(atPath: logFile.path, contents: nil)

        var udp: [GatewayListener] = []
        var esp: [GatewayListener] = []
        for n in plan.gatewayNumbers {
            udp.append(try lab.inside(plan.gatewayNamespace(n)) { try GatewayListener(udpPort: 500) })
            esp.append(try lab.inside(plan.gatewayNamespace(n)) { try GatewayListener(udpPort: nil) })
        }

        let slb = Process()
        slb.executableURL = URL(fileURLWithPath: "/usr/sbin/ip")
        slb.arguments = ["netns", "exec", plan.slbNamespace, try #require(SLBBinary.path), "run", config.path,
                         "--backend", backend, "--for", "60", "--control", directory.appendingPathComponent("control.sock").path]
        slb.standardError = try FileHandle(forWritingTo: logFile)
        slb.standardOutput = FileHandle.nullDevice
        try slb.run()
        defer {
            if slb.isRunning { slb.terminate() }
            slb.waitUntilExit()
        }
        func log() -> String { (try? String(contentsOf: logFile, encoding: .utf8)) ?? "" }
        func waitFor(_ text: String, seconds: Double) -> Bool {
            let deadline = Date().addingTimeInterval(seconds)
            while Date() < deadline { if log().contains(text) { return true }; usleep(50_000) }
            return log().contains(text)
        }
        try #require(waitFor("slb.run.ready", seconds: 5), "slb run did not start: \(log())")
        let runner = SystemCommandRunner()
        for family in ["ip", "netdev"] {
            #expect(try runner.run(["ip", "netns", "exec", plan.slbNamespace, "nft", "list", "table", family, "vpnslb"]).succeeded,
                    "table \(family) vpnslb while running")
        }
        // The first probes make the kernel resolve the gateways' MACs; the loop reads them each second.
        usleep(1_300_000)

        func sendClients(_ hosts: ClosedRange<UInt8>) throws {
            for host in hosts {
                let source = IPv4Address(192, 0, 2, host)
                let ike = try lab.inside(plan.clientNamespace) { try ClientSender(source: source, esp: false) }
                try ike.send(Array("IKE_SA_INIT from \(source)".utf8), port: 500)
                let espSender = try lab.inside(plan.clientNamespace) { try ClientSender(source: source, esp: true) }
                try espSender.send([0, 0, 0x10, 0x01, 0, 0, 0, 1] + [UInt8](repeating: 0xee, count: 32), port: 0)
            }
        }
        func collect(expecting count: Int) -> (udp: [[IPv4Address]], esp: [[IPv4Address]]) {
            var u = Array(repeating: [IPv4Address](), count: udp.count)
            var e = Array(repeating: [IPv4Address](), count: esp.count)
            let deadline = Date().addingTimeInterval(3)
            while Date() < deadline {
                for i in udp.indices { u[i] += udp[i].drain(); e[i] += esp[i].drain() }
                if u.joined().count >= count && e.joined().count >= count { break }
                usleep(20_000)
            }
            return (u, e)
        }

        try sendClients(20...25)
        let first = collect(expecting: 6)
        #expect(first.udp.map(\.count) == [3, 1, 2], "IOS WRR 3,1,2: \(first.udp) log: \(log())")
        for i in first.udp.indices {
            #expect(Set(first.udp[i]) == Set(first.esp[i]), "gateway \(i + 1): ISAKMP and ESP clients differ")
        }
        for n in plan.gatewayNumbers {
            let snmp = try runner.run(["ip", "netns", "exec", plan.gatewayNamespace(n), "cat", "/proc/net/snmp"]).output
            let udpLines = snmp.split(separator: "\n").filter { $0.hasPrefix("Udp:") }
            if udpLines.count == 2 {
                let names = udpLines[0].split(separator: " "), values = udpLines[1].split(separator: " ")
                if let index = names.firstIndex(of: "InCsumErrors"), index < values.count {
                    #expect(values[index] == "0", "gw\(n) Udp InCsumErrors")
                }
            }
        }

        // An IKE message larger than the MTU (certificates): the client's kernel fragments it;
        // every fragment must reach the client's gateway, which reassembles it.
        let big = [UInt8](repeating: 0x2a, count: 3000)
        let bigSender = try lab.inside(plan.clientNamespace) { try ClientSender(source: IPv4Address(192, 0, 2, 20), esp: false) }
        try bigSender.send(big, port: 500)
        let home = try #require(first.udp.firstIndex { $0.contains(IPv4Address(192, 0, 2, 20)) })
        var reassembled: [(source: IPv4Address, size: Int)] = []
        let bigDeadline = Date().addingTimeInterval(3)
        while reassembled.isEmpty && Date() < bigDeadline {
            reassembled = udp[home].drainWithSizes()
            usleep(20_000)
        }
        #expect(reassembled.map(\.size) == [3000], "fragmented datagram not reassembled at gw\(home + 1): \(log())")

        // Inspectable while running: SIGUSR1 (to the process this test started) prints the IOS tables.
        kill(slb.processIdentifier, SIGUSR1)
        #expect(waitFor("show ip slb vservers", seconds: 3), "no report on SIGUSR1: \(log())")
        // Two connections per client (ISAKMP + ESP), IOS `show ip slb reals` layout.
        for row in ["198.51.100.11         VPN3             3       OPERATIONAL    6",
                    "198.51.100.12         VPN3             1       OPERATIONAL    2",
                    "198.51.100.13         VPN3             2       OPERATIONAL    4"] {
            #expect(log().contains(row), "\(row) missing: \(log())")
        }

        // Gateway 2 goes silent: after faildetect (2) missed probes it is PROBE_FAILED.
        #expect(try runner.run(["ip", "-n", plan.gatewayNamespace(2), "link", "set", "eth0", "down"]).succeeded)
        #expect(waitFor("slb.real.down real=198.51.100.12", seconds: 6), "no slb.real.down: \(log())")
        try sendClients(30...33)
        let second = collect(expecting: 4)
        #expect(second.udp[1].isEmpty, "a failed gateway got new clients")
        #expect(second.udp[0].count + second.udp[2].count == 4)

        slb.terminate()
        slb.waitUntilExit()
        #expect(slb.terminationStatus == 0, "\(log())")
        #expect(log().contains("slb.run.stopped"))
        for family in ["ip", "netdev"] {
            #expect(try !runner.run(["ip", "netns", "exec", plan.slbNamespace, "nft", "list", "table", family, "vpnslb"]).succeeded,
                    "the nft table \(family) vpnslb must be gone after exit")
        }
    }
}
