import SLBWire

/// Finishes the layer-4 checksum of a received frame before it is forwarded, by what the
/// backend knows about it (`ChecksumState`). The arithmetic is SLBWire's `ChecksumOffload`.
///
/// A sender with TX checksum offload (every veth by default) hands the kernel a UDP datagram
/// whose checksum field holds only the pseudo-header sum (CHECKSUM_PARTIAL); a packet socket
/// sees it that way. Forwarded as is, the gateway counts `Udp InCsumErrors` and drops it. It
/// must be finished before any rewrite: the incremental (RFC 1624) updates assume a complete
/// checksum in the field.
public enum ChecksumCompletion {
    public enum Outcome: Hashable, Sendable {
        case unchanged
        /// `.partial`: summed from the transport header on, the pseudo-header sum included.
        case completed
        /// `.unknown`: recomputed from scratch.
        case recomputed
        /// Nothing to do: ESP/ICMP/other, a fragment (its checksum covers the whole datagram,
        /// and the kernel never offloads one), or a frame that does not parse.
        case notApplicable
    }

    @discardableResult
    public static func complete(_ frame: UnsafeMutableRawBufferPointer, packet: inout ParsedPacket,
                                state: ChecksumState) -> Outcome {
        if state == .complete { return .unchanged }
        guard !packet.fragment.isFragment else { return .notApplicable }
        let fieldOffset: Int
        switch packet.transport {
        case .udp(let udp):
            // RFC 768: zero means "no checksum"; a partial one is never zero (pseudo-header sum).
            if state == .unknown && udp.checksum == 0 { return .unchanged }
            fieldOffset = UDPHeader.checksumOffset
        case .tcp:
            fieldOffset = TCPHeader.checksumOffset
        case .esp, .icmp, .laterFragment, .other:
            return .notApplicable
        }
        switch state {
        case .complete:
            return .unchanged
        case .partial:
            guard ChecksumOffload.completePartial(frame, checksumStart: packet.transportOffset,
                                                  checksumOffset: fieldOffset, end: packet.ipEnd) else { return .notApplicable }
            // Keep the parse equal to the bytes for the rewrites that follow.
            if case .ipv4(let fresh) = PacketView.parse(UnsafeRawBufferPointer(frame)) { packet = fresh }
            return .completed
        case .unknown:
            return ChecksumOffload.recomputeTransportChecksum(frame, packet: &packet) ? .recomputed : .notApplicable
        }
    }

    /// Parses, then completes (for callers without a parse at hand).
    @discardableResult
    public static func complete(_ frame: UnsafeMutableRawBufferPointer, state: ChecksumState) -> Outcome {
        guard case .ipv4(var packet) = PacketView.parse(UnsafeRawBufferPointer(frame)) else { return .notApplicable }
        return complete(frame, packet: &packet, state: state)
    }
}
