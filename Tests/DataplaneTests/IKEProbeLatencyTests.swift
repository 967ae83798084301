import Foundation
import Lab
import SLBConfig
import SLBCore
import SLBWire
import Synchronization
import Testing
@testable import Dataplane
#if canImport(Glibc)
import Glibc
#endif

/// The IKE prober is a hook behind another hook (as in `slb run`), and its answer socket is in
/// the loop's poll set: an answer wakes an idle loop and is read on arrival. Before, the loop
/// polled only the outermost hook's one descriptor, so answers waited for the next pass (up to
/// the 100 ms poll cap) and their RTT included that wait.
@Suite("IKE probe answers wake the forwarding loop (root, namespaces)", .serialized,
       .enabled(if: NetworkNamespace.isAvailable, "needs root and iproute2 `ip netns`: namespace IKE probe tests skipped"))
struct IKEProbeLatencyTests {
    /// The runtime's place in the chain: an inner hook that records, on the forwarding thread,
    /// each new RTT the engine shows for the probe.
    final class RTTRecorder: ForwardingLoopHook, @unchecked Sendable {
        var rtts: [TimeSpan] = []
        var last: TimeSpan?
        var descriptors: [Int32] { [] }
        var isBusy: Bool { false }
        func readable(_ descriptor: Int32, now: MonotonicTime) {}
        func event(_ event: EngineEvent, now: MonotonicTime) {}
        func iteration(engine: Engine, now: MonotonicTime) -> Bool {
            let rtt = engine.snapshot(now: now, connections: .none).probes.first?.lastRTT
            if let rtt, rtt != last { rtts.append(rtt) }
            last = rtt
            return false
        }
    }

    /// What the loop saw before the fix: the chain offered no descriptor of the prober.
    final class HidingHook: ForwardingLoopHook, @unchecked Sendable {
        let inner: any ForwardingLoopHook
        init(_ inner: any ForwardingLoopHook) { self.inner = inner }
        var descriptors: [Int32] { [] }
        var isBusy: Bool { inner.isBusy }
        func readable(_ descriptor: Int32, now: MonotonicTime) { inner.readable(descriptor, now: now) }
        func event(_ event: EngineEvent, now: MonotonicTime) { inner.event(event, now: now) }
        func iteration(engine: Engine, now: MonotonicTime) -> Bool { inner.iteration(engine: engine, now: now) }
    }

    /// A stateless IKE responder on VIP:500 in the gateway's namespace: every IKE_SA_INIT gets
    /// INVALID_KE_PAYLOAD (RFC 7296 §1.2) naming group 31, from the VIP.
    final class Responder: @unchecked Sendable {
        let descriptor: Int32
        let stop = Atomic<Bool>(false)
        let answered = Atomic<Int>(0)
        let done = DispatchSemaphore(value: 0)

        init(descriptor: Int32) {
            self.descriptor = descriptor
            Thread { [self] in serve(); done.signal() }.start()
        }

        static func open(address: IPv4Address) throws -> Int32 {
            let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
            guard fd >= 0 else { throw SystemError("socket(udp)") }
            var local = sockaddr_in()
            local.sin_family = sa_family_t(AF_INET)
            local.sin_port = UInt16(500).bigEndian
            local.sin_addr.s_addr = address.value.bigEndian
            let bound = withUnsafePointer(to: &local) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            guard bound == 0 else { close(fd); throw SystemError("bind(\(address):500)") }
            return fd
        }

        /// IKE header (§3.1) with the request's SPIi, R flag, message ID 0, then one Notify (§3.10).
        static func answer(to request: ArraySlice<UInt8>) -> [UInt8]? {
            guard request.count >= 28 else { return nil }
            var bytes = Array(request.prefix(8)) + [UInt8](repeating: 0, count: 8)
            bytes += [41, 0x20, 34, 0x20, 0, 0, 0, 0, 0, 0, 0, 38]
            bytes += [0, 0, 0, 10, 0, 0, 0, 17, 0, 31]
            return bytes
        }

        private func serve() {
            var buffer = [UInt8](repeating: 0, count: 2048)
            while !stop.load(ordering: .acquiring) {
                var pfd = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
                guard poll(&pfd, 1, 50) > 0 else { continue }
                var from = sockaddr_in()
                var length = socklen_t(MemoryLayout<sockaddr_in>.size)
                let count = withUnsafeMutablePointer(to: &from) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                        recvfrom(descriptor, &buffer, buffer.count, Int32(MSG_DONTWAIT), $0, &length)
                    }
                }
                guard count > 0, let reply = Responder.answer(to: buffer[0..<count]) else { continue }
                let sent = withUnsafePointer(to: &from) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { sendto(descriptor, reply, reply.count, 0, $0, length) }
                }
                if sent == reply.count { answered.add(1, ordering: .relaxed) }
            }
        }

        func shutdown() {
            stop.store(true, ordering: .releasing)
            done.wait()
            close(descriptor)
        }
    }

    struct Run {
        var counters: IKEProber.Counters
        var rtts: [TimeSpan]
        var state: ProbeSnapshot.State?
    }

    /// One loop on fake packet I/O (nothing to forward: the loop is idle) with the IKE prober
    /// in the lab's slb namespace, for `seconds`.
    static func run(_ lab: LabFixture, pollsProber: Bool, seconds: Double) throws -> Run {
        let gateway = try #require(LabAddressPlan.gateway(1))
        var configuration = SLBConfiguration()
        configuration.probes = [Probe(name: "GW-IKE", kind: .ike, interval: 1, faildetect: 3)]
        configuration.farms = [ServerFarm(name: "VPN", probes: ["GW-IKE"],
                                          reals: [RealServer(address: gateway, weight: 1, inService: true)])]
        configuration.vservers = [VirtualServer(name: "IKE", address: LabAddressPlan.vip, service: .udp(port: 500),
                                                farm: "VPN", inService: true)]
        let engine = Engine(configuration: configuration)
        let owned = Handoff(value: engine), probed = configuration
        let recorder = RTTRecorder()
        let lines = ForwardingLoopHookTests.Lines()
        let started = try lab.inside(lab.plan.slbNamespace) { () -> ForwardingLoop<FakePacketIO, FakePacketIO> in
            let engine = owned.value
            let prober = try IKEProber(targets: engine.probeTargets, configuration: probed,
                                       insideInterface: LabPlan.gatewayBridge, insideAddress: LabAddressPlan.slbInside,
                                       sourceMAC: MACAddress(0x02, 0x53, 0x4c, 0x02, 0x00, 0x00), next: recorder,
                                       now: Clock.now, log: { lines.append($0) })
            let forwarder = Forwarder(engine: engine, sourceMAC: ForwarderTests.insideMAC, batchLimit: 4)
            let loop = ForwardingLoop(forwarder: forwarder, receive: FakePacketIO(batchLimit: 4),
                                      transmit: FakePacketIO(batchLimit: 4), prober: nil,
                                      neighbourDevice: LabPlan.gatewayBridge, log: { lines.append($0) })
            loop.hook = pollsProber ? prober : HidingHook(prober)
            // Started here: the forwarding thread inherits this thread's namespace, so the
            // prober reads the slb namespace's ARP table (/proc/thread-self/net/arp).
            loop.start()
            return loop
        }
        usleep(UInt32(seconds * 1_000_000))
        started.stop()
        try started.wait()
        let prober = try #require((pollsProber ? started.hook : (started.hook as? HidingHook)?.inner) as? IKEProber)
        let state = engine.snapshot(now: Clock.now, connections: .none).probes.first?.state
        return Run(counters: prober.counters, rtts: recorder.rtts, state: state)
    }

    @Test("an answer is read when it wakes the idle loop, not at the next pass; the prober's descriptor travels through the hook chain")
    func answersWakeTheLoop() throws {
        let lab = try LabFixture(gateways: 1)
        defer { lab.tearDown() }
        let responder = Responder(descriptor: try lab.inside(lab.plan.gatewayNamespace(1)) {
            try Responder.open(address: LabAddressPlan.vip)
        })
        defer { responder.shutdown() }

        let hidden = try Self.run(lab, pollsProber: false, seconds: 2.6)
        let polled = try Self.run(lab, pollsProber: true, seconds: 2.6)
        func milliseconds(_ spans: [TimeSpan]) -> String {
            spans.map { String(format: "%.3f", Double($0.nanoseconds) / 1e6) }.joined(separator: " ")
        }
        print("IKE probe RTT on an idle loop, prober socket not polled (before): \(milliseconds(hidden.rtts)) ms; \(hidden.counters)")
        print("IKE probe RTT on an idle loop, prober socket polled (after): \(milliseconds(polled.rtts)) ms; \(polled.counters)")

        for run in [hidden, polled] {
            #expect(run.counters.answered >= 2, "\(run.counters)")
            #expect(run.counters.timedOut == 0 && run.counters.unmatched == 0, "\(run.counters)")
            #expect(run.state == .operational)
            #expect(run.rtts.count >= 2, "each answer reached the engine with its RTT")
        }
        // Order, not time: without the descriptor no answer can be read on a wake; with it the
        // loop sleeps in poll(2) right after sending, so answers are read as they wake it.
        #expect(hidden.counters.answeredOnWake == 0)
        #expect(polled.counters.answeredOnWake >= 1, "\(polled.counters)")
        #expect(responder.answered.load(ordering: .relaxed) >= Int(hidden.counters.answered + polled.counters.answered))
    }
}
