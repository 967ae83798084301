import Testing
import SLBWire

@Suite struct IPv4FragmenterTests {
    static func datagram(size: Int, options: [UInt8] = [], dontFragment: Bool = false) -> [UInt8] {
        var fields = Lab.ip(id: 0xBEEF)
        fields.options = options
        fields.dontFragment = dontFragment
        let headerLength = 20 + (options.count + 3) / 4 * 4
        let payload = (0..<(size - headerLength - 8)).map { UInt8(truncatingIfNeeded: $0) }
        return FrameBuilder.ipv4(fields, protocol: .udp,
                                 payload: FrameBuilder.udp(source: Lab.client, destination: Lab.vip, sourcePort: 500,
                                                           destinationPort: 500, payload: payload))
    }

    static func parse(_ fragment: [UInt8]) -> IPv4Header? {
        guard case .success(let header) = fragment.withUnsafeBytes({ IPv4Header.parse($0, at: 0, verifyChecksum: true) }) else {
            return nil
        }
        return header
    }

    struct Shape: Sendable, CustomTestStringConvertible {
        let size: Int
        let mtu: Int
        let lengths: [Int]
        let offsets: [Int]
        var testDescription: String { "\(size) bytes at MTU \(mtu)" }
    }

    /// RFC 791 §3.2: data per fragment is the largest multiple of 8 that fits; all but the
    /// last carry MF.
    @Test(arguments: [
        Shape(size: 3000, mtu: 1500, lengths: [1500, 1500, 40], offsets: [0, 1480, 2960]),
        Shape(size: 3000, mtu: 1280, lengths: [1276, 1276, 488], offsets: [0, 1256, 2512]),
        Shape(size: 1500, mtu: 1500, lengths: [1500], offsets: [0]),
        Shape(size: 600, mtu: 576, lengths: [572, 48], offsets: [0, 552]),
        Shape(size: 100, mtu: 68, lengths: [68, 52], offsets: [0, 48]),
    ])
    func splitsAtEightByteBoundaries(_ shape: Shape) throws {
        let original = Self.datagram(size: shape.size)
        guard case .success(let fragments) = IPv4Fragmenter.fragment(original, mtu: shape.mtu) else {
            Issue.record("fragmentation failed"); return
        }
        let headers = fragments.compactMap(Self.parse)
        #expect(headers.count == fragments.count)
        #expect(fragments.map(\.count) == shape.lengths)
        #expect(headers.map(\.fragmentOffset) == shape.offsets)
        #expect(headers.map(\.moreFragments) == shape.offsets.indices.map { $0 < shape.offsets.count - 1 })
        #expect(headers.allSatisfy { $0.identification == 0xBEEF && $0.ipProtocol == .udp && $0.source == Lab.client })
        let data = fragments.flatMap { $0[20...] }
        #expect(Array(data) == Array(original[20...]))
    }

    /// Later fragments repeat only options with the copied flag (RFC 791 §3.1).
    @Test func copiesOnlyCopiedOptions() throws {
        let security: [UInt8] = [0x82, 4, 0xAA, 0xBB]
        let recordRoute: [UInt8] = [0x07, 7, 4, 0, 0, 0, 0]
        let original = Self.datagram(size: 1000, options: recordRoute + [0x01] + security)
        guard case .success(let fragments) = IPv4Fragmenter.fragment(original, mtu: 576) else {
            Issue.record("fragmentation failed"); return
        }
        let headers = fragments.compactMap(Self.parse)
        #expect(headers.first?.headerLength == 32)
        #expect(headers.dropFirst().allSatisfy { $0.headerLength == 24 })
        #expect(fragments.dropFirst().allSatisfy { Array($0[20..<24]) == security })
        let data = fragments.enumerated().flatMap { index, fragment in fragment[(index == 0 ? 32 : 24)...] }
        #expect(Array(data) == Array(original[32...]))
    }

    @Test func refragmentingAFragmentKeepsOffsetsAndMF() throws {
        guard case .success(let first) = IPv4Fragmenter.fragment(Self.datagram(size: 3000), mtu: 1500),
              case .success(let again) = IPv4Fragmenter.fragment(first[1], mtu: 576) else {
            Issue.record("fragmentation failed"); return
        }
        let headers = again.compactMap(Self.parse)
        #expect(headers.map(\.fragmentOffset) == [1480, 2032, 2584])
        #expect(headers.allSatisfy { $0.moreFragments })
    }

    @Test func refusals() {
        #expect(IPv4Fragmenter.fragment(Self.datagram(size: 3000, dontFragment: true), mtu: 1500) == .failure(.dontFragment))
        #expect(IPv4Fragmenter.fragment(Self.datagram(size: 3000), mtu: 27) == .failure(.mtuTooSmall))
        #expect(IPv4Fragmenter.fragment([0x45, 0], mtu: 1500) == .failure(.malformed(.truncatedIPv4)))
        #expect(IPv4Fragmenter.fragment(Self.datagram(size: 1000, options: [0x82, 9, 0, 0]), mtu: 576) == .failure(.badOptions))
    }
}
