import Testing
@testable import Dataplane

@Suite("Completing partial (offloaded) UDP checksums")
struct ChecksumCompletionTests {
    static func run(_ frame: [UInt8], _ state: ChecksumState) -> ([UInt8], ChecksumCompletion.Outcome) {
        var copy = frame
        let outcome = copy.withUnsafeMutableBytes { ChecksumCompletion.complete($0, state: state) }
        return (copy, outcome)
    }

    static func valid(_ frame: [UInt8]) -> Bool? {
        TestFrames.udpChecksumIsValid(frame)
    }

    @Test("a partial checksum is completed to the one a full sender computes",
          arguments: [0, 1, 2, 3, 17, 100, 1372])
    func partial(size: Int) {
        let data = (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ 3) }
        let full = TestFrames.udp(port: 500, id: 1, data: data)
        let partial = TestFrames.udp(port: 500, id: 1, data: data, partial: true)
        #expect(ChecksumCompletionTests.valid(full) == true)
        #expect(ChecksumCompletionTests.valid(partial) == false)
        let (completed, outcome) = ChecksumCompletionTests.run(partial, .partial)
        #expect(outcome == .completed)
        #expect(completed == full)
    }

    @Test("unknown state: recomputed from scratch, whether the field was full or partial")
    func unknown() {
        let full = TestFrames.udp(port: 4500, id: 2, data: Array("nat-t".utf8))
        let partial = TestFrames.udp(port: 4500, id: 2, data: Array("nat-t".utf8), partial: true)
        #expect(ChecksumCompletionTests.run(full, .unknown) == (full, .recomputed))
        #expect(ChecksumCompletionTests.run(partial, .unknown) == (full, .recomputed))
    }

    @Test("left alone: complete frames, no-checksum UDP, ESP, fragments")
    func leftAlone() {
        let full = TestFrames.udp(port: 500, id: 3)
        #expect(ChecksumCompletionTests.run(full, .complete).1 == .unchanged)
        var none = full
        none[40] = 0; none[41] = 0
        #expect(ChecksumCompletionTests.run(none, .unknown) == (none, .unchanged))
        #expect(ChecksumCompletionTests.run(TestFrames.esp(id: 4), .partial).1 == .notApplicable)
        let fragment = TestFrames.ipv4(protocol: 17, id: 5, payload: [UInt8](repeating: 1, count: 16), moreFragments: true)
        #expect(ChecksumCompletionTests.run(fragment, .partial).1 == .notApplicable)
        #expect(ChecksumCompletionTests.run([1, 2, 3], .partial).1 == .notApplicable)
    }
}
