import SLBCore
import SLBWire

/// ICMP to a VIP (the public capture filter admits it, the drop table keeps the kernel out):
/// - echo request: answered by the SLB itself while a vserver on that VIP is OPERATIONAL, as
///   IOS does, so a client's reachability test says what the load balancer can serve;
/// - an error (unreachable, time exceeded, ...) quoting a datagram the VIP sent: sent to the
///   real of that connection (directed mode: outer destination and quoted source translated,
///   RFC 5508 §4.2), so PMTU discovery and port-unreachable reach the gateway that sent it;
/// - anything else: counted and dropped.
extension Forwarder {
    func handleICMP(_ frame: UnsafeMutableRawBufferPointer, _ packet: inout ParsedPacket, _ icmp: ICMPMessage,
                    now: MonotonicTime) -> Bool {
        guard !packet.fragment.isFragment else {
            counters.echoIgnored += 1
            return false
        }
        switch icmp.body {
        case .echo where icmp.type == 8:
            answerEcho(frame, packet)
            return false
        case .error(let quote):
            return forwardError(frame, &packet, quote, now: now)
        case .echo, .other:
            counters.echoIgnored += 1
            return false
        }
    }

    /// Once a second: which VIPs answer echo (from the engine's vserver states).
    public func updateAnsweringVIPs(now: MonotonicTime) {
        let snapshot = engine.snapshot(now: now, connections: .none)
        answeringVIPs = Set(snapshot.vservers.filter { $0.state == .operational }.map(\.address))
        icmpErrorBudget = Forwarder.icmpErrorLookupsPerSecond
    }

    /// Builds the echo reply as a copy (slow path) for `sendAnswers`.
    private func answerEcho(_ frame: UnsafeMutableRawBufferPointer, _ packet: ParsedPacket) {
        guard answeringVIPs.contains(packet.destination), packet.ipEnd <= frame.count else {
            counters.echoIgnored += 1
            return
        }
        var reply = Array(UnsafeRawBufferPointer(rebasing: frame[0..<packet.ipEnd]))
        let ip = packet.ipOffset
        let icmpOffset = packet.transportOffset
        guard icmpOffset + 4 <= reply.count else { counters.echoIgnored += 1; return }
        // Swap the addresses (the header checksum is a sum: unchanged by a swap), fresh TTL.
        let source = packet.source.value, destination = packet.destination.value
        store(destination, into: &reply, at: ip + IPv4Header.sourceOffset)
        store(source, into: &reply, at: ip + IPv4Header.destinationOffset)
        let oldTTLWord = UInt16(reply[ip + IPv4Header.ttlOffset]) << 8 | UInt16(reply[ip + IPv4Header.protocolOffset])
        reply[ip + IPv4Header.ttlOffset] = 64
        let newTTLWord = UInt16(64) << 8 | UInt16(reply[ip + IPv4Header.protocolOffset])
        let ipChecksum = UInt16(reply[ip + IPv4Header.checksumOffset]) << 8 | UInt16(reply[ip + IPv4Header.checksumOffset + 1])
        store16(InternetChecksum.update(ipChecksum, old: oldTTLWord, new: newTTLWord), into: &reply, at: ip + IPv4Header.checksumOffset)
        // Type 8 → 0 (RFC 792); the ICMP checksum covers it.
        let oldTypeWord = UInt16(reply[icmpOffset]) << 8 | UInt16(reply[icmpOffset + 1])
        reply[icmpOffset] = 0
        let newTypeWord = UInt16(reply[icmpOffset + 1])
        let icmpChecksum = UInt16(reply[icmpOffset + 2]) << 8 | UInt16(reply[icmpOffset + 3])
        store16(InternetChecksum.update(icmpChecksum, old: oldTypeWord, new: newTypeWord), into: &reply, at: icmpOffset + 2)
        let ok = reply.withUnsafeMutableBytes {
            PacketRewrite.setMACs(in: $0, destination: packet.ethernet.source, source: publicMAC ?? packet.ethernet.destination)
        }
        guard ok else { counters.echoIgnored += 1; return }
        counters.echoAnswered += 1
        answers.append(reply)
    }

    private func forwardError(_ frame: UnsafeMutableRawBufferPointer, _ packet: inout ParsedPacket, _ quote: ICMPQuote,
                              now: MonotonicTime) -> Bool {
        // The quoted datagram went VIP → client: its destination is the client (the outer
        // source may be a router on the way).
        guard icmpErrorBudget > 0 else {
            counters.icmpErrorsUnmatched += 1
            return false
        }
        icmpErrorBudget -= 1
        let snapshot = engine.snapshot(now: now, connections: .client(quote.destination))
        let isESP = quote.ipProtocol == .esp
        guard let connection = snapshot.connections.first(where: {
            $0.ipProtocol == quote.ipProtocol && $0.vip == quote.source
                && (isESP || ($0.vipPort == quote.sourcePort && $0.clientPort == quote.destinationPort))
        }), let real = realID(address: connection.real, port: connection.realPort) else {
            counters.icmpErrorsUnmatched += 1
            return false
        }
        guard rewrite(frame, &packet, for: real, quotedPort: connection.realPort) else { return false }
        counters.icmpErrorsForwarded += 1
        return true
    }

    /// Sends the echo answers built during the last batch on the public side.
    public func sendAnswers<TX: PacketIO>(transmit: TX) throws {
        guard !answers.isEmpty else { return }
        var pending = answers
        answers.removeAll()
        for index in pending.indices {
            try pending[index].withUnsafeMutableBytes { bytes in
                var frame = Frame(bytes: bytes, checksum: .complete)
                _ = try withUnsafeMutablePointer(to: &frame) { try transmit.send(UnsafeBufferPointer(start: $0, count: 1)) }
            }
        }
    }

    private func store(_ value: UInt32, into bytes: inout [UInt8], at offset: Int) {
        bytes[offset] = UInt8(value >> 24)
        bytes[offset + 1] = UInt8(truncatingIfNeeded: value >> 16)
        bytes[offset + 2] = UInt8(truncatingIfNeeded: value >> 8)
        bytes[offset + 3] = UInt8(truncatingIfNeeded: value)
    }

    private func store16(_ value: UInt16, into bytes: inout [UInt8], at offset: Int) {
        bytes[offset] = UInt8(value >> 8)
        bytes[offset + 1] = UInt8(truncatingIfNeeded: value)
    }
}
