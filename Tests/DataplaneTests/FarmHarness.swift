import Dataplane
import Foundation
import Lab
import SLBCore
import SLBWire
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Integration-test plumbing: `slb run` as a child process in a lab, gateways that count (and
/// optionally echo) what reaches them, and clients that send from many source addresses.

/// The lab plan's client sources in order: 192.0.2.10–.254, then 198.51.100.128/25.
func labClients(_ count: Int) -> [IPv4Address] {
    var clients: [IPv4Address] = []
    var address = LabAddressPlan.firstPublicClient.value
    while clients.count < count && address <= LabAddressPlan.lastPublicClient.value {
        clients.append(IPv4Address(address)); address += 1
    }
    address = LabAddressPlan.routedClients.address.value
    while clients.count < count && clients.count < 245 + 128 {
        clients.append(IPv4Address(address)); address += 1
    }
    return clients
}

func sockaddrIn(_ address: IPv4Address, _ port: UInt16) -> sockaddr_in {
    var value = sockaddr_in()
    value.sin_family = sa_family_t(AF_INET)
    value.sin_port = port.bigEndian
    value.sin_addr.s_addr = address.value.bigEndian
    return value
}

func bindSocket(_ fd: Int32, _ address: IPv4Address, _ port: UInt16) throws {
    var local = sockaddrIn(address, port)
    let status = withUnsafePointer(to: &local) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    guard status == 0 else { throw SystemError("bind(\(address):\(port))") }
}

@discardableResult
func sendDatagram(_ fd: Int32, _ data: [UInt8], to address: IPv4Address, port: UInt16) -> Bool {
    var to = sockaddrIn(address, port)
    let sent = withUnsafePointer(to: &to) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { sendto(fd, data, data.count, 0, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    return sent == data.count
}

/// Receives one datagram without blocking: payload and the sender.
func receiveDatagram(_ fd: Int32, into buffer: inout [UInt8]) -> (count: Int, source: IPv4Address, port: UInt16)? {
    var from = sockaddr_in()
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let count = withUnsafeMutablePointer(to: &from) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { recvfrom(fd, &buffer, buffer.count, Int32(MSG_DONTWAIT), $0, &length) }
    }
    guard count >= 0 else { return nil }
    return (count, IPv4Address(UInt32(bigEndian: from.sin_addr.s_addr)), UInt16(bigEndian: from.sin_port))
}

func largeReceiveBuffer(_ fd: Int32) {
    var size: Int32 = 8 << 20
    _ = setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, socklen_t(MemoryLayout<Int32>.size))
}

/// One gateway: kernel UDP sockets on ports 500 and 4500 (any local address: the VIP on its
/// loopback in dispatched mode, its own address in directed mode) and a raw ESP socket. It
/// records each datagram's source and size; with `echo` it sends each one back (directed mode:
/// from its own address, which the SLB must translate to the VIP).
final class FarmGateway {
    let udp500: Int32, esp: Int32, icmp: Int32
    private(set) var udp4500: Int32
    /// ICMP errors received: (outer source, quoted source, quoted source port).
    private(set) var icmpErrors: [(source: IPv4Address, quotedSource: IPv4Address, quotedPort: UInt16)] = []
    let echo: Bool
    private(set) var udp500Sources: [IPv4Address: Int] = [:]
    private(set) var udp4500Sources: [IPv4Address: Int] = [:]
    private(set) var espSources: [IPv4Address: Int] = [:]
    private(set) var udp500Sizes: [IPv4Address: [Int]] = [:]
    private var buffer = [UInt8](repeating: 0, count: 65536)

    init(echo: Bool) throws {
        self.echo = echo
        udp500 = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        udp4500 = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        esp = socket(AF_INET, Int32(SOCK_RAW.rawValue), 50)
        icmp = socket(AF_INET, Int32(SOCK_RAW.rawValue), Int32(IPPROTO_ICMP))
        guard udp500 >= 0, udp4500 >= 0, esp >= 0, icmp >= 0 else { throw SystemError("socket") }
        try bindSocket(udp500, IPv4Address(0), 500)
        try bindSocket(udp4500, IPv4Address(0), 4500)
        [udp500, udp4500, esp].forEach(largeReceiveBuffer)
    }

    deinit { [udp500, udp4500, esp, icmp].forEach { if $0 >= 0 { close($0) } } }

    /// Closes the NAT-T socket: the gateway's kernel then answers port 4500 with ICMP port
    /// unreachable (RFC 1122 §4.1.3.1).
    func closeNATT() {
        close(udp4500)
        udp4500 = -1
    }

    /// Every distinct client seen, any protocol.
    var clients: Set<IPv4Address> { Set(udp500Sources.keys).union(udp4500Sources.keys).union(espSources.keys) }
    var total: Int { udp500Sources.values.reduce(0, +) + udp4500Sources.values.reduce(0, +) + espSources.values.reduce(0, +) }

    func drain() {
        while let got = receiveDatagram(udp500, into: &buffer) {
            udp500Sources[got.source, default: 0] += 1
            udp500Sizes[got.source, default: []].append(got.count)
            if echo { sendDatagram(udp500, Array(buffer[0..<got.count]), to: got.source, port: got.port) }
        }
        while udp4500 >= 0, let got = receiveDatagram(udp4500, into: &buffer) {
            udp4500Sources[got.source, default: 0] += 1
            if echo { sendDatagram(udp4500, Array(buffer[0..<got.count]), to: got.source, port: got.port) }
        }
        while let got = receiveDatagram(esp, into: &buffer) {
            espSources[got.source, default: 0] += 1
            // A raw socket hands over the IP header too; echo the ESP payload only.
            let headerLength = got.count > 0 ? Int(buffer[0] & 0x0f) * 4 : 0
            if echo, got.count > headerLength {
                sendDatagram(esp, Array(buffer[headerLength..<got.count]), to: got.source, port: 0)
            }
        }
        while let got = receiveDatagram(icmp, into: &buffer) {
            if let error = parseICMPError(buffer, count: got.count) {
                icmpErrors.append((got.source, error.quotedSource, error.quotedSourcePort))
            }
        }
    }
}

/// The client host: one kernel UDP socket per client and port (so checksum offload applies),
/// an IPPROTO_RAW socket for ESP and hand-made fragments (IP_HDRINCL), and raw UDP/ESP sockets
/// that see every reply with its IP header.
final class FarmClients {
    let addresses: [IPv4Address]
    private var udp500: [Int32] = []
    private var udp4500: [Int32] = []
    let raw: Int32
    let udpReplies: Int32, espReplies: Int32, icmpReplies: Int32
    /// ICMP errors seen: (source, quoted destination, quoted destination port).
    private(set) var errors: [(source: IPv4Address, quotedDestination: IPv4Address, quotedPort: UInt16)] = []
    /// Replies seen: (client, source address, source port (0 for ESP), protocol, IP payload length).
    private(set) var replies: [(client: IPv4Address, source: IPv4Address, port: UInt16, ipProtocol: UInt8, length: Int)] = []
    private var buffer = [UInt8](repeating: 0, count: 65536)
    private var identification: UInt16 = 1

    init(_ addresses: [IPv4Address]) throws {
        self.addresses = addresses
        raw = socket(AF_INET, Int32(SOCK_RAW.rawValue), Int32(IPPROTO_RAW))
        udpReplies = socket(AF_INET, Int32(SOCK_RAW.rawValue), Int32(IPPROTO_UDP))
        espReplies = socket(AF_INET, Int32(SOCK_RAW.rawValue), 50)
        icmpReplies = socket(AF_INET, Int32(SOCK_RAW.rawValue), Int32(IPPROTO_ICMP))
        guard raw >= 0, udpReplies >= 0, espReplies >= 0, icmpReplies >= 0 else { throw SystemError("socket(raw)") }
        largeReceiveBuffer(udpReplies)
        largeReceiveBuffer(espReplies)
        for address in addresses {
            let a = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0), b = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
            guard a >= 0, b >= 0 else { throw SystemError("socket(udp)") }
            udp500.append(a); udp4500.append(b)
            try bindSocket(a, address, 500)
            try bindSocket(b, address, 4500)
        }
    }

    deinit { (udp500 + udp4500 + [raw, udpReplies, espReplies, icmpReplies]).forEach { close($0) } }

    func sendISAKMP(_ index: Int, _ data: [UInt8]) -> Bool { sendDatagram(udp500[index], data, to: LabAddressPlan.vip, port: 500) }
    /// NAT-T: a non-ESP marker (four zero bytes) then IKE, RFC 3948 §2.2.
    func sendNATT(_ index: Int, _ data: [UInt8]) -> Bool { sendDatagram(udp4500[index], [0, 0, 0, 0] + data, to: LabAddressPlan.vip, port: 4500) }

    /// Raw ESP (SPI, sequence, payload) from the client's address, built by hand.
    func sendESP(_ index: Int, spi: UInt32) -> Bool {
        let esp = FrameBuilder.esp(spi: spi, sequence: 1, payload: [UInt8](repeating: 0xee, count: 48))
        return sendIP(FrameBuilder.ipv4(.init(source: addresses[index], destination: LabAddressPlan.vip, identification: nextID()),
                                        protocol: .esp, payload: esp))
    }

    /// An ISAKMP datagram of `size` payload bytes from client:500, fragmented for a 1500-byte
    /// MTU by SLBWire's fragmenter and sent fragment by fragment (optionally last first).
    func sendFragmentedISAKMP(_ index: Int, size: Int, reversed: Bool) throws -> Int {
        let source = addresses[index]
        let udp = FrameBuilder.udp(source: source, destination: LabAddressPlan.vip, sourcePort: 500, destinationPort: 500,
                                   payload: [UInt8](repeating: 0x2a, count: size))
        let datagram = FrameBuilder.ipv4(.init(source: source, destination: LabAddressPlan.vip, identification: nextID()),
                                         protocol: .udp, payload: udp)
        let fragments = try IPv4Fragmenter.fragment(datagram, mtu: 1500).get()
        for fragment in reversed ? fragments.reversed() : fragments { _ = sendIP(fragment) }
        return fragments.count
    }

    /// The client reports "port unreachable" for a datagram VIP:vipPort → client:500, as a
    /// client whose IKE socket is gone would; the SLB must hand it to the client's gateway.
    func sendPortUnreachable(_ index: Int, vipPort: UInt16) -> Bool {
        let client = addresses[index]
        let quoted = FrameBuilder.ipv4(.init(source: LabAddressPlan.vip, destination: client, identification: 7),
                                       protocol: .udp, payload: FrameBuilder.udp(source: LabAddressPlan.vip, destination: client,
                                                                                 sourcePort: vipPort, destinationPort: 500,
                                                                                 payload: Array("reply".utf8)))
        let icmp = FrameBuilder.icmpError(type: 3, code: 3, quoting: quoted)
        return sendIP(FrameBuilder.ipv4(.init(source: client, destination: LabAddressPlan.vip, identification: nextID()),
                                        protocol: .icmp, payload: icmp))
    }

    private func nextID() -> UInt16 {
        identification &+= 1
        return identification
    }

    private func sendIP(_ datagram: [UInt8]) -> Bool {
        guard datagram.count >= 20 else { return false }
        let destination = IPv4Address(UInt32(datagram[16]) << 24 | UInt32(datagram[17]) << 16 | UInt32(datagram[18]) << 8 | UInt32(datagram[19]))
        return sendDatagram(raw, datagram, to: destination, port: 0)
    }

    /// Reads every reply waiting on the raw sockets (and empties the per-client sockets).
    func drain() {
        for fd in [udpReplies, espReplies] {
            while let got = receiveDatagram(fd, into: &buffer) {
                guard got.count >= 20 else { continue }
                let headerLength = Int(buffer[0] & 0x0f) * 4
                let ipProtocol = buffer[9]
                let source = IPv4Address(UInt32(buffer[12]) << 24 | UInt32(buffer[13]) << 16 | UInt32(buffer[14]) << 8 | UInt32(buffer[15]))
                let destination = IPv4Address(UInt32(buffer[16]) << 24 | UInt32(buffer[17]) << 16 | UInt32(buffer[18]) << 8 | UInt32(buffer[19]))
                // Our own outgoing datagrams are not looped to raw sockets; replies only.
                let port = ipProtocol == 17 && got.count >= headerLength + 2
                    ? UInt16(buffer[headerLength]) << 8 | UInt16(buffer[headerLength + 1]) : 0
                replies.append((destination, source, port, ipProtocol, got.count - headerLength))
            }
        }
        while let got = receiveDatagram(icmpReplies, into: &buffer) {
            if let error = parseICMPError(buffer, count: got.count) {
                errors.append((got.source, error.quotedDestination, error.quotedDestinationPort))
            }
        }
        for fd in udp500 + udp4500 { while receiveDatagram(fd, into: &buffer) != nil {} }
    }
}

/// An ICMP error (type 3, 11 or 12) read from a raw socket (IP header included): the quoted
/// datagram's addresses and UDP ports.
func parseICMPError(_ buffer: [UInt8], count: Int) -> (quotedSource: IPv4Address, quotedDestination: IPv4Address,
                                                      quotedSourcePort: UInt16, quotedDestinationPort: UInt16)? {
    guard count >= 20 else { return nil }
    let header = Int(buffer[0] & 0x0f) * 4
    let quoted = header + 8
    guard count >= quoted + 28, [3, 11, 12].contains(buffer[header]) else { return nil }
    let quotedHeader = Int(buffer[quoted] & 0x0f) * 4
    guard count >= quoted + quotedHeader + 4 else { return nil }
    func address(_ at: Int) -> IPv4Address {
        IPv4Address(UInt32(buffer[at]) << 24 | UInt32(buffer[at + 1]) << 16 | UInt32(buffer[at + 2]) << 8 | UInt32(buffer[at + 3]))
    }
    let ports = quoted + quotedHeader
    return (address(quoted + 12), address(quoted + 16), UInt16(buffer[ports]) << 8 | UInt16(buffer[ports + 1]),
            UInt16(buffer[ports + 2]) << 8 | UInt16(buffer[ports + 3]))
}

/// `slb run` in the lab's slb namespace, as a child process with its log in a file.
final class SLBRun {
    let process = Process()
    let directory: URL
    let logFile: URL
    let jsonFile: URL

    init(lab: LabFixture, config: String, arguments: [String] = []) throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("vslb-run-\(lab.plan.id)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let configFile = directory.appendingPathComponent("farm.cfg")
        try config.write(to: configFile, atomically: true, encoding: .utf8)
        logFile = directory.appendingPathComponent("slb.log")
        jsonFile = directory.appendingPathComponent("snapshot.json")
        _ = FileManager.default.createFile(atPath: logFile.path, contents: nil)
        process.executableURL = URL(fileURLWithPath: "/usr/sbin/ip")
        process.arguments = ["netns", "exec", lab.plan.slbNamespace, try #require(SLBBinary.path), "run", configFile.path,
                             "--report-json", jsonFile.path, "--for", "300",
                             "--control", directory.appendingPathComponent("control.sock").path] + arguments
        process.standardError = try FileHandle(forWritingTo: logFile)
        process.standardOutput = FileHandle.nullDevice
        try process.run()
    }

    /// Ends the process (if still running) and removes its files; call in a `defer`.
    func finish() {
        if process.isRunning {
            kill(process.processIdentifier, SIGCONT)
            process.terminate()
        }
        process.waitUntilExit()
        try? FileManager.default.removeItem(at: directory)
    }

    var log: String { (try? String(contentsOf: logFile, encoding: .utf8)) ?? "" }

    func waitFor(_ text: String, seconds: Double) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline { if log.contains(text) { return true }; usleep(50_000) }
        return log.contains(text)
    }

    /// The first log line starting with `prefix`.
    func line(startingWith prefix: String) -> Substring? {
        log.split(separator: "\n").first { $0.hasPrefix(prefix) }
    }

    /// SIGUSR1, then the JSON snapshot `--report-json` writes (connections included).
    func snapshot() throws -> SLBSnapshot {
        try? FileManager.default.removeItem(at: jsonFile)
        kill(process.processIdentifier, SIGUSR1)
        let deadline = Date().addingTimeInterval(5)
        while Date() < deadline && !FileManager.default.fileExists(atPath: jsonFile.path) { usleep(20_000) }
        return try JSONDecoder().decode(SLBSnapshot.self, from: Data(contentsOf: jsonFile))
    }

    /// `Udp InCsumErrors` in a namespace (/proc/net/snmp is per network namespace).
    static func udpChecksumErrors(namespace: String) throws -> Int? {
        let snmp = try SystemCommandRunner().run(["ip", "netns", "exec", namespace, "cat", "/proc/net/snmp"]).output
        let lines = snmp.split(separator: "\n").filter { $0.hasPrefix("Udp:") }
        guard lines.count == 2 else { return nil }
        let names = lines[0].split(separator: " "), values = lines[1].split(separator: " ")
        guard let index = names.firstIndex(of: "InCsumErrors"), index < values.count else { return nil }
        return Int(values[index])
    }
}

/// Polls `body` every 10 ms until it returns true or `seconds` pass.
@discardableResult
func poll(seconds: Double, _ body: () -> Bool) -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        if body() { return true }
        usleep(10_000)
    }
    return body()
}
