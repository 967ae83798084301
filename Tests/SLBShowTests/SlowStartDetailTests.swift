import SLBCore
import SLBShow
import Testing

/// `show ip slb reals detail` names least-connections slow start while it lasts (a VPNSLB
/// addition: IOS documents slow start, spec §2.2, but its detail block has no line for it).
@Suite struct SlowStartDetailTests {
    @Test("the slow start line appears only while the real is in slow start",
          arguments: [(Bool?.none, false), (true, true)])
    func slowStartLine(slowStart: Bool?, shown: Bool) {
        var real = SampleSnapshots.real(0, "198.51.100.11", farm: "GW", connections: 2)
        real.slowStart = slowStart
        let text = RealsTable.detail([real])
        #expect(text.contains("  slow start = active\n") == shown)
        #expect(text.hasPrefix("198.51.100.11, GW, state = OPERATIONAL, type = server\n"))
    }
}
