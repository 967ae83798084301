import SLBWire

/// Builds Ethernet/IPv4 frames for dataplane tests, checksums included (RFC 791, RFC 768).
enum TestFrames {
    static let clientMAC: [UInt8] = [0x02, 0x53, 0x4c, 0x01, 0x00, 0x02]
    static let slbPublicMAC: [UInt8] = [0x02, 0x53, 0x4c, 0x01, 0x00, 0x00]
    static let vip = IPv4Address(203, 0, 113, 100)
    static let client = IPv4Address(192, 0, 2, 10)

    static func bytes(_ address: IPv4Address) -> [UInt8] {
        let o = address.octets
        return [o.0, o.1, o.2, o.3]
    }

    static func be16(_ value: UInt16) -> [UInt8] { [UInt8(value >> 8), UInt8(truncatingIfNeeded: value)] }

    static func sum(_ bytes: [UInt8]) -> UInt32 {
        var s: UInt32 = 0
        var i = 0
        while i + 1 < bytes.count { s += UInt32(bytes[i]) << 8 | UInt32(bytes[i + 1]); i += 2 }
        if i < bytes.count { s += UInt32(bytes[i]) << 8 }
        return s
    }

    static func fold(_ value: UInt32) -> UInt16 {
        var s = value
        while s > 0xffff { s = (s & 0xffff) + (s >> 16) }
        return UInt16(s)
    }

    /// An IPv4 packet in an Ethernet frame. `fragmentOffset` is in 8-byte units.
    static func ipv4(protocol proto: UInt8, source: IPv4Address = client, destination: IPv4Address = vip,
                     id: UInt16, payload: [UInt8], fragmentOffset: UInt16 = 0, moreFragments: Bool = false,
                     ttl: UInt8 = 64, sourceMAC: [UInt8] = clientMAC, destinationMAC: [UInt8] = slbPublicMAC) -> [UInt8] {
        var header: [UInt8] = [0x45, 0] + be16(UInt16(20 + payload.count)) + be16(id)
        header += be16((moreFragments ? 0x2000 : 0) | fragmentOffset)
        header += [ttl, proto, 0, 0] + bytes(source) + bytes(destination)
        let checksum = ~fold(sum(header))
        header[10] = UInt8(checksum >> 8); header[11] = UInt8(truncatingIfNeeded: checksum)
        return destinationMAC + sourceMAC + [0x08, 0x00] + header + payload
    }

    /// A UDP datagram; `checksum: .partial` leaves only the pseudo-header sum in the field, as
    /// a sender with TX offload does.
    static func udp(source: IPv4Address = client, sourcePort: UInt16 = 500, destination: IPv4Address = vip,
                    port: UInt16, id: UInt16, data: [UInt8] = Array("ike".utf8), partial: Bool = false,
                    ttl: UInt8 = 64, sourceMAC: [UInt8] = clientMAC, destinationMAC: [UInt8] = slbPublicMAC) -> [UInt8] {
        let length = UInt16(8 + data.count)
        var datagram = be16(sourcePort) + be16(port) + be16(length) + [0, 0] + data
        let pseudo = sum(bytes(source) + bytes(destination)) + 17 + UInt32(length)
        let value = partial ? fold(pseudo) : ~fold(pseudo + sum(datagram))
        let field = value == 0 && !partial ? 0xffff : value
        datagram[6] = UInt8(field >> 8); datagram[7] = UInt8(truncatingIfNeeded: field)
        return ipv4(protocol: 17, source: source, destination: destination, id: id, payload: datagram, ttl: ttl,
                    sourceMAC: sourceMAC, destinationMAC: destinationMAC)
    }

    static func esp(id: UInt16, spi: UInt32 = 0x1234_5678) -> [UInt8] {
        let payload = be16(UInt16(spi >> 16)) + be16(UInt16(truncatingIfNeeded: spi)) + [0, 0, 0, 1] + [UInt8](repeating: 0xab, count: 16)
        return ipv4(protocol: 50, id: id, payload: payload)
    }

    /// The IPv4 identification field of an Ethernet/IPv4 frame: the tests' marker.
    static func ipID(_ frame: [UInt8]) -> UInt16? {
        guard frame.count >= 34 else { return nil }
        return UInt16(frame[18]) << 8 | UInt16(frame[19])
    }

    static func arpRequest(for target: IPv4Address) -> [UInt8] {
        [0xff, 0xff, 0xff, 0xff, 0xff, 0xff] + clientMAC + [0x08, 0x06,
         0x00, 0x01, 0x08, 0x00, 6, 4, 0x00, 0x01] + clientMAC + bytes(client) + [0, 0, 0, 0, 0, 0] + bytes(target)
    }

    /// True when a UDP frame's checksum verifies (or none was sent): what the gateway checks.
    static func udpChecksumIsValid(_ frame: [UInt8]) -> Bool? {
        guard case .ipv4(let packet) = PacketView.parse(frame), case .udp(let udp) = packet.transport else { return nil }
        if udp.checksum == 0 { return true }
        var sum = InternetChecksum()
        sum.addPseudoHeader(source: packet.source, destination: packet.destination, protocol: .udp, length: UInt16(udp.length))
        sum.add(Array(frame[packet.transportOffset..<(packet.transportOffset + udp.length)]))
        return sum.verifies
    }

    /// An ICMP message (echo request type 8 by default) with a valid checksum.
    static func icmpEcho(type: UInt8, identifier: UInt16 = 0x1234, sequence: UInt16 = 1) -> [UInt8] {
        var message: [UInt8] = [type, 0, 0, 0] + be16(identifier) + be16(sequence) + Array("ping".utf8)
        let checksum = ~fold(sum(message))
        message[2] = UInt8(checksum >> 8); message[3] = UInt8(truncatingIfNeeded: checksum)
        return message
    }

    /// Destination unreachable / port unreachable (RFC 792) quoting `datagram` (IP header + 8).
    static func icmpError(quoting datagram: [UInt8]) -> [UInt8] {
        var message: [UInt8] = [3, 3, 0, 0, 0, 0, 0, 0] + datagram
        let checksum = ~fold(sum(message))
        message[2] = UInt8(checksum >> 8); message[3] = UInt8(truncatingIfNeeded: checksum)
        return message
    }
}
