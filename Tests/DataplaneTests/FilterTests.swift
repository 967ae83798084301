import SLBConfig
import SLBWire
import Testing
@testable import Dataplane

@Suite("VIP filter: expression from vservers, compiled by libpcap, run on frames")
struct FilterTests {
    static let vip = IPv4Address(203, 0, 113, 100)
    static let natt: [VirtualServer] = [
        VirtualServer(name: "IKE", address: vip, service: .udp(port: 500)),
        VirtualServer(name: "NATT", address: vip, service: .udp(port: 4500)),
        VirtualServer(name: "ESP", address: vip, service: .esp),
    ]

    @Test("expressions", arguments: [
        (natt, "ip and dst host 203.0.113.100 and (udp dst port 500 or udp dst port 4500 or ip proto 50 or icmp or ip[6:2] & 0x1fff != 0)"),
        ([VirtualServer(name: "A", address: IPv4Address(203, 0, 113, 7), service: .udp(port: nil)),
          VirtualServer(name: "B", address: IPv4Address(203, 0, 113, 7), service: .udp(port: 500))],
         "ip and dst host 203.0.113.7 and (udp or icmp or ip[6:2] & 0x1fff != 0)"),
        ([VirtualServer(name: "B", address: IPv4Address(203, 0, 113, 9), service: .esp),
          VirtualServer(name: "A", address: IPv4Address(203, 0, 113, 0), mask: IPv4Mask(prefixLength: 28)!, service: .udp(port: 500))],
         "(ip and dst net 203.0.113.0/28 and (udp dst port 500 or icmp or ip[6:2] & 0x1fff != 0)) or (ip and dst host 203.0.113.9 and (ip proto 50 or icmp or ip[6:2] & 0x1fff != 0))"),
    ] as [([VirtualServer], String)])
    func expression(vservers: [VirtualServer], expected: String) throws {
        #expect(VIPFilter.expression(for: vservers) == expected)
        _ = try BPFProgram(compiling: expected)
    }

    @Test("no vservers: no expression, and the reject-all program admits nothing")
    func empty() {
        #expect(VIPFilter.expression(for: []) == nil)
        #expect(!BPFProgram.rejectAll.matches(TestFrames.udp(port: 500, id: 1)))
    }

    @Test("a bad expression is a typed error naming it")
    func badExpression() {
        #expect(throws: BPFProgram.CompileError.self) { try BPFProgram(compiling: "dst host nonsense and (") }
    }

    static let frames: [(String, [UInt8], Bool)] = [
        ("IKE udp/500 to the VIP", TestFrames.udp(port: 500, id: 1), true),
        ("NAT-T udp/4500 to the VIP", TestFrames.udp(sourcePort: 4500, port: 4500, id: 2), true),
        ("ESP to the VIP", TestFrames.esp(id: 3), true),
        ("first fragment of IKE to the VIP", TestFrames.ipv4(protocol: 17, id: 4,
            payload: TestFrames.be16(500) + TestFrames.be16(500) + TestFrames.be16(1400) + [0, 0] + [UInt8](repeating: 1, count: 16),
            moreFragments: true), true),
        ("non-first fragment (no UDP header) to the VIP", TestFrames.ipv4(protocol: 17, id: 5,
            payload: [UInt8](repeating: 7, count: 24), fragmentOffset: 185), true),
        ("udp/53 to the VIP", TestFrames.udp(port: 53, id: 6), false),
        ("udp/500 to another address", TestFrames.udp(destination: IPv4Address(192, 0, 2, 1), port: 500, id: 7), false),
        ("ICMP to the VIP (echo answered, errors to the real)", TestFrames.ipv4(protocol: 1, id: 8, payload: [8, 0, 0, 0, 0, 0, 0, 0]), true),
        ("udp/500 *from* the VIP (a reply)", TestFrames.udp(source: vip, destination: IPv4Address(192, 0, 2, 10), port: 500, id: 9), false),
        ("ARP for the VIP", TestFrames.arpRequest(for: vip), false),
    ]

    @Test("what the compiled filter admits", arguments: frames)
    func admits(name: String, frame: [UInt8], admitted: Bool) throws {
        let program = try BPFProgram(compiling: try #require(VIPFilter.expression(for: FilterTests.natt)))
        #expect(program.matches(frame) == admitted, "\(name)")
    }
}
