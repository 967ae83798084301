/// The IKE header (RFC 7296 §3.1).
///
/// ```
///                      1                   2                   3
///  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                       IKE SA Initiator's SPI                  |
/// |                                                               |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                       IKE SA Responder's SPI                  |
/// |                                                               |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |  Next Payload | MjVer | MnVer | Exchange Type |     Flags     |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                          Message ID                           |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                            Length                             |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// ```
public struct IKEHeader: Hashable, Sendable {
    /// §3.1: the header is always 28 octets.
    public static let length = 28
    /// §3.1: "MUST set the Major Version to 2"; minor version 0.
    public static let version: UInt8 = 0x20

    public struct Flags: OptionSet, Hashable, Sendable {
        public let rawValue: UInt8
        public init(rawValue: UInt8) { self.rawValue = rawValue }
        /// Set by the original initiator of the IKE SA in every message it sends.
        public static let initiator = Flags(rawValue: 0x08)
        /// "Version": we speak nothing higher, so never set.
        public static let higherVersion = Flags(rawValue: 0x10)
        public static let response = Flags(rawValue: 0x20)
    }

    public var spiI: UInt64
    public var spiR: UInt64
    public var nextPayload: PayloadType
    public var majorVersion: UInt8
    public var minorVersion: UInt8
    public var exchange: ExchangeType
    public var flags: Flags
    public var messageID: UInt32
    /// Total message length including this header (§3.1).
    public var length: UInt32

    public init(spiI: UInt64, spiR: UInt64, nextPayload: PayloadType, exchange: ExchangeType,
                flags: Flags, messageID: UInt32, length: UInt32 = 0) {
        self.spiI = spiI
        self.spiR = spiR
        self.nextPayload = nextPayload
        self.majorVersion = 2
        self.minorVersion = 0
        self.exchange = exchange
        self.flags = flags
        self.messageID = messageID
        self.length = length
    }

    public var isResponse: Bool { flags.contains(.response) }
    public var isFromOriginalInitiator: Bool { flags.contains(.initiator) }

    /// Parses the header and checks its Length against the datagram (§3.1: a message whose
    /// Length disagrees with what arrived is malformed). Major version other than 2 throws
    /// `.invalidMajorVersion` only after the rest of the header was read, so the caller can
    /// still answer with the SPIs of the offending message (§2.5).
    public static func parse(_ bytes: ArraySlice<UInt8>) throws -> IKEHeader {
        var r = WireReader(bytes)
        let spiI = try r.u64("SPIi")
        let spiR = try r.u64("SPIr")
        let next = PayloadType(rawValue: try r.u8("next payload"))
        let version = try r.u8("version")
        let exchange = ExchangeType(rawValue: try r.u8("exchange"))
        let flags = Flags(rawValue: try r.u8("flags"))
        let mid = try r.u32("message ID")
        let length = try r.u32("length")
        var h = IKEHeader(spiI: spiI, spiR: spiR, nextPayload: next, exchange: exchange,
                          flags: flags, messageID: mid, length: length)
        h.majorVersion = version >> 4
        h.minorVersion = version & 0x0F
        guard h.majorVersion == 2 else {
            throw IKEError(.invalidMajorVersion, "major version \(h.majorVersion)")
        }
        guard Int(length) == bytes.count else {
            throw IKEError(.invalidLength, "header length \(length), datagram \(bytes.count)")
        }
        return h
    }

    public func serialize(into out: inout [UInt8]) {
        out.appendU64(spiI)
        out.appendU64(spiR)
        out.append(nextPayload.rawValue)
        out.append(majorVersion << 4 | minorVersion & 0x0F)
        out.append(exchange.rawValue)
        out.append(flags.rawValue)
        out.appendU32(messageID)
        out.appendU32(length)
    }
}
