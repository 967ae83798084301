import SLBWire
import Testing
@testable import Traffic

@Suite("Traffic plan")
struct TrafficPlanTests {
    @Test("only RFC 5737 VIPs are accepted", arguments: [
        ("203.0.113.100", true), ("192.0.2.1", true), ("198.51.100.200", true),
        ("8.8.8.8", false), ("10.0.0.1", false), ("203.0.114.1", false), ("127.0.0.1", false),
    ])
    func vip(text: String, accepted: Bool) throws {
        let vip = try #require(IPv4Address(text))
        let plan = Result { () throws(TrafficError) in try TrafficPlan(clients: 1, rate: 10, duration: 1, vip: vip) }
        #expect(((try? plan.get()) != nil) == accepted)
    }

    @Test("out-of-range options are refused", arguments: [
        (0, 10, 1.0, false), (372, 10, 1.0, false), (1, -1, 1.0, false), (1, 0, 1.0, false),
        (1, 10, 0.0, false), (1, 10, 3601.0, false), (371, 10, 1.0, true),
    ])
    func bounds(clients: Int, rate: Int, duration: Double, accepted: Bool) {
        let plan = Result { () throws(TrafficError) in try TrafficPlan(clients: clients, rate: rate, duration: duration) }
        #expect(((try? plan.get()) != nil) == accepted)
    }

    @Test("unpaced needs fast mode")
    func unpaced() throws {
        #expect(throws: TrafficError.self) { try TrafficPlan(clients: 1, rate: 0, duration: 1) }
        _ = try TrafficPlan(clients: 1, rate: 0, duration: 1, mode: .fast)
    }

    @Test("client addresses: 192.0.2.10–.254, then 198.51.100.129–.254, nothing else", arguments: [
        (0, "192.0.2.10"), (1, "192.0.2.11"), (244, "192.0.2.254"), (245, "198.51.100.129"), (370, "198.51.100.254"),
    ])
    func address(index: Int, expected: String) {
        #expect(TrafficPlan.clientAddress(index)?.description == expected)
    }

    @Test("no address past the lab plan")
    func noAddress() {
        #expect(TrafficPlan.clientAddress(371) == nil)
        #expect(TrafficPlan.clientAddress(-1) == nil)
    }

    @Test("at least half of every client's packets are IKE on UDP; NAT-T clients move IKE to 4500 after round 0")
    func schedule() throws {
        let plan = try TrafficPlan(clients: 200, rate: 10, duration: 1, nattShare: 0.3, esp: true, seed: 7)
        var nat = 0
        for client in 0..<200 {
            let kinds = (0..<8).map { plan.kind(client: client, round: $0) }
            let udp = kinds.filter { $0 != .esp }.count
            #expect(udp >= 4)
            if plan.isBehindNAT(client) {
                nat += 1
                #expect(kinds == [.isakmp, .nattESP, .nattIKE, .nattESP, .nattIKE, .nattESP, .nattIKE, .nattESP])
                #expect(plan.nattPort(client) >= 49_152)
            } else {
                #expect(kinds == [.isakmp, .esp, .isakmp, .esp, .isakmp, .esp, .isakmp, .esp])
            }
        }
        #expect((40...80).contains(nat), "about 30 % of 200 clients behind NAT, got \(nat)")
    }

    @Test("counter slots follow allCases", arguments: PacketKind.allCases)
    func slot(kind: PacketKind) {
        #expect(PacketKind.allCases[kind.slot] == kind)
    }

    @Test("--only fixes the kind")
    func only() throws {
        let plan = try TrafficPlan(clients: 5, rate: 0, duration: 1, nattShare: 1, esp: true, mode: .fast, only: .esp)
        #expect((0..<5).allSatisfy { plan.kind(client: $0, round: 3) == .esp })
    }
}

@Suite("Traffic payloads")
struct TrafficPayloadTests {
    @Test("IKE header: 28 bytes, version 2.0, IKE_SA_INIT, initiator, length 28 (RFC 7296 §3.1)")
    func ike() {
        let bytes = TrafficPayloads.ikeHeader(spi: 0x0102_0304_0506_0708)
        #expect(bytes.count == 28)
        #expect(Array(bytes[0..<8]) == [1, 2, 3, 4, 5, 6, 7, 8])
        #expect(bytes[17] == 0x20 && bytes[18] == 34 && bytes[19] == 0x08)
        #expect(bytes[27] == 28)
    }

    @Test("NAT-T kinds are told apart as RFC 3948 §2.2 says: a zero first word is IKE, non-zero is ESP")
    func natt() {
        #expect(Array(TrafficPayloads.payload(.nattIKE, client: 3).prefix(4)) == [0, 0, 0, 0])
        let esp = TrafficPayloads.payload(.nattESP, client: 3)
        #expect(esp.prefix(4) != [0, 0, 0, 0])
        #expect(TrafficPayloads.espSPI(client: 0) > 255)   // RFC 4303 §2.1: 1–255 reserved
    }
}
