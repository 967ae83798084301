/// The fields of an IPv4 header (RFC 791 §3.1), read once. Options are skipped via IHL and
/// not interpreted.
public struct IPv4Header: Hashable, Sendable {
    /// RFC 791 §3.1: IHL ≥ 5 words.
    public static let minimumLength = 20
    /// IHL is 4 bits: at most 15 words.
    public static let maximumLength = 60
    /// Total length is 16 bits (RFC 791 §3.1).
    public static let maximumDatagramLength = 65535
    /// Fragment offsets count 8-octet units (RFC 791 §3.1).
    public static let fragmentUnit = 8

    // Field offsets within the header (RFC 791 §3.1 figure 4).
    public static let totalLengthOffset = 2
    public static let identificationOffset = 4
    public static let flagsOffset = 6
    public static let ttlOffset = 8
    public static let protocolOffset = 9
    public static let checksumOffset = 10
    public static let sourceOffset = 12
    public static let destinationOffset = 16

    public var headerLength: Int
    public var typeOfService: UInt8
    public var totalLength: Int
    public var identification: UInt16
    public var dontFragment: Bool
    public var moreFragments: Bool
    /// In bytes (the field × 8).
    public var fragmentOffset: Int
    public var ttl: UInt8
    public var ipProtocol: IPProtocol
    public var checksum: UInt16
    public var source: IPv4Address
    public var destination: IPv4Address

    public init(headerLength: Int = IPv4Header.minimumLength, typeOfService: UInt8 = 0, totalLength: Int,
                identification: UInt16, dontFragment: Bool = false, moreFragments: Bool = false,
                fragmentOffset: Int = 0, ttl: UInt8 = 64, ipProtocol: IPProtocol, checksum: UInt16 = 0,
                source: IPv4Address, destination: IPv4Address) {
        self.headerLength = headerLength
        self.typeOfService = typeOfService
        self.totalLength = totalLength
        self.identification = identification
        self.dontFragment = dontFragment
        self.moreFragments = moreFragments
        self.fragmentOffset = fragmentOffset
        self.ttl = ttl
        self.ipProtocol = ipProtocol
        self.checksum = checksum
        self.source = source
        self.destination = destination
    }

    public var payloadLength: Int { totalLength - headerLength }

    public var fragment: FragmentInfo {
        FragmentInfo(identification: identification, offset: fragmentOffset, moreFragments: moreFragments)
    }

    /// Parses and checks the header at `offset`: version 4, IHL ≥ 5, header within the total
    /// length, total length within the buffer (Ethernet padding after it is allowed), and the
    /// fragment rules of RFC 791 §3.2. Never traps.
    @inlinable
    public static func parse(_ bytes: UnsafeRawBufferPointer, at offset: Int,
                             verifyChecksum: Bool = false) -> Result<IPv4Header, PacketDropReason> {
        guard offset >= 0, bytes.count - offset >= minimumLength else { return .failure(.truncatedIPv4) }
        let versionIHL = bytes[offset]
        guard versionIHL >> 4 == 4 else { return .failure(.badIPVersion) }
        let headerLength = Int(versionIHL & 0x0F) * 4
        guard headerLength >= minimumLength, bytes.count - offset >= headerLength else {
            return .failure(.badIHL)
        }
        let totalLength = Int(bytes.wireUInt16(at: offset + totalLengthOffset))
        guard totalLength >= headerLength else {
            // A total length that cannot even hold the header says the IHL or the length lies.
            return .failure(totalLength < minimumLength ? .badTotalLength : .badIHL)
        }
        guard totalLength <= bytes.count - offset else { return .failure(.badTotalLength) }
        if verifyChecksum {
            var sum = InternetChecksum()
            sum.add(UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + headerLength)]))
            guard sum.verifies else { return .failure(.badIPChecksum) }
        }
        let flagsFragment = bytes.wireUInt16(at: offset + flagsOffset)
        let moreFragments = flagsFragment & 0x2000 != 0
        let fragmentOffset = Int(flagsFragment & 0x1FFF) * fragmentUnit
        let payloadLength = totalLength - headerLength
        if moreFragments || fragmentOffset != 0 {
            guard fragmentOffset + payloadLength <= maximumDatagramLength - headerLength else {
                return .failure(.badFragment)
            }
            if moreFragments {
                guard payloadLength > 0, payloadLength % fragmentUnit == 0 else { return .failure(.badFragment) }
            }
        }
        return .success(IPv4Header(
            headerLength: headerLength,
            typeOfService: bytes[offset + 1],
            totalLength: totalLength,
            identification: bytes.wireUInt16(at: offset + identificationOffset),
            dontFragment: flagsFragment & 0x4000 != 0,
            moreFragments: moreFragments,
            fragmentOffset: fragmentOffset,
            ttl: bytes[offset + ttlOffset],
            ipProtocol: IPProtocol(rawValue: bytes[offset + protocolOffset]),
            checksum: bytes.wireUInt16(at: offset + checksumOffset),
            source: IPv4Address(bytes.wireUInt32(at: offset + sourceOffset)),
            destination: IPv4Address(bytes.wireUInt32(at: offset + destinationOffset))))
    }
}

/// Fragment fields of a datagram (RFC 791 §3.2).
public struct FragmentInfo: Hashable, Sendable {
    public var identification: UInt16
    /// In bytes.
    public var offset: Int
    public var moreFragments: Bool

    public init(identification: UInt16, offset: Int, moreFragments: Bool) {
        self.identification = identification
        self.offset = offset
        self.moreFragments = moreFragments
    }

    /// Part of a fragmented datagram (offset ≠ 0 or MF set).
    @inlinable public var isFragment: Bool { moreFragments || offset != 0 }
    /// The fragment that carries the transport header: offset 0 with MF set.
    @inlinable public var isFirstFragment: Bool { offset == 0 && moreFragments }
    /// Offset ≠ 0: no transport header, so no ports; the fragment table maps it.
    @inlinable public var isLaterFragment: Bool { offset != 0 }
}
