import Dataplane
import Foundation
import Lab
import SLBWire
import Synchronization
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Moves a single-owner object out of the namespace thread that created it.
struct Handoff<T>: @unchecked Sendable { let value: T }

/// A lab for one test: built on `init`, torn down by `tearDown()` (call it in a `defer`).
struct LabFixture {
    static let serial = Atomic<Int>(0)
    let plan: LabPlan
    let controller: LabController
    /// The lab's state directory under the temporary directory, removed by `tearDown`.
    let directory: String

    init(gateways: Int) throws {
        // Unique per process and per fixture: suites run in parallel, each in its own lab.
        let serial = LabFixture.serial.add(1, ordering: .relaxed).newValue % 100
        let id = try #require(LabID("d\(getpid() % 10000)x\(serial)"))
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("vslb-dp-\(id)").path
        controller = LabController(store: LabStateStore(directory: directory))
        plan = try LabPlan(id: id, gatewayCount: gateways)
        try controller.up(plan, owner: ProcessIdentity.current, handOver: true)
    }

    func tearDown() {
        do { try controller.down(plan.id) } catch { Issue.record("lab down failed: \(error)") }
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// Creates something (a socket-backed object) inside a lab namespace.
    func inside<T>(_ namespace: String, _ make: @escaping @Sendable () throws -> T) throws -> T {
        try NetworkNamespace.run(namespace) { Handoff(value: try make()) }.value
    }
}

/// A kernel UDP socket: sends like a real IKE client would (so veth checksum offload applies).
final class UDPSocket {
    let descriptor: Int32

    init() throws {
        descriptor = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        guard descriptor >= 0 else { throw SystemError("socket(udp)") }
    }

    deinit { close(descriptor) }

    func send(_ data: [UInt8], to address: IPv4Address, port: UInt16) throws {
        var to = sockaddr_in()
        to.sin_family = sa_family_t(AF_INET)
        to.sin_port = port.bigEndian
        to.sin_addr.s_addr = address.value.bigEndian
        let sent = withUnsafePointer(to: &to) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                sendto(descriptor, data, data.count, 0, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard sent == data.count else { throw SystemError("sendto(udp)") }
    }
}

/// Receives until `count` frames arrived or `timeout` passed, polling (bounded in time).
func collect<IO: PacketIO>(_ io: IO, count: Int, timeout: TimeSpan) throws -> [([UInt8], ChecksumState)] {
    var frames: [([UInt8], ChecksumState)] = []
    let deadline = Clock.now + timeout
    while frames.count < count && Clock.now < deadline {
        let got = try io.receive { batch in
            for frame in batch { frames.append((Array(frame.bytes), frame.checksum)) }
        }
        if got == 0 {
            if let fd = io.pollDescriptor {
                var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
                _ = poll(&pfd, 1, 20)
            } else {
                usleep(5_000)
            }
        }
    }
    return frames
}
