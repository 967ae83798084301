/// One IKEv2 payload, typed by its generic header's type (RFC 7296 §3.2).
///
/// ```
/// Generic payload header:
/// | Next Payload  |C|  RESERVED   |         Payload Length        |
/// ```
public enum Payload: Hashable, Sendable {
    case securityAssociation(SecurityAssociationPayload)
    case keyExchange(KeyExchangePayload)
    case identificationInitiator(IdentificationPayload)
    case identificationResponder(IdentificationPayload)
    case authentication(AuthenticationPayload)
    case nonce(NoncePayload)
    case notify(NotifyPayload)
    case delete(DeletePayload)
    case vendorID([UInt8])
    case trafficSelectorInitiator(TrafficSelectorPayload)
    case trafficSelectorResponder(TrafficSelectorPayload)
    case configuration(ConfigurationPayload)
    /// SK (§3.14): kept encrypted; `SKCodec` opens it with the SA's keys.
    case encrypted(EncryptedPayload)
    /// Recognised but not interpreted here (CERT, CERTREQ, EAP, SKF): carried as octets so the
    /// message rules can still judge their presence. With an unrecognised type it serialises
    /// as a critical payload (the parser never yields that: it skips or rejects them, §2.5).
    case opaque(type: PayloadType, body: [UInt8])

    public var type: PayloadType {
        switch self {
        case .securityAssociation: .securityAssociation
        case .keyExchange: .keyExchange
        case .identificationInitiator: .identificationInitiator
        case .identificationResponder: .identificationResponder
        case .authentication: .authentication
        case .nonce: .nonce
        case .notify: .notify
        case .delete: .delete
        case .vendorID: .vendorID
        case .trafficSelectorInitiator: .trafficSelectorInitiator
        case .trafficSelectorResponder: .trafficSelectorResponder
        case .configuration: .configuration
        case .encrypted: .encrypted
        case .opaque(let type, _): type
        }
    }

    func serializeBody(into out: inout [UInt8]) {
        switch self {
        case .securityAssociation(let p): p.serialize(into: &out)
        case .keyExchange(let p): p.serialize(into: &out)
        case .identificationInitiator(let p), .identificationResponder(let p): p.serialize(into: &out)
        case .authentication(let p): p.serialize(into: &out)
        case .nonce(let p): p.serialize(into: &out)
        case .notify(let p): p.serialize(into: &out)
        case .delete(let p): p.serialize(into: &out)
        case .vendorID(let data): out += data
        case .trafficSelectorInitiator(let p), .trafficSelectorResponder(let p): p.serialize(into: &out)
        case .configuration(let p): p.serialize(into: &out)
        case .encrypted(let p): out += p.body
        case .opaque(_, let body): out += body
        }
    }

    static func parseBody(type: PayloadType, _ body: ArraySlice<UInt8>) throws -> Payload {
        switch type {
        case .securityAssociation: .securityAssociation(try .parse(body))
        case .keyExchange: .keyExchange(try .parse(body))
        case .identificationInitiator: .identificationInitiator(try .parse(body))
        case .identificationResponder: .identificationResponder(try .parse(body))
        case .authentication: .authentication(try .parse(body))
        case .nonce: .nonce(try .parse(body))
        case .notify: .notify(try .parse(body))
        case .delete: .delete(try .parse(body))
        case .vendorID: .vendorID(Array(body))
        case .trafficSelectorInitiator: .trafficSelectorInitiator(try .parse(body))
        case .trafficSelectorResponder: .trafficSelectorResponder(try .parse(body))
        case .configuration: .configuration(try .parse(body))
        default: .opaque(type: type, body: Array(body))
        }
    }
}

/// The SK payload as received: the first inner payload's type and IV | ciphertext | ICV.
public struct EncryptedPayload: Hashable, Sendable {
    public var firstInnerPayload: PayloadType
    public var body: [UInt8]
    /// Offset of the SK generic header in the message; AEAD's AAD ends 4 octets after it
    /// and the CBC ICV covers everything up to the ICV (RFC 5282 §5.1, RFC 7296 §3.14).
    public var headerOffset: Int
    public init(firstInnerPayload: PayloadType, body: [UInt8], headerOffset: Int) {
        self.firstInnerPayload = firstInnerPayload
        self.body = body
        self.headerOffset = headerOffset
    }
}

/// A chain of payloads linked by Next Payload fields.
public enum PayloadChain {
    /// Generic header length (§3.2).
    public static let genericHeaderLength = 4
    /// Our bound on payloads in one message, so a hostile chain of 4-octet payloads costs little.
    /// RFC 7296 sets none; 64 is far above any real IKE_AUTH (≈15).
    public static let maximumPayloads = 64
    static let criticalBit: UInt8 = 0x80

    /// Parses payloads starting with `first`. `baseOffset` is where `bytes` starts in the
    /// message (for the SK payload's AAD). Unrecognised non-critical payloads are skipped;
    /// an unrecognised critical one throws `.unsupportedCriticalPayload` (§2.5).
    public static func parse(first: PayloadType, _ bytes: ArraySlice<UInt8>, baseOffset: Int = 0) throws -> [Payload] {
        var r = WireReader(bytes)
        var next = first
        var payloads: [Payload] = []
        while next != .none {
            guard payloads.count < maximumPayloads else {
                throw IKEError(.invalidSyntax, "more than \(maximumPayloads) payloads")
            }
            let offset = baseOffset + (bytes.count - r.count)
            let type = next
            next = PayloadType(rawValue: try r.u8("next payload"))
            let flags = try r.u8("payload flags")
            let length = Int(try r.u16("payload length"))
            guard length >= genericHeaderLength else {
                throw IKEError(.invalidLength, "\(type) length \(length)")
            }
            let body = try r.bytes(length - genericHeaderLength, "\(type) body")
            if type == .encrypted {
                // §3.14: SK is the last payload; its Next Payload names the first inner one.
                guard r.isEmpty else { throw IKEError(.invalidSyntax, "octets after SK payload") }
                payloads.append(.encrypted(EncryptedPayload(firstInnerPayload: next, body: Array(body), headerOffset: offset)))
                return payloads
            }
            guard type.isRecognised else {
                if flags & criticalBit != 0 {
                    throw IKEError(.unsupportedCriticalPayload, "\(type)", payloadType: type.rawValue)
                }
                continue
            }
            payloads.append(try Payload.parseBody(type: type, body))
        }
        guard r.isEmpty else { throw IKEError(.invalidLength, "\(r.count) octets after the last payload") }
        return payloads
    }

    /// Serialises payloads, linking Next Payload fields; returns the first payload's type.
    /// An `.encrypted` payload must be last; its Next Payload is its first inner type.
    @discardableResult
    public static func serialize(_ payloads: [Payload], into out: inout [UInt8]) -> PayloadType {
        for (i, payload) in payloads.enumerated() {
            let start = out.count
            let next: PayloadType
            if case .encrypted(let sk) = payload {
                next = sk.firstInnerPayload
            } else {
                next = i + 1 < payloads.count ? payloads[i + 1].type : .none
            }
            out.append(next.rawValue)
            // We never originate unrecognised payloads except to probe a peer's §2.5 handling,
            // so such a payload is sent critical; everything we understand goes non-critical.
            out.append(payload.type.isRecognised ? 0 : criticalBit)
            out.appendU16(0)
            payload.serializeBody(into: &out)
            out.setU16(UInt16(truncatingIfNeeded: out.count - start), at: start + 2)
        }
        return payloads.first?.type ?? .none
    }
}
