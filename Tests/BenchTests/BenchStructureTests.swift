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

    @Test("nearest-rank percentile", arguments: [([5.0, 1.0, 3.0, 2.0, 4.0], 95.0, 5.0), ([5.0, 1.0, 3.0, 2.0, 4.0], 50.0, 3.0),
                                                ([7.0], 95.0, 7.0)])
    func percentile(values: [Double], p: Double, expected: Double) {
        #expect(Statistics.percentile(values, p) == expected)
    }

    @Test("live clients come from the lab address plan: 192.0.2.10-.254, then 198.51.100.129 and on; 350 at most, all distinct")
    func liveSources() {
        let all = LiveDistribution.sources(400)
        #expect(all.count == LiveDistribution.maximumClients)
        #expect(Set(all).count == all.count)
        #expect(all.first?.description == "192.0.2.10" && all[safe: 244]?.description == "192.0.2.254")
        #expect(all[safe: 245]?.description == "198.51.100.129" && all.last?.description == "198.51.100.233")
        #expect(LiveDistribution.sources(30).count == 30)
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

extension Array {
    fileprivate subscript(safe index: Int) -> Element? { indices.contains(index) ? self[index] : nil }
}
