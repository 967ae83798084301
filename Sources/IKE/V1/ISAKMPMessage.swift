/// One parsed payload with the octets it came from, so hashes over "the message after the
/// HASH payload" (RFC 2409 §5.5) and "SAi_b" (§5) use the peer's exact encoding.
public struct ISAKMPPayloadEntry: Hashable, Sendable {
    public var payload: ISAKMPPayload
    /// The payload body (after its 4-octet generic header).
    public var body: [UInt8]
    /// Offset in the payload chain just after this payload.
    public var end: Int
}

/// An ISAKMP message: header and payload chain (RFC 2408 §3.1, §3.2). For an encrypted
/// message `chain` is the decrypted plaintext; trailing padding is not part of any payload.
public struct ISAKMPMessage: Hashable, Sendable {
    public var header: ISAKMPHeader
    public var entries: [ISAKMPPayloadEntry]
    /// The payload chain octets as received (plaintext for encrypted messages).
    public var chain: [UInt8]

    public var payloads: [ISAKMPPayload] { entries.map(\.payload) }

    /// Parses a payload chain starting with `first`. Octets after the last payload are allowed
    /// only when `allowPadding` (encrypted messages, RFC 2409 App. B padding).
    public static func parse(header: ISAKMPHeader, chain: [UInt8], allowPadding: Bool) throws -> ISAKMPMessage {
        var r = WireReader(chain)
        var entries: [ISAKMPPayloadEntry] = []
        var next = header.nextPayload
        while next != ISAKMPPayloadType.none {
            guard entries.count < ISAKMPLimits.payloadsPerMessage else {
                throw IKEError(.invalidSyntax, "more than \(ISAKMPLimits.payloadsPerMessage) payloads")
            }
            let (np, body) = try readGeneric(&r)
            let payload = try ISAKMPPayload.parse(type: next, body: body)
            entries.append(ISAKMPPayloadEntry(payload: payload, body: Array(body), end: chain.count - r.count))
            next = np
        }
        guard allowPadding || r.isEmpty else { throw IKEError(.invalidLength, "\(r.count) octets after the last payload") }
        return ISAKMPMessage(header: header, entries: entries, chain: chain)
    }

    /// Parses an unencrypted datagram.
    public static func parse(_ datagram: [UInt8]) throws -> ISAKMPMessage {
        let header = try ISAKMPHeader.parse(datagram)
        guard !header.isEncrypted else { throw IKEError(.invalidSyntax, "encrypted message without keys") }
        return try parse(header: header, chain: Array(datagram.dropFirst(ISAKMPHeader.length)), allowPadding: false)
    }

    /// Serializes payloads as a chain; the header's Next Payload must be `payloads.first?.type`.
    public static func serializeChain(_ payloads: [ISAKMPPayload]) -> [UInt8] {
        var out: [UInt8] = []
        for (i, p) in payloads.enumerated() {
            writeGeneric(&out, next: i + 1 < payloads.count ? payloads[i + 1].type : 0, body: p.serializeBody())
        }
        return out
    }

    /// An unencrypted datagram.
    public static func serialize(_ header: ISAKMPHeader, _ payloads: [ISAKMPPayload]) -> [UInt8] {
        var h = header
        h.nextPayload = payloads.first?.type ?? 0
        h.flags &= ~ISAKMPHeader.flagEncryption
        let chain = serializeChain(payloads)
        return h.serialize(bodyLength: chain.count) + chain
    }

    // MARK: lookups

    func first(_ type: UInt8) -> ISAKMPPayloadEntry? { entries.first { $0.payload.type == type } }
    func count(_ type: UInt8) -> Int { entries.reduce(0) { $0 + ($1.payload.type == type ? 1 : 0) } }

    var securityAssociation: (ISAKMPSecurityAssociation, body: [UInt8])? {
        guard let e = first(ISAKMPPayloadType.securityAssociation), case .securityAssociation(let s) = e.payload else { return nil }
        return (s, e.body)
    }
    var keyExchange: [UInt8]? { first(ISAKMPPayloadType.keyExchange)?.body }
    var nonce: [UInt8]? { first(ISAKMPPayloadType.nonce)?.body }
    var hashPayload: [UInt8]? { first(ISAKMPPayloadType.hash)?.body }
    var identifications: [(ISAKMPIdentification, body: [UInt8])] {
        entries.compactMap { if case .identification(let i) = $0.payload { (i, $0.body) } else { nil } }
    }
    var vendorIDs: [[UInt8]] { entries.compactMap { if case .vendorID(let v) = $0.payload { v } else { nil } } }
    var natDiscoveries: [[UInt8]] { entries.compactMap { if case .natDiscovery(let v) = $0.payload { v } else { nil } } }
    var notifications: [ISAKMPNotification] { entries.compactMap { if case .notification(let n) = $0.payload { n } else { nil } } }
    var deletes: [ISAKMPDelete] { entries.compactMap { if case .delete(let d) = $0.payload { d } else { nil } } }

    /// The octets after the first payload when that payload is HASH (RFC 2409 §5.5, §5.7:
    /// HASH(1)/(2) cover "the entire message that follows the hash", padding excluded).
    var afterLeadingHash: [UInt8]? {
        guard let h = entries.first, h.payload.type == ISAKMPPayloadType.hash else { return nil }
        let end = entries.last?.end ?? h.end
        guard h.end <= end, end <= chain.count else { return nil }
        return Array(chain[h.end..<end])
    }
}
