import SLBCore
import SLBCoreAllocationCounter
import SLBWire
import Testing
@testable import Dataplane

/// Counts sends without keeping frames: a transmit side that never allocates.
final class CountingPacketIO: PacketIO {
    let batchLimit = 64
    var statistics = PacketIOStatistics()
    var pollDescriptor: Int32? { nil }
    func receive(_ body: (UnsafeMutableBufferPointer<Frame>) throws -> Void) throws -> Int { 0 }
    func send(_ frames: UnsafeBufferPointer<Frame>) throws -> Int {
        statistics.sent += UInt64(frames.count)
        return frames.count
    }
}

/// STYLE.md §7: the per-packet path allocates nothing once a flow is established. Counted
/// (malloc & co. on this thread), not timed.
@Suite("Forwarder hot path allocations")
struct ForwarderAllocationTests {
    @Test("forwarding batches of established IKE/ESP flows allocates nothing")
    func noAllocation() throws {
        try #require(slb_allocation_counter_available() == 1)
        let forwarder = ForwarderTests.resolved(ForwarderTests.engine())
        let tx = CountingPacketIO()
        // 32 frames: 16 clients × (ISAKMP, ESP), each with a high TTL so repeated forwarding
        // (TTL − 1 per pass) never expires within the test.
        var templates: [[UInt8]] = []
        for n in 0..<16 {
            let client = IPv4Address(192, 0, 2, UInt8(20 + n))
            templates.append(TestFrames.udp(source: client, port: 500, id: UInt16(n), ttl: 255))
            templates.append(TestFrames.ipv4(protocol: 50, source: client, id: UInt16(100 + n),
                                             payload: [0, 0, 0x10, 0x01, 0, 0, 0, 1] + [UInt8](repeating: 0xee, count: 16), ttl: 255))
        }
        let buffers = templates.map { template -> UnsafeMutableRawBufferPointer in
            let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: template.count, alignment: 8)
            template.withUnsafeBytes { buffer.copyMemory(from: $0) }
            return buffer
        }
        defer { buffers.forEach { $0.deallocate() } }
        let frames = UnsafeMutableBufferPointer<Frame>.allocate(capacity: buffers.count)
        defer { frames.deallocate() }
        for (index, buffer) in buffers.enumerated() { frames[index] = Frame(bytes: buffer, checksum: .complete) }

        // Establish every flow (connections and sticky bindings are created here).
        try forwarder.process(frames, now: .seconds(1), transmit: tx)
        try forwarder.process(frames, now: .seconds(2), transmit: tx)
        #expect(forwarder.counters.forwarded == 64)

        // Counted around `process` only: the test's own loop bookkeeping is not the hot path.
        var allocations: UInt64 = 0
        for pass in 0..<200 {
            for index in buffers.indices { buffers[index][22] = 255 }      // restore TTL
            slb_allocation_counter_start()
            try forwarder.process(frames, now: .seconds(3) + .milliseconds(UInt64(pass)), transmit: tx)
            allocations += slb_allocation_counter_stop()
        }
        #expect(allocations == 0, "\(allocations) allocations for \(200 * buffers.count) frames")
        #expect(forwarder.counters.forwarded == 64 + 200 * 32)
    }

    @Test("directed mode: forwarding to the real and translating its replies allocates nothing")
    func directedNoAllocation() throws {
        try #require(slb_allocation_counter_available() == 1)
        let forwarder = ForwarderTests.directedForwarder()
        let tx = CountingPacketIO()
        var requests: [[UInt8]] = []
        var replies: [[UInt8]] = []
        for n in 0..<16 {
            let client = IPv4Address(192, 0, 2, UInt8(20 + n))
            requests.append(TestFrames.udp(source: client, port: 500, id: UInt16(n), partial: n % 2 == 0))
            requests.append(TestFrames.ipv4(protocol: 50, source: client, id: UInt16(100 + n),
                                            payload: [0, 0, 0x10, 0x01, 0, 0, 0, 1] + [UInt8](repeating: 0xee, count: 16)))
            replies.append(TestFrames.udp(source: ForwarderTests.gw1, destination: client, port: 500, id: UInt16(200 + n)))
            replies.append(TestFrames.ipv4(protocol: 50, source: ForwarderTests.gw1, destination: client, id: UInt16(300 + n),
                                           payload: [0, 0, 0x20, 0x01, 0, 0, 0, 1] + [UInt8](repeating: 0xdd, count: 16)))
        }
        let templates = requests + replies
        let buffers = templates.map { UnsafeMutableRawBufferPointer.allocate(byteCount: $0.count, alignment: 8) }
        defer { buffers.forEach { $0.deallocate() } }
        func restore() { for (buffer, template) in zip(buffers, templates) { template.withUnsafeBytes { buffer.copyMemory(from: $0) } } }
        let frames = UnsafeMutableBufferPointer<Frame>.allocate(capacity: buffers.count)
        defer { frames.deallocate() }
        for (index, buffer) in buffers.enumerated() {
            frames[index] = Frame(bytes: buffer, checksum: index < requests.count && index % 4 == 0 ? .partial : .complete)
        }
        let requestFrames = UnsafeMutableBufferPointer(rebasing: frames[0..<requests.count])
        let replyFrames = UnsafeMutableBufferPointer(rebasing: frames[requests.count...])

        for pass in 1...2 {
            restore()
            try forwarder.process(requestFrames, now: .seconds(UInt64(pass)), transmit: tx)
            try forwarder.processReplies(replyFrames, now: .seconds(UInt64(pass)), transmit: tx)
        }
        #expect(forwarder.counters.directed == 64 && forwarder.counters.repliesForwarded == 64)

        var allocations: UInt64 = 0
        for pass in 0..<200 {
            restore()
            let now = MonotonicTime.seconds(3) + .milliseconds(UInt64(pass))
            slb_allocation_counter_start()
            try forwarder.process(requestFrames, now: now, transmit: tx)
            try forwarder.processReplies(replyFrames, now: now, transmit: tx)
            allocations += slb_allocation_counter_stop()
        }
        #expect(allocations == 0, "\(allocations) allocations for \(200 * buffers.count) frames")
        #expect(forwarder.counters.directed == 64 + 200 * 32 && forwarder.counters.repliesForwarded == 64 + 200 * 32)
    }
}
