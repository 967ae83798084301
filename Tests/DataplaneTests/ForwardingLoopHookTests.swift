import Foundation
import SLBConfig
import SLBCore
import SLBWire
import Synchronization
import Testing
@testable import Dataplane
#if canImport(Glibc)
import Glibc
#endif

/// The contract the runtime (h/ops) builds on: the hook runs on the forwarding thread once per
/// pass, gets every engine event instead of the log, and can ask for a forwarding-table reload.
@Suite("ForwardingLoop hook")
struct ForwardingLoopHookTests {
    final class RecordingHook: ForwardingLoopHook, @unchecked Sendable {
        let iterations = Atomic<Int>(0)
        let reloads = Atomic<Int>(0)
        var events: [EngineEvent] = []
        let eventCount = Atomic<Int>(0)
        var threads: Set<UInt> = []
        var descriptors: [Int32] { [] }
        func readable(_ descriptor: Int32, now: MonotonicTime) {}
        var isBusy: Bool { false }

        func iteration(engine: Engine, now: MonotonicTime) -> Bool {
            threads.insert(UInt(pthread_self()))
            let n = iterations.add(1, ordering: .relaxed).newValue
            if n == 3 { reloads.add(1, ordering: .relaxed); return true }
            return false
        }

        func event(_ event: EngineEvent, now: MonotonicTime) {
            events.append(event)
            eventCount.add(1, ordering: .relaxed)
        }
    }

    final class Lines: @unchecked Sendable {
        private let lock = NSLock()
        private var lines: [String] = []
        func append(_ line: String) { lock.withLock { lines.append(line) } }
        var all: [String] { lock.withLock { lines } }
    }

    @Test("iteration on the forwarding thread, events to the hook and not the log, reload request survives")
    func hook() throws {
        // No real in service: the client's packet raises slb.farm.no_real.
        let farm = ServerFarm(name: "VPN", reals: [RealServer(address: ForwarderTests.gw1, weight: 1, inService: false)])
        let engine = Engine(configuration: SLBConfiguration(farms: [farm], vservers: [
            VirtualServer(name: "IKE", address: TestFrames.vip, service: .udp(port: 500), farm: "VPN", inService: true)]))
        let forwarder = Forwarder(engine: engine, sourceMAC: ForwarderTests.insideMAC, batchLimit: 4)
        let rx = FakePacketIO(batchLimit: 4), tx = FakePacketIO(batchLimit: 4)
        rx.inject(TestFrames.udp(port: 500, id: 1))
        let lines = Lines()
        let loop = ForwardingLoop(forwarder: forwarder, receive: rx, transmit: tx, prober: nil,
                                  neighbourDevice: "none", log: { lines.append($0) })
        let recording = RecordingHook()
        loop.hook = recording
        loop.start()
        let deadline = Date().addingTimeInterval(3)
        while Date() < deadline && (recording.iterations.load(ordering: .relaxed) < 5 || recording.eventCount.load(ordering: .relaxed) < 1) {
            usleep(10_000)
        }
        loop.requestForwardingRefresh()
        usleep(250_000)
        loop.stop()
        try loop.wait()
        #expect(recording.iterations.load(ordering: .relaxed) >= 5)
        #expect(recording.reloads.load(ordering: .relaxed) == 1)
        #expect(recording.threads.count == 1, "one forwarding thread")
        #expect(!recording.threads.contains(UInt(pthread_self())), "not the caller's thread")
        #expect(recording.events.map(\.name) == ["slb.farm.no_real"])
        #expect(!lines.all.contains { $0.hasPrefix("slb.farm.no_real") }, "with a hook the loop does not log events itself")
        #expect(forwarder.counters.engineDropped == 1)
    }
}
