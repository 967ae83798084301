import Testing
@testable import BenchKit

@Suite("BenchKit helpers")
struct BenchHelperTests {
    @Test("Jain's index: 1 for equal shares, 1/n when one takes all", arguments: [
        ([1.0, 1.0, 1.0], 1.0), ([3.0, 0.0, 0.0], 1.0 / 3.0), ([1.0, 2.0], 0.9),
    ])
    func jain(values: [Double], expected: Double) {
        #expect(abs(Statistics.jainIndex(values) - expected) < 1e-9)
    }

    @Test("median of odd and even counts", arguments: [([3.0, 1.0, 2.0], 2.0), ([4.0, 1.0, 3.0, 2.0], 2.5)])
    func median(values: [Double], expected: Double) {
        #expect(Statistics.median(values) == expected)
    }

    @Test("gateway counters are summed from an nft listing")
    func counters() {
        let listing = """
            table netdev vslbbench {
              chain ingress {
                ip saddr { 192.0.2.11 } udp dport { 500, 4500 } counter packets 1200 bytes 84000
                ip saddr { 192.0.2.11 } ip protocol esp counter packets 34 bytes 2000
              }
            }
            """
        #expect(GatewayCounters.packets(inListing: listing) == 1234)
    }
}
