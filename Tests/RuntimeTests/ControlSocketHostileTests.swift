@testable import ControlSocket
import Foundation
import Synchronization
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// `acceptPending` runs on the SLB's forwarding thread: a peer that sends its request a byte
/// at a time must not hold that thread longer than the exchange timeout (SO_RCVTIMEO alone
/// bounds each `recv`, not the request).
@Suite("Control socket against slow peers (root)", .serialized,
       .enabled(if: getuid() == 0, "needs root: the control socket only answers uid 0 peers"))
struct ControlSocketHostileTests {
    @Test("a peer dripping its request is cut off at the exchange timeout (was: the forwarding thread held ~15 s)")
    func drippingPeer() throws {
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("vslb-drip-\(getpid())-\(UInt32.random(in: 0...UInt32.max))").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let server = try ControlServer(path: directory + "/slb.sock")

        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        try #require(fd >= 0)
        defer { close(fd) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (i, b) in Array(server.path.utf8).enumerated() { raw[i] = b }
        }
        let rc = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        try #require(rc == 0)
        // A frame announcing 100 octets, then one octet every 150 ms (15 s if waited for).
        let stop = Atomic<Bool>(false)
        let dripper = Thread {
            var byte: [UInt8] = [0, 0, 0, 100]
            _ = send(fd, &byte, 4, Int32(MSG_NOSIGNAL))
            while !stop.load(ordering: .acquiring) {
                byte = [0]
                if send(fd, &byte, 1, Int32(MSG_NOSIGNAL)) <= 0 { return }
                usleep(150_000)
            }
        }
        dripper.start()
        defer { stop.store(true, ordering: .releasing) }
        usleep(50_000)

        let started = ContinuousClock.now
        let exchanges = server.acceptPending()
        let held = ContinuousClock.now - started
        #expect(exchanges.isEmpty)
        #expect(held < .milliseconds(ControlServer.exchangeTimeoutMilliseconds + 700), "held the loop for \(held)")
    }

    @Test("an answer the peer does not read is abandoned at the deadline, not after a send timeout per chunk")
    func peerNotReading() throws {
        var pair: [Int32] = [0, 0]
        try #require(socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &pair) == 0)
        defer { close(pair[0]); close(pair[1]) }
        UnixSocket.setTimeouts(pair[0], milliseconds: ControlServer.exchangeTimeoutMilliseconds)
        // The peer takes 64 octets every 100 ms: without a deadline each send makes progress
        // within SO_SNDTIMEO and 4 MiB would take hours.
        let stop = Atomic<Bool>(false)
        let peer = pair[1]
        let reader = Thread {
            var buffer = [UInt8](repeating: 0, count: 64)
            while !stop.load(ordering: .acquiring) {
                if recv(peer, &buffer, 64, Int32(MSG_DONTWAIT)) == 0 { return }
                usleep(100_000)
            }
        }
        reader.start()
        defer { stop.store(true, ordering: .releasing) }
        let started = ContinuousClock.now
        #expect(throws: ControlSocketError.self) {
            try UnixSocket.writeAll(pair[0], [UInt8](repeating: 0x41, count: 4 << 20), within: 500)
        }
        #expect(ContinuousClock.now - started < .milliseconds(1_200))
    }
}
