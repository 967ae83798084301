/// An ICMP message (RFC 792) as far as the SLB needs it: echo identifiers for the prober,
/// and for error messages the quoted datagram, so an error about a balanced connection can
/// be sent to the real that owns it.
public struct ICMPMessage: Hashable, Sendable {
    /// Type, code, checksum, and 4 type-specific bytes (RFC 792).
    public static let headerLength = 8
    public static let checksumOffset = 2

    public static let echoReply: UInt8 = 0
    public static let destinationUnreachable: UInt8 = 3
    public static let sourceQuench: UInt8 = 4
    public static let redirect: UInt8 = 5
    public static let echoRequest: UInt8 = 8
    public static let timeExceeded: UInt8 = 11
    public static let parameterProblem: UInt8 = 12

    public enum Body: Hashable, Sendable {
        case echo(identifier: UInt16, sequence: UInt16)
        case error(ICMPQuote)
        case other
    }

    public var type: UInt8
    public var code: UInt8
    public var checksum: UInt16
    public var body: Body

    public init(type: UInt8, code: UInt8, checksum: UInt16, body: Body) {
        self.type = type
        self.code = code
        self.checksum = checksum
        self.body = body
    }

    /// True for the types that quote the offending datagram (RFC 792; RFC 1122 §3.2.2).
    @inlinable public static func isError(_ type: UInt8) -> Bool {
        switch type {
        case destinationUnreachable, sourceQuench, redirect, timeExceeded, parameterProblem: true
        default: false
        }
    }

    /// `available` is the ICMP bytes present (the whole datagram: ICMP is only parsed when
    /// unfragmented or in a first fragment).
    @inlinable
    public static func parse(_ bytes: UnsafeRawBufferPointer, at offset: Int,
                             available: Int) -> Result<ICMPMessage, PacketDropReason> {
        guard available >= headerLength, offset >= 0, offset + available <= bytes.count else {
            return .failure(.truncatedICMP)
        }
        let type = bytes[offset]
        let code = bytes[offset + 1]
        let checksum = bytes.wireUInt16(at: offset + checksumOffset)
        let body: Body
        if type == echoRequest || type == echoReply {
            body = .echo(identifier: bytes.wireUInt16(at: offset + 4), sequence: bytes.wireUInt16(at: offset + 6))
        } else if isError(type) {
            switch ICMPQuote.parse(bytes, at: offset + headerLength, available: available - headerLength) {
            case .success(let quote): body = .error(quote)
            case .failure(let reason): return .failure(reason)
            }
        } else {
            body = .other
        }
        return .success(ICMPMessage(type: type, code: code, checksum: checksum, body: body))
    }
}

/// The datagram quoted in an ICMP error: its IPv4 header and first 8 payload bytes
/// (RFC 792; RFC 1812 §4.3.2.3 allows more). Usually a packet the VIP sent, so the
/// connection it belongs to is (destination → source) seen from the client.
public struct ICMPQuote: Hashable, Sendable {
    /// RFC 792: "Internet Header + 64 bits of Original Data Datagram".
    public static let quotedPayloadLength = 8

    public var source: IPv4Address
    public var destination: IPv4Address
    public var ipProtocol: IPProtocol
    public var identification: UInt16
    public var fragmentOffset: Int
    /// Ports of a quoted UDP/TCP datagram (0 for other protocols or a non-first fragment).
    public var sourcePort: UInt16
    public var destinationPort: UInt16
    /// SPI of a quoted ESP packet (0 otherwise).
    public var spi: UInt32
    /// Frame offset of the quoted IPv4 header.
    public var headerOffset: Int

    public init(source: IPv4Address, destination: IPv4Address, ipProtocol: IPProtocol, identification: UInt16,
                fragmentOffset: Int, sourcePort: UInt16, destinationPort: UInt16, spi: UInt32, headerOffset: Int) {
        self.source = source
        self.destination = destination
        self.ipProtocol = ipProtocol
        self.identification = identification
        self.fragmentOffset = fragmentOffset
        self.sourcePort = sourcePort
        self.destinationPort = destinationPort
        self.spi = spi
        self.headerOffset = headerOffset
    }

    /// The quoted header's total length may exceed what was quoted, so only version, IHL
    /// and the 8 bytes after the header are checked.
    @inlinable
    public static func parse(_ bytes: UnsafeRawBufferPointer, at offset: Int,
                             available: Int) -> Result<ICMPQuote, PacketDropReason> {
        guard available >= IPv4Header.minimumLength, offset >= 0, offset + available <= bytes.count else {
            return .failure(.truncatedICMPQuote)
        }
        let versionIHL = bytes[offset]
        let headerLength = Int(versionIHL & 0x0F) * 4
        guard versionIHL >> 4 == 4, headerLength >= IPv4Header.minimumLength,
              available >= headerLength + quotedPayloadLength else {
            return .failure(.truncatedICMPQuote)
        }
        let ipProtocol = IPProtocol(rawValue: bytes[offset + IPv4Header.protocolOffset])
        let fragmentOffset = Int(bytes.wireUInt16(at: offset + IPv4Header.flagsOffset) & 0x1FFF) * IPv4Header.fragmentUnit
        let transport = offset + headerLength
        var sourcePort: UInt16 = 0
        var destinationPort: UInt16 = 0
        var spi: UInt32 = 0
        if fragmentOffset == 0 {
            switch ipProtocol {
            case .udp, .tcp:
                sourcePort = bytes.wireUInt16(at: transport)
                destinationPort = bytes.wireUInt16(at: transport + 2)
            case .esp:
                spi = bytes.wireUInt32(at: transport)
            default:
                break
            }
        }
        return .success(ICMPQuote(
            source: IPv4Address(bytes.wireUInt32(at: offset + IPv4Header.sourceOffset)),
            destination: IPv4Address(bytes.wireUInt32(at: offset + IPv4Header.destinationOffset)),
            ipProtocol: ipProtocol,
            identification: bytes.wireUInt16(at: offset + IPv4Header.identificationOffset),
            fragmentOffset: fragmentOffset,
            sourcePort: sourcePort, destinationPort: destinationPort, spi: spi, headerOffset: offset))
    }
}
