/// A data attribute (RFC 2408 §3.3): `AF|Type (2) | Length or Value (2) | [Value]`. With AF
/// set the value is the 2-octet basic form (TV); without it a variable-length value follows (TLV).
public struct ISAKMPAttribute: Hashable, Sendable {
    public enum Value: Hashable, Sendable {
        case basic(UInt16)
        case variable([UInt8])
    }
    /// Variable attribute values longer than this are refused: no IKEv1 attribute this
    /// implementation reads (life duration, RFC 2409 App. A) needs more than 8 octets.
    static let maximumIntegerOctets = 8

    public var type: UInt16
    public var value: Value

    public init(type: UInt16, value: Value) { self.type = type; self.value = value }

    /// The shortest encoding of an integer: basic when it fits 16 bits (RFC 2409 App. A: life
    /// duration "in the basic form if it fits"), else a 4- or 8-octet variable value.
    public static func integer(_ type: UInt16, _ v: UInt64) -> ISAKMPAttribute {
        if v <= 0xFFFF { return ISAKMPAttribute(type: type, value: .basic(UInt16(v))) }
        if v <= 0xFFFF_FFFF { return ISAKMPAttribute(type: type, value: .variable(UInt32(v).bigEndianBytes)) }
        return ISAKMPAttribute(type: type, value: .variable(v.bigEndianBytes))
    }

    /// The value as an integer, nil for an empty or over-long variable value.
    public var integer: UInt64? {
        switch value {
        case .basic(let v): return UInt64(v)
        case .variable(let b):
            guard !b.isEmpty, b.count <= Self.maximumIntegerOctets else { return nil }
            return b.reduce(0) { $0 << 8 | UInt64($1) }
        }
    }

    static func parseList(_ bytes: ArraySlice<UInt8>) throws -> [ISAKMPAttribute] {
        var r = WireReader(bytes)
        var out: [ISAKMPAttribute] = []
        while !r.isEmpty {
            guard out.count < ISAKMPLimits.attributesPerTransform else {
                throw IKEError(.invalidSyntax, "more than \(ISAKMPLimits.attributesPerTransform) attributes")
            }
            let afType = try r.u16("attribute type")
            let lengthOrValue = try r.u16("attribute length/value")
            if afType & 0x8000 != 0 {
                out.append(ISAKMPAttribute(type: afType & 0x7FFF, value: .basic(lengthOrValue)))
            } else {
                out.append(ISAKMPAttribute(type: afType, value: .variable(try r.array(Int(lengthOrValue), "attribute value"))))
            }
        }
        return out
    }

    func append(to out: inout [UInt8]) {
        switch value {
        case .basic(let v):
            out.appendU16(0x8000 | type)
            out.appendU16(v)
        case .variable(let b):
            out.appendU16(type & 0x7FFF)
            out.appendU16(UInt16(truncatingIfNeeded: b.count))
            out += b
        }
    }
}

extension Array where Element == ISAKMPAttribute {
    /// The first attribute of `type` (RFC 2409 App. A: each class appears once per transform,
    /// except life type/duration pairs).
    func integer(_ type: UInt16) -> UInt64? { first { $0.type == type }?.integer }
    func contains(type: UInt16) -> Bool { contains { $0.type == type } }

    /// Life type/duration pairs in order (RFC 2407 §4.5, RFC 2409 App. A: a duration applies
    /// to the life type before it). Phase 1 uses attributes 11/12, phase 2 uses 1/2.
    func lifetimes(typeAttribute: UInt16, durationAttribute: UInt16) -> (seconds: UInt64?, kilobytes: UInt64?) {
        var seconds: UInt64?
        var kilobytes: UInt64?
        var currentType: UInt64?
        for a in self {
            if a.type == typeAttribute { currentType = a.integer }
            if a.type == durationAttribute {
                switch currentType {
                case ISAKMPLifeType.seconds?: seconds = a.integer
                case ISAKMPLifeType.kilobytes?: kilobytes = a.integer
                default: break
                }
            }
        }
        return (seconds, kilobytes)
    }
}

/// Limits on what a peer may make us allocate, with the reason for each value.
public enum ISAKMPLimits {
    /// Payloads per message: the largest legitimate message (QM1 with PFS, IDs, NAT-OA×2,
    /// vendor IDs) has about a dozen; RFC 2408 sets no limit.
    public static let payloadsPerMessage = 64
    /// Proposals per SA and transforms per proposal are one-octet counts (RFC 2408 §3.5, §3.6);
    /// we also bound them to keep selection linear and cheap.
    public static let proposalsPerSA = 64
    public static let transformsPerProposal = 64
    public static let attributesPerTransform = 32
    /// Life durations are clamped to 2^32 − 1 s (the largest 4-octet value, RFC 2407 §4.5)
    /// before they become times, so a hostile 8-octet value cannot wrap a clock.
    public static let maximumLifetimeSeconds = UInt64(UInt32.max)
    /// RFC 2409 §5: "the length of nonce payload MUST be between 8 and 256 bytes inclusive".
    public static let nonceLengths = 8...256
}
