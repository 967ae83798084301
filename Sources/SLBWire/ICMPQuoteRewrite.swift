/// Directed-mode NAT of ICMP errors (RFC 5508 §4.2, the behaviour of Linux' nf_nat for ICMP
/// errors): when the outer destination of an error is translated, the datagram it quotes must
/// be translated the opposite way, or the receiver cannot match it to its socket.
///
/// - client → VIP error about a datagram the VIP sent: outer destination VIP → real
///   (`rewriteDestination`), quoted *source* VIP → real (`rewriteQuotedSource`).
/// - real → client error about a datagram the client sent to the real: outer source real → VIP
///   (`rewriteSource`), quoted *destination* real → VIP (`rewriteQuotedDestination`).
///
/// The quoted header checksum, the quoted UDP checksum (when non-zero and quoted) and the ICMP
/// checksum (which covers the quote) are patched incrementally; every changed field is 16-bit
/// aligned within the ICMP message, so RFC 1624 applies word by word.
extension PacketRewrite {
    @inlinable
    public static func rewriteQuotedSource(in frame: UnsafeMutableRawBufferPointer, packet: inout ParsedPacket,
                                           address: IPv4Address, port: UInt16? = nil) -> PacketDropReason? {
        rewriteQuote(in: frame, packet: &packet, source: true, address: address, port: port)
    }

    @inlinable
    public static func rewriteQuotedDestination(in frame: UnsafeMutableRawBufferPointer, packet: inout ParsedPacket,
                                                address: IPv4Address, port: UInt16? = nil) -> PacketDropReason? {
        rewriteQuote(in: frame, packet: &packet, source: false, address: address, port: port)
    }

    @inlinable
    static func rewriteQuote(in frame: UnsafeMutableRawBufferPointer, packet: inout ParsedPacket, source: Bool,
                             address: IPv4Address, port: UInt16?) -> PacketDropReason? {
        guard fits(packet, frame), case .icmp(var icmp) = packet.transport, case .error(var quote) = icmp.body else {
            return .parseMismatch
        }
        let icmpOffset = packet.transportOffset
        let quoted = quote.headerOffset
        guard quoted >= icmpOffset + ICMPMessage.headerLength, quoted + IPv4Header.minimumLength <= packet.ipEnd else {
            return .parseMismatch
        }
        let quotedHeaderLength = Int(frame[quoted] & 0x0F) * 4
        let transport = quoted + quotedHeaderLength
        guard quotedHeaderLength >= IPv4Header.minimumLength,
              transport + ICMPQuote.quotedPayloadLength <= packet.ipEnd else { return .parseMismatch }

        var icmpChecksum = frame.wireUInt16(at: icmpOffset + ICMPMessage.checksumOffset)
        func store16(_ value: UInt16, at offset: Int) {
            let old = frame.wireUInt16(at: offset)
            frame.setWireUInt16(value, at: offset)
            icmpChecksum = InternetChecksum.update(icmpChecksum, old: old, new: value)
        }

        // Quoted address and the quoted header's own checksum.
        let field = quoted + (source ? IPv4Header.sourceOffset : IPv4Header.destinationOffset)
        let oldAddress = frame.wireUInt32(at: field)
        store16(UInt16(truncatingIfNeeded: address.value >> 16), at: field)
        store16(UInt16(truncatingIfNeeded: address.value), at: field + 2)
        let quotedChecksumOffset = quoted + IPv4Header.checksumOffset
        store16(InternetChecksum.update(frame.wireUInt16(at: quotedChecksumOffset), old32: oldAddress, new32: address.value),
                at: quotedChecksumOffset)
        if source { quote.source = address } else { quote.destination = address }

        // Quoted UDP/TCP ports and checksum, when the quote starts the transport header.
        if quote.fragmentOffset == 0, quote.ipProtocol == .udp || quote.ipProtocol == .tcp {
            let checksumField = transport + (quote.ipProtocol == .udp ? UDPHeader.checksumOffset : TCPHeader.checksumOffset)
            let checksumQuoted = checksumField + 2 <= packet.ipEnd
            var l4 = checksumQuoted ? frame.wireUInt16(at: checksumField) : 0
            let udpWithoutChecksum = quote.ipProtocol == .udp && l4 == 0
            if checksumQuoted, !udpWithoutChecksum {
                l4 = quote.ipProtocol == .udp ? InternetChecksum.updateUDP(l4, old32: oldAddress, new32: address.value)
                                              : InternetChecksum.update(l4, old32: oldAddress, new32: address.value)
            }
            if let port {
                let portField = transport + (source ? 0 : 2)
                let oldPort = frame.wireUInt16(at: portField)
                store16(port, at: portField)
                if checksumQuoted, !udpWithoutChecksum {
                    l4 = quote.ipProtocol == .udp ? InternetChecksum.updateUDP(l4, old: oldPort, new: port)
                                                  : InternetChecksum.update(l4, old: oldPort, new: port)
                }
                if source { quote.sourcePort = port } else { quote.destinationPort = port }
            }
            if checksumQuoted { store16(l4, at: checksumField) }
        }

        frame.setWireUInt16(icmpChecksum, at: icmpOffset + ICMPMessage.checksumOffset)
        icmp.checksum = icmpChecksum
        icmp.body = .error(quote)
        packet.transport = .icmp(icmp)
        return nil
    }
}

extension PacketRewrite {
    public static func rewriteQuotedSource(in frame: inout [UInt8], packet: inout ParsedPacket,
                                           address: IPv4Address, port: UInt16? = nil) -> PacketDropReason? {
        frame.withUnsafeMutableBytes { rewriteQuotedSource(in: $0, packet: &packet, address: address, port: port) }
    }

    public static func rewriteQuotedDestination(in frame: inout [UInt8], packet: inout ParsedPacket,
                                                address: IPv4Address, port: UInt16? = nil) -> PacketDropReason? {
        frame.withUnsafeMutableBytes { rewriteQuotedDestination(in: $0, packet: &packet, address: address, port: port) }
    }
}
