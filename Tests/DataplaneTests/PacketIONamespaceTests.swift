import Dataplane
import Lab
import SLBConfig
import SLBWire
import Testing

/// Both real backends on a real veth + bridge, in a lab: the client host sends, the slb's
/// public bridge receives through the VIP filter.
@Suite("PacketIO backends in network namespaces (root)", .serialized,
       .enabled(if: NetworkNamespace.isAvailable, "needs root and iproute2 `ip netns`: namespace PacketIO tests skipped"))
struct PacketIONamespaceTests {
    enum Backend: String, CaseIterable, Sendable, CustomTestStringConvertible {
        case packetSocket, pcap
        var testDescription: String { rawValue }

        func open(_ interface: String, filter: BPFProgram?) throws -> any PacketIO {
            switch self {
            case .packetSocket: try PacketSocketIO(.init(interface: interface, filter: filter))
            case .pcap: try PcapIO(.init(interface: interface, filter: filter))
            }
        }
    }

    static let filter: BPFProgram = {
        // The NAT-T farm's three vservers on the lab VIP.
        let vip = IPv4Address(203, 0, 113, 100)
        let vservers = [VirtualServer(name: "IKE", address: vip, service: .udp(port: 500)),
                        VirtualServer(name: "NATT", address: vip, service: .udp(port: 4500)),
                        VirtualServer(name: "ESP", address: vip, service: .esp)]
        return try! BPFProgram(compiling: VIPFilter.expression(for: vservers)!)
    }()

    @Test("wire frames pass the filter, others do not, our own outgoing frames are ignored",
          arguments: Backend.allCases)
    func filterAndDirection(backend: Backend) throws {
        let lab = try LabFixture(gateways: 1)
        defer { lab.tearDown() }
        let rx = try lab.inside(lab.plan.slbNamespace) { try backend.open(LabPlan.clientBridge, filter: PacketIONamespaceTests.filter) }
        let own = try lab.inside(lab.plan.slbNamespace) { try backend.open(LabPlan.clientBridge, filter: nil) }
        let client = try lab.inside(lab.plan.clientNamespace) { try backend.open(LabPlan.hostInterface, filter: nil) }

        // The slb itself sends a frame that matches the filter out of the same bridge.
        let outgoing = TestFrames.udp(port: 500, id: 900, sourceMAC: TestFrames.slbPublicMAC,
                                      destinationMAC: TestFrames.clientMAC)
        #expect(try send(own, [outgoing]) == 1)

        let table: [([UInt8], Bool)] = [
            (TestFrames.udp(port: 500, id: 1), true),
            (TestFrames.udp(port: 53, id: 2), false),
            (TestFrames.udp(sourcePort: 4500, port: 4500, id: 3), true),
            (TestFrames.udp(destination: IPv4Address(192, 0, 2, 1), port: 500, id: 4), false),
            (TestFrames.esp(id: 5), true),
            (TestFrames.ipv4(protocol: 17, id: 6, payload: [UInt8](repeating: 9, count: 32), fragmentOffset: 185), true),
            (TestFrames.ipv4(protocol: 1, id: 7, payload: [8, 0, 0, 0, 0, 0, 0, 0]), true),  // ICMP to the VIP: answered or sent to the real
            (TestFrames.ipv4(protocol: 1, destination: IPv4Address(192, 0, 2, 1), id: 8, payload: [8, 0, 0, 0, 0, 0, 0, 0]), false),
        ]
        #expect(try send(client, table.map(\.0)) == table.count)
        let admitted = table.filter(\.1).compactMap { TestFrames.ipID($0.0) }
        var received = try collect(rx, count: admitted.count, timeout: .seconds(2))
        // Anything extra (the outgoing frame, a filtered one) would arrive by now.
        received += try collect(rx, count: 1, timeout: .milliseconds(200))
        #expect(received.compactMap { TestFrames.ipID($0.0) } == admitted)
        #expect(received.map(\.0) == table.filter(\.1).map(\.0), "frames arrive byte for byte")
        #expect(rx.statistics.received == UInt64(admitted.count))
    }

    @Test("a kernel-sent UDP datagram with an offloaded checksum is flagged and completed",
          arguments: Backend.allCases)
    func partialChecksum(backend: Backend) throws {
        let lab = try LabFixture(gateways: 1)
        defer { lab.tearDown() }
        let rx = try lab.inside(lab.plan.slbNamespace) { try backend.open(LabPlan.clientBridge, filter: PacketIONamespaceTests.filter) }
        let socket = try lab.inside(lab.plan.clientNamespace) { try UDPSocket() }
        let payload = [UInt8]("an IKE_SA_INIT would go here".utf8)
        try socket.send(payload, to: LabAddressPlan.vip, port: 500)

        let received = try collect(rx, count: 1, timeout: .seconds(3))
        let (frame, state) = try #require(received.first)
        #expect(frame.suffix(payload.count).elementsEqual(payload))
        switch backend {
        case .packetSocket: #expect(state == .partial, "veth TX offload should leave CHECKSUM_PARTIAL")
        case .pcap: #expect(state == .unknown)
        }
        var fixed = frame
        let outcome = fixed.withUnsafeMutableBytes { ChecksumCompletion.complete($0, state: state) }
        #expect(outcome == (state == .partial ? .completed : .recomputed))
        #expect(TestFrames.udpChecksumIsValid(fixed) == true)
    }

    private func send(_ io: any PacketIO, _ frames: [[UInt8]]) throws -> Int {
        var copies = frames
        var total = 0
        for index in copies.indices {
            total += try copies[index].withUnsafeMutableBytes { bytes in
                let frame = Frame(bytes: bytes, checksum: .complete)
                return try withUnsafePointer(to: frame) { try io.send(UnsafeBufferPointer(start: $0, count: 1)) }
            }
        }
        return total
    }
}
