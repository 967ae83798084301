/// Security Association payload body (RFC 7296 §3.3): a list of proposals.
///
/// ```
/// Proposal substructure (§3.3.1):
/// | Last Substruc |   RESERVED    |         Proposal Length       |
/// | Proposal Num  |  Protocol ID  |    SPI Size   |Num  Transforms|
/// ~                        SPI (variable)                         ~
/// ~                        <Transforms>                           ~
///
/// Transform substructure (§3.3.2):
/// | Last Substruc |   RESERVED    |        Transform Length       |
/// |Transform Type |   RESERVED    |          Transform ID         |
/// ~                      Transform Attributes                     ~
///
/// Transform attribute (§3.3.5):
/// |A|       Attribute Type        |    AF=0  Attribute Length     |
/// |                               |    AF=1  Attribute Value      |
/// ~                   AF=0  Attribute Value (variable)            ~
/// ```
public struct SecurityAssociationPayload: Hashable, Sendable {
    /// §3.3.1: "Last Substruc" is 0 for the last proposal, 2 for more.
    static let moreProposals: UInt8 = 2
    /// §3.3.2: "Last Substruc" is 0 for the last transform, 3 for more.
    static let moreTransforms: UInt8 = 3
    static let proposalHeaderLength = 8
    static let transformHeaderLength = 8

    public var proposals: [Proposal]
    public init(proposals: [Proposal]) { self.proposals = proposals }

    public static func parse(_ body: ArraySlice<UInt8>) throws -> SecurityAssociationPayload {
        var r = WireReader(body)
        var proposals: [Proposal] = []
        var last: UInt8 = moreProposals
        while last == moreProposals {
            last = try r.u8("proposal last")
            guard last == 0 || last == moreProposals else {
                throw IKEError(.invalidSyntax, "proposal Last Substruc \(last)")
            }
            _ = try r.u8()
            let length = Int(try r.u16("proposal length"))
            guard length >= proposalHeaderLength else { throw IKEError(.invalidLength, "proposal length \(length)") }
            var p = WireReader(try r.bytes(length - 4, "proposal"))
            let number = try p.u8()
            let proto = ProtocolID(rawValue: try p.u8())
            let spiSize = Int(try p.u8())
            let count = Int(try p.u8())
            let spi = try p.array(spiSize, "proposal SPI")
            var transforms: [Transform] = []
            var tlast: UInt8 = count == 0 ? 0 : moreTransforms
            while tlast == moreTransforms {
                tlast = try p.u8("transform last")
                guard tlast == 0 || tlast == moreTransforms else {
                    throw IKEError(.invalidSyntax, "transform Last Substruc \(tlast)")
                }
                _ = try p.u8()
                let tlen = Int(try p.u16("transform length"))
                guard tlen >= transformHeaderLength else { throw IKEError(.invalidLength, "transform length \(tlen)") }
                var t = WireReader(try p.bytes(tlen - 4, "transform"))
                let type = TransformType(rawValue: try t.u8())
                _ = try t.u8()
                let id = try t.u16()
                var attributes: [TransformAttribute] = []
                while !t.isEmpty { attributes.append(try TransformAttribute.parse(&t)) }
                transforms.append(Transform(type: type, id: id, attributes: attributes))
            }
            guard p.isEmpty else { throw IKEError(.invalidLength, "proposal has trailing octets") }
            guard transforms.count == count else {
                throw IKEError(.invalidSyntax, "proposal says \(count) transforms, carries \(transforms.count)")
            }
            proposals.append(Proposal(number: number, protocolID: proto, spi: spi, transforms: transforms))
        }
        guard r.isEmpty else { throw IKEError(.invalidLength, "SA payload has trailing octets") }
        return SecurityAssociationPayload(proposals: proposals)
    }

    public func serialize(into out: inout [UInt8]) {
        for (i, proposal) in proposals.enumerated() {
            let start = out.count
            out.append(i == proposals.count - 1 ? 0 : Self.moreProposals)
            out.append(0)
            out.appendU16(0)
            out.append(proposal.number)
            out.append(proposal.protocolID.rawValue)
            out.append(UInt8(truncatingIfNeeded: proposal.spi.count))
            out.append(UInt8(truncatingIfNeeded: proposal.transforms.count))
            out += proposal.spi
            for (j, transform) in proposal.transforms.enumerated() {
                let tstart = out.count
                out.append(j == proposal.transforms.count - 1 ? 0 : Self.moreTransforms)
                out.append(0)
                out.appendU16(0)
                out.append(transform.type.rawValue)
                out.append(0)
                out.appendU16(transform.id)
                for attribute in transform.attributes { attribute.serialize(into: &out) }
                out.setU16(UInt16(truncatingIfNeeded: out.count - tstart), at: tstart + 2)
            }
            out.setU16(UInt16(truncatingIfNeeded: out.count - start), at: start + 2)
        }
    }
}

public struct Proposal: Hashable, Sendable {
    public var number: UInt8
    public var protocolID: ProtocolID
    /// Empty in IKE_SA_INIT, 8 octets for an IKE SA rekey, 4 for ESP (§3.3.1).
    public var spi: [UInt8]
    public var transforms: [Transform]

    public init(number: UInt8, protocolID: ProtocolID, spi: [UInt8] = [], transforms: [Transform]) {
        self.number = number
        self.protocolID = protocolID
        self.spi = spi
        self.transforms = transforms
    }

    public func transforms(of type: TransformType) -> [Transform] { transforms.filter { $0.type == type } }
}

public struct Transform: Hashable, Sendable {
    public var type: TransformType
    public var id: UInt16
    public var attributes: [TransformAttribute]

    public init(type: TransformType, id: UInt16, attributes: [TransformAttribute] = []) {
        self.type = type
        self.id = id
        self.attributes = attributes
    }

    public init(type: TransformType, id: UInt16, keyLength: Int) {
        self.init(type: type, id: id, attributes: [.keyLength(UInt16(truncatingIfNeeded: keyLength))])
    }

    /// The Key Length attribute in bits (§3.3.5), if present.
    public var keyLength: Int? {
        for a in attributes where a.type == TransformAttribute.keyLengthType {
            if case .short(let v) = a.value { return Int(v) }
        }
        return nil
    }
}

public struct TransformAttribute: Hashable, Sendable {
    /// §3.3.5: Key Length, the only attribute IKEv2 defines; TV format.
    public static let keyLengthType: UInt16 = 14
    static let formatBit: UInt16 = 0x8000

    public enum Value: Hashable, Sendable {
        case short(UInt16)     // AF = 1, TV
        case long([UInt8])     // AF = 0, TLV
    }

    public var type: UInt16
    public var value: Value

    public init(type: UInt16, value: Value) {
        self.type = type & 0x7FFF
        self.value = value
    }

    public static func keyLength(_ bits: UInt16) -> TransformAttribute {
        TransformAttribute(type: keyLengthType, value: .short(bits))
    }

    static func parse(_ r: inout WireReader) throws -> TransformAttribute {
        let typeField = try r.u16("attribute type")
        let second = try r.u16("attribute value")
        if typeField & formatBit != 0 {
            return TransformAttribute(type: typeField, value: .short(second))
        }
        return TransformAttribute(type: typeField, value: .long(try r.array(Int(second), "attribute value")))
    }

    func serialize(into out: inout [UInt8]) {
        switch value {
        case .short(let v):
            out.appendU16(type | Self.formatBit)
            out.appendU16(v)
        case .long(let bytes):
            out.appendU16(type)
            out.appendU16(UInt16(truncatingIfNeeded: bytes.count))
            out += bytes
        }
    }
}
