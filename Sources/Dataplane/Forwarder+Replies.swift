import SLBCore
import SLBWire

/// Directed mode (`nat server`), real → client. The gateways route back through the SLB; their
/// replies are captured on the inside interface (`ReplyFilter`: source a directed real, the
/// vservers' ports / ESP / later fragments), the kernel is told to drop the same traffic
/// (`VIPDropTable`), and here the source becomes the VIP and virtual port again before the
/// frame leaves on the public side to the client's previous hop.
extension Forwarder {
    /// Handles one batch received on the inside interface; sends on the public side.
    public func processReplies<TX: PacketIO>(_ frames: UnsafeMutableBufferPointer<Frame>, now: MonotonicTime,
                                             transmit: TX) throws {
        var count = 0
        for index in frames.indices {
            counters.repliesReceived += 1
            if handleReply(frames[index].bytes, checksum: frames[index].checksum) {
                outgoingBuffer[count] = frames[index]
                count += 1
            }
            if count == outgoingBuffer.count {
                try flushReplies(count, transmit)
                count = 0
            }
        }
        if count > 0 { try flushReplies(count, transmit) }
    }

    private func flushReplies<TX: PacketIO>(_ count: Int, _ transmit: TX) throws {
        let sent = try transmit.send(UnsafeBufferPointer(rebasing: outgoingBuffer[0..<count]))
        counters.repliesForwarded += UInt64(sent)
        counters.sendDropped += UInt64(count - sent)
    }

    func handleReply(_ frame: UnsafeMutableRawBufferPointer, checksum: ChecksumState) -> Bool {
        guard case .ipv4(var packet) = PacketView.parse(UnsafeRawBufferPointer(frame)) else {
            counters.malformed += 1
            return false
        }
        guard !packet.ethernet.destination.isMulticast else {
            counters.notUnicast += 1
            return false
        }
        _ = ChecksumCompletion.complete(frame, packet: &packet, state: checksum)
        let real = packet.source
        let vip: IPv4Address
        var port: UInt16?
        switch packet.transport {
        case .laterFragment:
            guard let address = replies.vip(forFragmentFrom: real) else { return unmatched() }
            vip = address
        case .udp(let udp):
            guard let target = replies.target(real: real, ipProtocol: .udp, port: udp.sourcePort) else { return unmatched() }
            vip = target.vip
            port = target.port
        case .esp:
            guard let target = replies.target(real: real, ipProtocol: .esp, port: 0) else { return unmatched() }
            vip = target.vip
        case .icmp(let icmp):
            return translateError(frame, &packet, icmp)
        case .tcp, .other:
            return unmatched()
        }
        let client = packet.destination
        guard let publicMAC, let mac = clientMACs[client] ?? publicNeighbours[client] else {
            counters.repliesNoNeighbour += 1
            return false
        }
        if PacketRewrite.decrementTTL(in: frame, packet: &packet) != nil {
            counters.ttlExpired += 1
            return false
        }
        guard PacketRewrite.rewriteSource(in: frame, packet: &packet, address: vip, port: port) == nil else {
            counters.directedUnsupported += 1
            return false
        }
        return PacketRewrite.setMACs(in: frame, destination: mac, source: publicMAC)
    }

    /// A real's ICMP error about a datagram the client sent it (port unreachable, fragmentation
    /// needed, ...): the client must see it as the VIP's, about a datagram to the VIP, or it
    /// cannot match it to its socket (RFC 5508 §4.2): outer source real → VIP (when the real
    /// itself sent it), quoted destination real → VIP and real port → virtual port.
    private func translateError(_ frame: UnsafeMutableRawBufferPointer, _ packet: inout ParsedPacket, _ icmp: ICMPMessage) -> Bool {
        guard case .error(let quote) = icmp.body, icmp.type != ReplyFilter.redirectType else { return unmatched() }
        let port = quote.ipProtocol == .udp ? quote.destinationPort : 0
        guard let target = replies.target(real: quote.destination, ipProtocol: quote.ipProtocol, port: port) else {
            return unmatched()
        }
        let client = packet.destination
        guard let publicMAC, let mac = clientMACs[client] ?? publicNeighbours[client] else {
            counters.repliesNoNeighbour += 1
            return false
        }
        if PacketRewrite.decrementTTL(in: frame, packet: &packet) != nil {
            counters.ttlExpired += 1
            return false
        }
        var failed: PacketDropReason?
        if packet.source == quote.destination {
            failed = PacketRewrite.rewriteSource(in: frame, packet: &packet, address: target.vip)
        }
        failed = failed ?? PacketRewrite.rewriteQuotedDestination(in: frame, packet: &packet, address: target.vip,
                                                                    port: quote.ipProtocol == .udp ? target.port : nil)
        guard failed == nil else {
            counters.directedUnsupported += 1
            return false
        }
        return PacketRewrite.setMACs(in: frame, destination: mac, source: publicMAC)
    }

    private func unmatched() -> Bool {
        counters.repliesUnmatched += 1
        return false
    }
}
