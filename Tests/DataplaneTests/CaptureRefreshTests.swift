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

/// A reload reaches the capture filters: after the hook reports a reconfiguration the loop
/// compares the new `CaptureSet` with the applied one and replaces only what changed, on the
/// forwarding thread.
@Suite("ForwardingLoop capture refresh")
struct CaptureRefreshTests {
    static let ike = VirtualServer(name: "IKE", address: TestFrames.vip, service: .udp(port: 500), farm: "VPN", inService: true)
    static let natT = VirtualServer(name: "NATT", address: TestFrames.vip, service: .udp(port: 4500), farm: "VPN", inService: true)

    static func configuration(natT: Bool, directed: Bool) -> SLBConfiguration {
        let farm = ServerFarm(name: "VPN", nat: directed ? .server : .none,
                              reals: [RealServer(address: ForwarderTests.gw1, weight: 1, inService: true)])
        return SLBConfiguration(farms: [farm], vservers: natT ? [ike, Self.natT] : [ike])
    }

    /// Applies `next` on the third iteration (as `slb reload` would), otherwise reports nothing.
    final class ReloadingHook: ForwardingLoopHook, @unchecked Sendable {
        let next: SLBConfiguration
        let iterations = Atomic<Int>(0)
        var descriptors: [Int32] { [] }
        func readable(_ descriptor: Int32, now: MonotonicTime) {}
        var isBusy: Bool { false }
        init(next: SLBConfiguration) { self.next = next }

        func iteration(engine: Engine, now: MonotonicTime) -> Bool {
            guard iterations.add(1, ordering: .relaxed).newValue == 3 else { return false }
            _ = engine.reconfigure(to: next, now: now)
            return true
        }

        func event(_ event: EngineEvent, now: MonotonicTime) {}
    }

    @Test("a NAT-T vserver and a directed farm added by reload replace both filters; an unchanged refresh replaces none")
    func refresh() throws {
        let start = Self.configuration(natT: false, directed: false)
        let next = Self.configuration(natT: true, directed: true)
        let engine = Engine(configuration: start)
        let forwarder = Forwarder(engine: engine, sourceMAC: ForwarderTests.insideMAC, batchLimit: 4)
        let rx = FakePacketIO(batchLimit: 4), tx = FakePacketIO(batchLimit: 4)
        let lines = ForwardingLoopHookTests.Lines()
        let loop = ForwardingLoop(forwarder: forwarder, receive: rx, transmit: tx, prober: nil,
                                  neighbourDevice: "none", log: { lines.append($0) })
        let hook = ReloadingHook(next: next)
        loop.hook = hook
        loop.capture = CaptureSet(configuration: start)
        #expect(loop.capture?.replyFilter == nil)
        loop.start()
        let deadline = Date().addingTimeInterval(3)
        while Date() < deadline && hook.iterations.load(ordering: .relaxed) < 5 { usleep(10_000) }
        loop.requestForwardingRefresh()
        usleep(250_000)
        loop.stop()
        try loop.wait()

        let expected = CaptureSet(configuration: next)
        #expect(rx.replacedFilters.map(\.expression) == [try #require(expected.vipFilter)])
        #expect(rx.replacedFilters.first?.expression.contains("udp dst port 4500") == true)
        #expect(tx.replacedFilters.map(\.expression) == [try #require(expected.replyFilter)])
        #expect(loop.capture == expected)
        #expect(lines.all.filter { $0.hasPrefix("slb.capture.updated changed=filter,reply-filter ") }.count == 1, "\(lines.all)")
        #expect(!forwarder.replies.isEmpty, "the reply map follows the reload")
    }

    @Test("the drop table script follows the vservers", arguments: [false, true])
    func dropTable(natT: Bool) {
        let script = CaptureSet(configuration: Self.configuration(natT: natT, directed: false)).dropTable
        #expect(script.contains("udp dport 500 drop"))
        #expect(script.contains("udp dport 4500 drop") == natT)
        #expect(script.hasPrefix("table ip vpnslb\ndelete table ip vpnslb\n"), "one atomic replace")
    }
}

extension CaptureRefreshTests {
    @Test("a backend that cannot replace its filter: what was replaced is recorded, the rest is retried next time")
    func partialFailure() throws {
        let start = CaptureSet(configuration: Self.configuration(natT: false, directed: false))
        let next = CaptureSet(configuration: Self.configuration(natT: true, directed: true))
        let rx = FakePacketIO()
        let refusing = CountingPacketIO()   // the protocol's default replaceFilter throws
        var applied = start
        #expect(throws: FilterReplacementUnsupported.self) {
            _ = try next.apply(over: &applied, receive: rx, transmit: refusing, installTable: false)
        }
        #expect(applied.vipFilter == next.vipFilter, "the public filter was replaced")
        #expect(applied.replyFilter == start.replyFilter, "the reply filter was not")
        // Retried with a backend that can: only the reply filter is replaced now.
        let tx = FakePacketIO()
        let changed = try next.apply(over: &applied, receive: rx, transmit: tx, installTable: false)
        #expect(changed == ["reply-filter"])
        #expect(rx.replacedFilters.count == 1 && tx.replacedFilters.count == 1)
        #expect(applied == next)
    }

    @Test("a filter that does not compile changes nothing")
    func compileError() throws {
        var applied = CaptureSet(configuration: Self.configuration(natT: false, directed: false))
        let before = applied
        var broken = applied
        broken.vipFilter = "ip and dst host 203.0.113.300"
        let rx = FakePacketIO(), tx = FakePacketIO()
        #expect(throws: BPFProgram.CompileError.self) {
            _ = try broken.apply(over: &applied, receive: rx, transmit: tx, installTable: false)
        }
        #expect(applied == before)
        #expect(rx.replacedFilters.isEmpty && tx.replacedFilters.isEmpty)
    }
}
