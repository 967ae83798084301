/// UDP header (RFC 768) plus where its payload sits in the frame.
public struct UDPHeader: Hashable, Sendable {
    public static let length = 8
    public static let checksumOffset = 6
    /// IKE (RFC 7296 §2) and NAT-T (RFC 3948 §1) ports, named here because the demux needs them.
    public static let ikePort: UInt16 = 500
    public static let natTraversalPort: UInt16 = 4500

    public var sourcePort: UInt16
    public var destinationPort: UInt16
    /// The length field: header + payload of the whole datagram (even when fragmented).
    public var length: Int
    /// 0 means the sender computed none (RFC 768).
    public var checksum: UInt16
    /// Frame offset of the first payload byte.
    public var payloadOffset: Int
    /// Payload bytes present in this frame (less than `length - 8` for a first fragment).
    public var payloadLength: Int
    /// RFC 3948 demux of the payload when either port is 4500 and the classifying bytes are
    /// present in this frame; nil otherwise.
    public var natTraversal: NATTPayload?

    public init(sourcePort: UInt16, destinationPort: UInt16, length: Int, checksum: UInt16,
                payloadOffset: Int, payloadLength: Int, natTraversal: NATTPayload? = nil) {
        self.sourcePort = sourcePort
        self.destinationPort = destinationPort
        self.length = length
        self.checksum = checksum
        self.payloadOffset = payloadOffset
        self.payloadLength = payloadLength
        self.natTraversal = natTraversal
    }

    /// `offset` is the UDP header in the frame; `available` the IP payload bytes present in
    /// this frame; `wholeDatagram` false for a first fragment, whose UDP length covers bytes
    /// still to come.
    @inlinable
    public static func parse(_ bytes: UnsafeRawBufferPointer, at offset: Int, available: Int,
                             wholeDatagram: Bool) -> Result<UDPHeader, PacketDropReason> {
        guard available >= length, offset >= 0, offset + available <= bytes.count else {
            return .failure(.truncatedUDP)
        }
        let sourcePort = bytes.wireUInt16(at: offset)
        let destinationPort = bytes.wireUInt16(at: offset + 2)
        let udpLength = Int(bytes.wireUInt16(at: offset + 4))
        guard udpLength >= length else { return .failure(.badUDPLength) }
        if wholeDatagram {
            guard udpLength <= available else { return .failure(.badUDPLength) }
        }
        let payloadLength = min(udpLength, available) - length
        var natT: NATTPayload?
        if sourcePort == natTraversalPort || destinationPort == natTraversalPort {
            let payload = UnsafeRawBufferPointer(rebasing: bytes[(offset + length)..<(offset + length + payloadLength)])
            // A first fragment may end before the classifying bytes: classify only what is
            // whole, the fragment table carries the decision for the rest.
            if wholeDatagram || payloadLength >= NATTPayload.classifyingLength {
                natT = NATTPayload.classify(payload)
            }
        }
        return .success(UDPHeader(sourcePort: sourcePort, destinationPort: destinationPort,
                                  length: udpLength, checksum: bytes.wireUInt16(at: offset + checksumOffset),
                                  payloadOffset: offset + length, payloadLength: payloadLength,
                                  natTraversal: natT))
    }
}

/// The ports of a TCP segment (RFC 9293 §3.1); the SLB balances TCP vservers too.
public struct TCPHeader: Hashable, Sendable {
    public static let minimumLength = 20
    public static let checksumOffset = 16

    public var sourcePort: UInt16
    public var destinationPort: UInt16
    public var checksum: UInt16

    public init(sourcePort: UInt16, destinationPort: UInt16, checksum: UInt16) {
        self.sourcePort = sourcePort
        self.destinationPort = destinationPort
        self.checksum = checksum
    }

    @inlinable
    public static func parse(_ bytes: UnsafeRawBufferPointer, at offset: Int,
                             available: Int) -> Result<TCPHeader, PacketDropReason> {
        guard available >= minimumLength, offset >= 0, offset + available <= bytes.count else {
            return .failure(.truncatedTCP)
        }
        return .success(TCPHeader(sourcePort: bytes.wireUInt16(at: offset),
                                  destinationPort: bytes.wireUInt16(at: offset + 2),
                                  checksum: bytes.wireUInt16(at: offset + checksumOffset)))
    }
}

/// ESP header (RFC 4303 §2): SPI and sequence number; the rest is opaque to the SLB.
public struct ESPHeader: Hashable, Sendable {
    public static let length = 8

    public var spi: UInt32
    public var sequenceNumber: UInt32

    public init(spi: UInt32, sequenceNumber: UInt32) {
        self.spi = spi
        self.sequenceNumber = sequenceNumber
    }

    @inlinable
    public static func parse(_ bytes: UnsafeRawBufferPointer, at offset: Int,
                             available: Int) -> Result<ESPHeader, PacketDropReason> {
        guard available >= length, offset >= 0, offset + available <= bytes.count else {
            return .failure(.truncatedESP)
        }
        return .success(ESPHeader(spi: bytes.wireUInt32(at: offset), sequenceNumber: bytes.wireUInt32(at: offset + 4)))
    }
}
