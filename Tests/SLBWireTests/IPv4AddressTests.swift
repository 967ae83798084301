import Testing
import SLBWire

@Suite struct IPv4AddressTests {
    @Test(arguments: [
        ("192.0.2.1", UInt32(0xC000_0201)),
        ("0.0.0.0", UInt32(0)),
        ("255.255.255.255", UInt32.max),
        ("203.0.113.100", UInt32(0xCB00_7164)),
    ])
    func parsesDottedQuad(text: String, value: UInt32) {
        #expect(IPv4Address(text)?.value == value)
        #expect(IPv4Address(value).description == text)
    }

    @Test(arguments: ["", "1.2.3", "1.2.3.4.5", "256.1.1.1", "1..2.3", "a.b.c.d", "1.2.3.4 ", "0300.1.1.1", ".1.2.3", "1.2.3."])
    func rejectsMalformed(text: String) {
        #expect(IPv4Address(text) == nil)
    }

    @Test func masksAreContiguous() {
        #expect(IPv4Mask("255.255.255.0")?.prefixLength == 24)
        #expect(IPv4Mask("255.0.255.0") == nil)
        #expect(IPv4Mask("0.0.0.0")?.prefixLength == 0)
        #expect(IPv4Mask.host.description == "255.255.255.255")
    }

    @Test func networksContainAndOverlap() {
        let lab = IPv4Network(address: IPv4Address("192.0.2.77")!, mask: IPv4Mask(prefixLength: 24)!)
        #expect(lab.address == IPv4Address("192.0.2.0"))
        #expect(lab.contains(IPv4Address("192.0.2.254")!))
        #expect(!lab.contains(IPv4Address("198.51.100.1")!))
        let half = IPv4Network(address: IPv4Address("192.0.2.128")!, mask: IPv4Mask(prefixLength: 25)!)
        let other = IPv4Network(address: IPv4Address("198.51.100.0")!, mask: IPv4Mask(prefixLength: 24)!)
        #expect(lab.overlaps(half) && half.overlaps(lab))
        #expect(!lab.overlaps(other))
    }
}
