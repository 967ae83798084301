import Testing
@testable import Dataplane

@Suite("In-memory PacketIO")
struct FakePacketIOTests {
    @Test("frames come out in batches of at most batchLimit, in order, rewritable in place")
    func batches() throws {
        let io = FakePacketIO(batchLimit: 4)
        for id in UInt16(1)...10 { io.inject(TestFrames.udp(port: 500, id: id)) }
        var sizes: [Int] = []
        while true {
            let count = try io.receive { frames in
                sizes.append(frames.count)
                for i in frames.indices { frames[i].bytes[22] = 63 }   // TTL byte, in place
                try io.send(UnsafeBufferPointer(frames))
            }
            if count == 0 { break }
        }
        #expect(sizes == [4, 4, 2])
        let sent = io.takeTransmitted()
        #expect(sent.compactMap(TestFrames.ipID) == Array(1...10))
        #expect(sent.allSatisfy { $0[22] == 63 })
        #expect(io.statistics.received == 10 && io.statistics.sent == 10)
    }

    @Test("a full transmit queue drops and counts the rest")
    func sendCapacity() throws {
        let io = FakePacketIO(batchLimit: 8)
        io.sendCapacity = 3
        for id in UInt16(1)...5 { io.inject(TestFrames.esp(id: id), checksum: .partial) }
        _ = try io.receive { frames in
            #expect(frames.allSatisfy { $0.checksum == .partial })
            let accepted = try io.send(UnsafeBufferPointer(frames))
            #expect(accepted == 3)
        }
        #expect(io.statistics.sendDropped == 2)
    }
}
