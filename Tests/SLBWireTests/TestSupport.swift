import SLBWire

/// Lab addresses (RFC 5737, DESIGN.md address plan) and MACs (locally administered) used by
/// every packet table.
enum Lab {
    static let client = IPv4Address(192, 0, 2, 10)
    static let vip = IPv4Address(203, 0, 113, 100)
    static let real1 = IPv4Address(198, 51, 100, 11)
    static let real2 = IPv4Address(198, 51, 100, 12)
    static let slbPublic = IPv4Address(192, 0, 2, 1)
    static let slbInside = IPv4Address(198, 51, 100, 1)

    static let clientMAC = MACAddress(0x02, 0x00, 0x00, 0x00, 0x00, 0x0A)
    static let slbMAC = MACAddress(0x02, 0x00, 0x00, 0x00, 0x00, 0x01)
    static let slbInsideMAC = MACAddress(0x02, 0x00, 0x00, 0x00, 0x01, 0x01)
    static let real1MAC = MACAddress(0x02, 0x00, 0x00, 0x00, 0x01, 0x0B)

    static let toSLB = FrameBuilder.Link(destination: slbMAC, source: clientMAC)
    static let toReal1 = FrameBuilder.Link(destination: real1MAC, source: slbInsideMAC)

    static func ip(_ source: IPv4Address = client, _ destination: IPv4Address = vip, id: UInt16 = 0x1234,
                   ttl: UInt8 = 64) -> FrameBuilder.IPv4Fields {
        FrameBuilder.IPv4Fields(source: source, destination: destination, identification: id, ttl: ttl)
    }

    /// 28 bytes shaped like an IKE header (SPIs, next payload SA, version 2.0, IKE_SA_INIT).
    static let ikeHeader: [UInt8] = [0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88,
                                     0, 0, 0, 0, 0, 0, 0, 0,
                                     0x21, 0x20, 0x22, 0x08, 0, 0, 0, 0, 0, 0, 0, 0x1C]

    static var isakmpFrame: [UInt8] {
        FrameBuilder.udpFrame(toSLB, ip(), sourcePort: 500, destinationPort: 500, payload: ikeHeader)
    }
    static var natTIKEFrame: [UInt8] {
        FrameBuilder.udpFrame(toSLB, ip(), sourcePort: 4500, destinationPort: 4500,
                              payload: FrameBuilder.natTraversalIKE(ikeHeader))
    }
    static var natTESPFrame: [UInt8] {
        FrameBuilder.udpFrame(toSLB, ip(), sourcePort: 4500, destinationPort: 4500,
                              payload: FrameBuilder.esp(spi: 0xC0FF_EE01, sequence: 7, payload: Array(repeating: 0xAB, count: 40)))
    }
    static var keepaliveFrame: [UInt8] {
        FrameBuilder.udpFrame(toSLB, ip(), sourcePort: 4500, destinationPort: 4500,
                              payload: FrameBuilder.natKeepalive, padToMinimum: true)
    }
    static var espFrame: [UInt8] {
        FrameBuilder.espFrame(toSLB, ip(), spi: 0xC0FF_EE02, sequence: 1, payload: Array(repeating: 0x5A, count: 48))
    }
    static var pingFrame: [UInt8] {
        FrameBuilder.icmpEchoFrame(toSLB, ip(), request: true, identifier: 0x4242, sequence: 3,
                                   payload: Array(0..<32))
    }
    static var tcpFrame: [UInt8] {
        var segment: [UInt8] = [0xC3, 0x50, 0x01, 0xBB] + Array(repeating: 0, count: 16)
        segment[12] = 0x50
        var sum = InternetChecksum()
        sum.addPseudoHeader(source: client, destination: vip, protocol: .tcp, length: UInt16(segment.count))
        sum.add(segment)
        let checksum = sum.checksum
        segment[16] = UInt8(checksum >> 8)
        segment[17] = UInt8(checksum & 0xFF)
        return FrameBuilder.ethernet(toSLB, etherType: .ipv4, payload: FrameBuilder.ipv4(ip(), protocol: .tcp, payload: segment))
    }
    static var arpRequestFrame: [UInt8] {
        FrameBuilder.arpRequest(senderMAC: slbInsideMAC, senderIP: slbInside, target: real1)
    }

    /// A 3000-byte ISAKMP datagram (the fragment tests' size), fragmented for MTU 1500.
    static var bigISAKMPFragments: [[UInt8]] {
        let payload = ikeHeader + [UInt8](repeating: 0xEE, count: 3000 - 28 - 8 - 20)
        let segment = FrameBuilder.udp(source: client, destination: vip, sourcePort: 500, destinationPort: 500, payload: payload)
        let datagram = FrameBuilder.ipv4(ip(id: 0xBEEF), protocol: .udp, payload: segment)
        guard case .success(let fragments) = IPv4Fragmenter.fragment(datagram, mtu: 1500) else { return [] }
        return fragments.map { FrameBuilder.ethernet(toSLB, etherType: .ipv4, payload: $0) }
    }

    /// Every valid frame of the tables, for the never-trap sweeps.
    static var allValidFrames: [[UInt8]] {
        [isakmpFrame, natTIKEFrame, natTESPFrame, keepaliveFrame, espFrame, pingFrame, tcpFrame, arpRequestFrame,
         icmpErrorFrame, vlanFrame, optionsFrame] + bigISAKMPFragments
    }

    /// "Port unreachable" from the client about a packet the VIP sent it.
    static var icmpErrorFrame: [UInt8] {
        let original = FrameBuilder.ipv4(ip(vip, client, id: 0x7777), protocol: .udp,
                                         payload: FrameBuilder.udp(source: vip, destination: client, sourcePort: 4500,
                                                                   destinationPort: 4501, payload: Array(repeating: 1, count: 60)))
        return FrameBuilder.ethernet(toSLB, etherType: .ipv4,
                                     payload: FrameBuilder.ipv4(ip(), protocol: .icmp,
                                                                payload: FrameBuilder.icmpError(type: 3, code: 3, quoting: original)))
    }

    static var vlanFrame: [UInt8] {
        FrameBuilder.udpFrame(FrameBuilder.Link(destination: slbMAC, source: clientMAC, vlanID: 42), ip(),
                              sourcePort: 500, destinationPort: 500, payload: ikeHeader)
    }

    /// IHL 7: a Record Route option (not copied) and a NOP+EOL pad.
    static var optionsFrame: [UInt8] {
        var fields = ip()
        fields.options = [0x07, 7, 4, 0, 0, 0, 0, 0x01]
        let segment = FrameBuilder.udp(source: client, destination: vip, sourcePort: 500, destinationPort: 500, payload: ikeHeader)
        return FrameBuilder.ethernet(toSLB, etherType: .ipv4, payload: FrameBuilder.ipv4(fields, protocol: .udp, payload: segment))
    }
}

/// Deterministic PRNG (SplitMix64) so fuzz runs are reproducible from their seed.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

func hex(_ text: String) -> [UInt8] {
    var bytes: [UInt8] = []
    var high: UInt8?
    for character in text.unicodeScalars {
        guard let nibble = UInt8(String(character), radix: 16) else { continue }
        if let h = high { bytes.append(h << 4 | nibble); high = nil } else { high = nibble }
    }
    return bytes
}

func hexString(_ bytes: [UInt8]) -> String {
    bytes.map { String($0, radix: 16).count == 1 ? "0" + String($0, radix: 16) : String($0, radix: 16) }.joined()
}

/// Full recomputation, the reference the incremental updates are compared with.
func recomputedIPChecksum(_ frame: [UInt8], ipOffset: Int) -> UInt16 {
    var copy = frame
    let headerLength = Int(copy[ipOffset] & 0x0F) * 4
    copy[ipOffset + 10] = 0
    copy[ipOffset + 11] = 0
    return InternetChecksum.checksum(Array(copy[ipOffset..<(ipOffset + headerLength)]))
}

func recomputedUDPChecksum(_ frame: [UInt8], packet: ParsedPacket) -> UInt16 {
    guard case .udp(let udp) = packet.transport else { return 0 }
    var segment = Array(frame[packet.transportOffset..<(packet.transportOffset + udp.length)])
    segment[6] = 0
    segment[7] = 0
    var sum = InternetChecksum()
    sum.addPseudoHeader(source: packet.source, destination: packet.destination, protocol: .udp, length: UInt16(udp.length))
    sum.add(segment)
    let value = sum.checksum
    return value == 0 ? 0xFFFF : value
}
