/// The fixed ISAKMP header (RFC 2408 §3.1):
/// ```
/// Initiator Cookie (8) | Responder Cookie (8) | Next Payload (1) | MjVer|MnVer (1) |
/// Exchange Type (1) | Flags (1: E=0x01 C=0x02 A=0x04) | Message ID (4) | Length (4)
/// ```
public struct ISAKMPHeader: Hashable, Sendable {
    public static let length = 28
    /// Major 1, minor 0 (RFC 2408 §3.1); a higher major version is not ours.
    public static let version: UInt8 = 0x10
    public static let flagEncryption: UInt8 = 0x01
    public static let flagCommit: UInt8 = 0x02
    public static let flagAuthenticationOnly: UInt8 = 0x04

    public var initiatorCookie: UInt64
    public var responderCookie: UInt64
    public var nextPayload: UInt8
    public var exchange: ISAKMPExchangeType
    public var flags: UInt8
    public var messageID: UInt32
    /// As read from the wire; `serialize(bodyLength:)` writes the real one.
    public var length: UInt32

    public init(initiatorCookie: UInt64, responderCookie: UInt64, nextPayload: UInt8, exchange: ISAKMPExchangeType,
                flags: UInt8 = 0, messageID: UInt32 = 0, length: UInt32 = 0) {
        self.initiatorCookie = initiatorCookie
        self.responderCookie = responderCookie
        self.nextPayload = nextPayload
        self.exchange = exchange
        self.flags = flags
        self.messageID = messageID
        self.length = length
    }

    public var isEncrypted: Bool { flags & Self.flagEncryption != 0 }
    public var cookies: ISAKMPCookies { ISAKMPCookies(initiator: initiatorCookie, responder: responderCookie) }

    /// Parses the header and checks that Length equals the datagram length (RFC 2408 §5.1).
    public static func parse(_ datagram: [UInt8]) throws -> ISAKMPHeader {
        var r = WireReader(datagram)
        let ckyI = try r.u64("CKY-I")
        let ckyR = try r.u64("CKY-R")
        let np = try r.u8("next payload")
        let version = try r.u8("version")
        let exchange = try r.u8("exchange")
        let flags = try r.u8("flags")
        let mid = try r.u32("message ID")
        let length = try r.u32("length")
        guard version >> 4 == 1 else { throw IKEError(.invalidMajorVersion, "ISAKMP version \(version)") }
        guard Int(length) == datagram.count else {
            throw IKEError(.invalidLength, "header length \(length), datagram \(datagram.count)")
        }
        return ISAKMPHeader(initiatorCookie: ckyI, responderCookie: ckyR, nextPayload: np,
                            exchange: ISAKMPExchangeType(rawValue: exchange), flags: flags, messageID: mid, length: length)
    }

    public func serialize(bodyLength: Int) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(Self.length + bodyLength)
        out.appendU64(initiatorCookie)
        out.appendU64(responderCookie)
        out.append(nextPayload)
        out.append(Self.version)
        out.append(exchange.rawValue)
        out.append(flags)
        out.appendU32(messageID)
        out.appendU32(UInt32(truncatingIfNeeded: Self.length + bodyLength))
        return out
    }
}

/// The two cookies that name an ISAKMP SA (RFC 2408 §2.5.3).
public struct ISAKMPCookies: Hashable, Sendable, CustomStringConvertible {
    public var initiator: UInt64
    public var responder: UInt64
    public init(initiator: UInt64, responder: UInt64) { self.initiator = initiator; self.responder = responder }
    /// CKY-I | CKY-R, the 16-octet SPI of ISAKMP notifications and deletes (RFC 2408 §3.14, §3.15).
    public var spi: [UInt8] { initiator.bigEndianBytes + responder.bigEndianBytes }
    public var description: String {
        func hex(_ v: UInt64) -> String { let s = String(v, radix: 16); return String(repeating: "0", count: 16 - s.count) + s }
        return "\(hex(initiator))/\(hex(responder))"
    }
}
