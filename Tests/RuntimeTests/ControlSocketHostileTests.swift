@testable import ControlSocket
import Foundation
import Runtime
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
        let finished = DispatchSemaphore(value: 0)
        let dripper = Thread {
            defer { finished.signal() }
            var byte: [UInt8] = [0, 0, 0, 100]
            _ = send(fd, &byte, 4, Int32(MSG_NOSIGNAL))
            while !stop.load(ordering: .acquiring) {
                byte = [0]
                if send(fd, &byte, 1, Int32(MSG_NOSIGNAL)) <= 0 { return }
                usleep(150_000)
            }
        }
        dripper.start()
        // Joined before the descriptor is closed, so the thread never touches a reused number.
        defer { stop.store(true, ordering: .releasing); finished.wait() }
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
        let finished = DispatchSemaphore(value: 0)
        let peer = pair[1]
        let reader = Thread {
            defer { finished.signal() }
            var buffer = [UInt8](repeating: 0, count: 64)
            while !stop.load(ordering: .acquiring) {
                if recv(peer, &buffer, 64, Int32(MSG_DONTWAIT)) == 0 { return }
                usleep(100_000)
            }
        }
        reader.start()
        // Joined before the descriptor is closed, so the thread never touches a reused number.
        defer { stop.store(true, ordering: .releasing); finished.wait() }
        let started = ContinuousClock.now
        #expect(throws: ControlSocketError.self) {
            try UnixSocket.writeAll(pair[0], [UInt8](repeating: 0x41, count: 4 << 20), within: 500)
        }
        #expect(ContinuousClock.now - started < .milliseconds(1_200))
    }

    @Test("a scraper dripping its request gets an answer at the request timeout, not never")
    func drippingScraper() throws {
        let server = try MetricsServer(listen: "127.0.0.1:0")
        server.publish("vpnslb_test 1\n")
        server.start()
        defer { server.stop() }
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var timeout = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = server.port.bigEndian
        address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
        let rc = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        try #require(rc == 0)
        let stop = Atomic<Bool>(false)
        let finished = DispatchSemaphore(value: 0)
        let dripper = Thread {
            defer { finished.signal() }
            for byte in Array("GET /metrics HTTP/1.0\r\nX-Slow: ".utf8) + Array(repeating: UInt8(ascii: "a"), count: 1000) {
                if stop.load(ordering: .acquiring) { return }
                var b = byte
                if send(fd, &b, 1, Int32(MSG_NOSIGNAL)) <= 0 { return }
                usleep(100_000)
            }
        }
        dripper.start()
        // Joined before the descriptor is closed, so the thread never touches a reused number.
        defer { stop.store(true, ordering: .releasing); finished.wait() }
        let started = ContinuousClock.now
        var buffer = [UInt8](repeating: 0, count: 256)
        let n = recv(fd, &buffer, buffer.count, 0)
        #expect(n > 0)
        #expect(ContinuousClock.now - started < .milliseconds(2_500))
    }
}
