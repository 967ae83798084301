/// The IKE health probe (a VPNSLB extension beyond IOS SLB): one IKE_SA_INIT request a
/// responder must refuse without keeping state, and the classification of what comes back.
///
/// The request proposes Curve25519 (group 31) but carries a KE payload of ECP-256 (group 19).
/// RFC 7296 §1.2/§2.7: a responder that accepts the proposal but not the KE group answers
/// INVALID_KE_PAYLOAD naming its group and creates no SA; one that accepts none of the
/// proposals answers NO_PROPOSAL_CHOSEN (§2.21.1), also statelessly; one under load answers
/// COOKIE (§2.6), again statelessly. Any of these, or any IKE_SA_INIT response for the probe's
/// SPIi, proves a live IKE process behind the address.
///
/// The prober builds the request once and rewrites only the SPIi per probe (no allocation on
/// the probe path); `classifyReply` and `quotedProbeSPI` read raw bytes without allocating.
public enum IKEProbeMessage {
    /// The group every proposal names (RFC 8031, Curve25519).
    public static let proposedGroup: UInt16 = 31
    /// The group of the KE payload: deliberately not the proposed one (RFC 5903, ECP-256:
    /// 64-octet public value, §7).
    public static let keyExchangeGroup: UInt16 = 19
    static let keyExchangeLength = 64
    /// RFC 7296 §2.10: at least 16 octets and half the PRF key size (SHA-256 → 16).
    static let nonceLength = 32
    /// The SPIi is the first header field (RFC 7296 §3.1).
    public static let spiOffset = 0

    /// The probe request with `spiI` (never zero on the wire: §3.1 forbids a zero SPIi).
    public static func request(spiI: UInt64) -> [UInt8] {
        let encryptionCBC: UInt16 = 12, encryptionGCM16: UInt16 = 20
        let prfSHA256: UInt16 = 5, integritySHA256: UInt16 = 12
        let cbc = Proposal(number: 1, protocolID: .ike, transforms: [
            Transform(type: .encryption, id: encryptionCBC, keyLength: 128),
            Transform(type: .prf, id: prfSHA256),
            Transform(type: .integrity, id: integritySHA256),
            Transform(type: .keyExchange, id: proposedGroup),
        ])
        let gcm = Proposal(number: 2, protocolID: .ike, transforms: [
            Transform(type: .encryption, id: encryptionGCM16, keyLength: 128),
            Transform(type: .prf, id: prfSHA256),
            Transform(type: .keyExchange, id: proposedGroup),
        ])
        // The nonce only has to be well-formed: no keys are ever derived from a probe.
        let nonce = (0..<nonceLength).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 11) }
        let message = IKEMessage(
            header: IKEHeader(spiI: spiI, spiR: 0, nextPayload: .securityAssociation, exchange: .ikeSAInit,
                              flags: [.initiator], messageID: 0),
            payloads: [
                .securityAssociation(SecurityAssociationPayload(proposals: [cbc, gcm])),
                .keyExchange(KeyExchangePayload(group: keyExchangeGroup, data: [UInt8](repeating: 0x42, count: keyExchangeLength))),
                .nonce(NoncePayload(data: nonce)),
            ])
        return message.serialize()
    }

    /// Writes `spiI` over the SPIi of a request already in `buffer` at `offset`.
    public static func setSPI(_ spiI: UInt64, in buffer: UnsafeMutableRawBufferPointer, at offset: Int) {
        guard offset >= 0, offset + 8 <= buffer.count else { return }
        for i in 0..<8 { buffer[offset + i] = UInt8(truncatingIfNeeded: spiI >> (56 - 8 * UInt64(i))) }
    }

    /// What a responder said to a probe.
    public enum Answer: Hashable, Sendable {
        /// INVALID_KE_PAYLOAD with the group it wants (nil when the data is not two octets).
        case invalidKE(group: UInt16?)
        case noProposalChosen
        case cookie
        /// Another notify (e.g. INVALID_SYNTAX, TEMPORARY_FAILURE): still a live IKE process.
        case otherNotify(UInt16)
        /// A full IKE_SA_INIT response: the responder accepted (it must not, but it is alive).
        case accepted
    }

    /// Classifies a datagram received on the probe socket: an IKEv2 IKE_SA_INIT response
    /// (R flag, I flag clear, message ID 0) returns its SPIi and answer; anything else is nil.
    public static func classifyReply(_ bytes: UnsafeRawBufferPointer) -> (spiI: UInt64, answer: Answer)? {
        guard bytes.count >= IKEHeader.length else { return nil }
        let flags = bytes[19], version = bytes[17]
        guard version >> 4 == 2, bytes[18] == UInt8(ExchangeType.ikeSAInit.rawValue),
              flags & 0x20 != 0, flags & 0x08 == 0, readU32(bytes, 20) == 0 else { return nil }
        let spiI = readU64(bytes, 0)
        // Walk the payload chain (§3.2) for the first notify; bounded by the datagram.
        var next = bytes[16]
        var offset = IKEHeader.length
        var walked = 0
        while next != 0 {
            // A chain cut short or too long is not a well-formed answer (§3.2).
            guard offset + 4 <= bytes.count, walked < maximumPayloads else { return nil }
            let length = Int(readU16(bytes, offset + 2))
            guard length >= 4, offset + length <= bytes.count else { return nil }
            if next == UInt8(PayloadType.notify.rawValue), length >= 8 {
                let spiSize = Int(bytes[offset + 5])
                let type = readU16(bytes, offset + 6)
                let dataStart = offset + 8 + spiSize
                switch type {
                case NotifyType.invalidKEPayload.rawValue:
                    let group: UInt16? = dataStart + 2 == offset + length ? readU16(bytes, dataStart) : nil
                    return (spiI, .invalidKE(group: group))
                case NotifyType.noProposalChosen.rawValue: return (spiI, .noProposalChosen)
                case NotifyType.cookie.rawValue: return (spiI, .cookie)
                default:
                    if type < 16384 { return (spiI, .otherNotify(type)) }
                }
            }
            next = bytes[offset]
            offset += length
            walked += 1
        }
        return (spiI, .accepted)
    }

    /// The SPIi of a probe request quoted back to us (the UDP payload an ICMP error returns on
    /// the socket's error queue, RFC 792 / RFC 1122 §3.2.2); nil when it is not one.
    public static func quotedProbeSPI(_ bytes: UnsafeRawBufferPointer) -> UInt64? {
        // RFC 792 quotes only 8 octets past the IP header; Linux quotes up to 576 octets
        // (RFC 1812 §4.3.2.3), so the whole IKE header is normally there: require it.
        guard bytes.count >= IKEHeader.length else { return nil }
        guard bytes[17] >> 4 == 2, bytes[18] == UInt8(ExchangeType.ikeSAInit.rawValue),
              bytes[19] & 0x20 == 0, bytes[19] & 0x08 != 0 else { return nil }
        return readU64(bytes, 0)
    }

    /// A chain longer than this is not a probe answer (an INVALID_KE answer has one payload).
    static let maximumPayloads = 32

    private static func readU16(_ b: UnsafeRawBufferPointer, _ at: Int) -> UInt16 {
        UInt16(b[at]) << 8 | UInt16(b[at + 1])
    }
    private static func readU32(_ b: UnsafeRawBufferPointer, _ at: Int) -> UInt32 {
        UInt32(readU16(b, at)) << 16 | UInt32(readU16(b, at + 2))
    }
    private static func readU64(_ b: UnsafeRawBufferPointer, _ at: Int) -> UInt64 {
        UInt64(readU32(b, at)) << 32 | UInt64(readU32(b, at + 4))
    }
}
