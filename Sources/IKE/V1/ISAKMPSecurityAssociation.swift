/// SA payload body (RFC 2408 §3.4, RFC 2407 §4.6.1): `DOI (4) | Situation (4) | Proposal*`.
/// Proposal (§3.5): `hdr | Proposal# | Protocol-ID | SPI Size | #Transforms | SPI | Transform*`.
/// Transform (§3.6): `hdr | Transform# | Transform-ID | RESERVED2 (2) | SA Attributes`.
/// Proposal and transform payloads carry the generic header with Next Payload 2 resp. 3, or 0
/// on the last one.
public struct ISAKMPSecurityAssociation: Hashable, Sendable {
    public var doi: UInt32
    public var situation: UInt32
    public var proposals: [ISAKMPProposal]

    public init(doi: UInt32 = IPsecDOI.doi, situation: UInt32 = IPsecDOI.situationIdentityOnly, proposals: [ISAKMPProposal]) {
        self.doi = doi
        self.situation = situation
        self.proposals = proposals
    }

    public static func parse(_ body: ArraySlice<UInt8>) throws -> ISAKMPSecurityAssociation {
        var r = WireReader(body)
        let doi = try r.u32("DOI")
        let situation = try r.u32("situation")
        var proposals: [ISAKMPProposal] = []
        var next = ISAKMPPayloadType.proposal
        while next != ISAKMPPayloadType.none {
            guard next == ISAKMPPayloadType.proposal else { throw IKEError(.invalidSyntax, "payload \(next) inside SA") }
            guard proposals.count < ISAKMPLimits.proposalsPerSA else { throw IKEError(.invalidSyntax, "too many proposals") }
            let (np, pbody) = try readGeneric(&r)
            proposals.append(try ISAKMPProposal.parse(pbody))
            next = np
        }
        guard r.isEmpty else { throw IKEError(.invalidLength, "\(r.count) octets after the last proposal") }
        return ISAKMPSecurityAssociation(doi: doi, situation: situation, proposals: proposals)
    }

    public func serialize() -> [UInt8] {
        var out: [UInt8] = []
        out.appendU32(doi)
        out.appendU32(situation)
        for (i, p) in proposals.enumerated() {
            writeGeneric(&out, next: i + 1 < proposals.count ? ISAKMPPayloadType.proposal : 0, body: p.serialize())
        }
        return out
    }
}

public struct ISAKMPProposal: Hashable, Sendable {
    public var number: UInt8
    public var protocolID: UInt8
    public var spi: [UInt8]
    public var transforms: [ISAKMPTransform]

    public init(number: UInt8, protocolID: UInt8, spi: [UInt8] = [], transforms: [ISAKMPTransform]) {
        self.number = number
        self.protocolID = protocolID
        self.spi = spi
        self.transforms = transforms
    }

    static func parse(_ body: ArraySlice<UInt8>) throws -> ISAKMPProposal {
        var r = WireReader(body)
        let number = try r.u8("proposal #")
        let proto = try r.u8("protocol ID")
        let spiSize = Int(try r.u8("SPI size"))
        let count = Int(try r.u8("transform count"))
        let spi = try r.array(spiSize, "proposal SPI")
        guard count <= ISAKMPLimits.transformsPerProposal else { throw IKEError(.invalidSyntax, "\(count) transforms") }
        var transforms: [ISAKMPTransform] = []
        var next = count > 0 ? ISAKMPPayloadType.transform : ISAKMPPayloadType.none
        while next != ISAKMPPayloadType.none {
            guard next == ISAKMPPayloadType.transform, transforms.count < count else {
                throw IKEError(.invalidSyntax, "transform chain disagrees with count \(count)")
            }
            let (np, tbody) = try readGeneric(&r)
            transforms.append(try ISAKMPTransform.parse(tbody))
            next = np
        }
        guard transforms.count == count, r.isEmpty else {
            throw IKEError(.invalidSyntax, "proposal has \(transforms.count) of \(count) transforms, \(r.count) octets left")
        }
        return ISAKMPProposal(number: number, protocolID: proto, spi: spi, transforms: transforms)
    }

    func serialize() -> [UInt8] {
        var out: [UInt8] = [number, protocolID, UInt8(truncatingIfNeeded: spi.count), UInt8(truncatingIfNeeded: transforms.count)]
        out += spi
        for (i, t) in transforms.enumerated() {
            writeGeneric(&out, next: i + 1 < transforms.count ? ISAKMPPayloadType.transform : 0, body: t.serialize())
        }
        return out
    }
}

public struct ISAKMPTransform: Hashable, Sendable {
    public var number: UInt8
    public var transformID: UInt8
    public var attributes: [ISAKMPAttribute]

    public init(number: UInt8, transformID: UInt8, attributes: [ISAKMPAttribute]) {
        self.number = number
        self.transformID = transformID
        self.attributes = attributes
    }

    static func parse(_ body: ArraySlice<UInt8>) throws -> ISAKMPTransform {
        var r = WireReader(body)
        let number = try r.u8("transform #")
        let id = try r.u8("transform ID")
        _ = try r.bytes(2, "RESERVED2")
        return ISAKMPTransform(number: number, transformID: id, attributes: try ISAKMPAttribute.parseList(r.rest))
    }

    func serialize() -> [UInt8] {
        var out: [UInt8] = [number, transformID, 0, 0]
        for a in attributes { a.append(to: &out) }
        return out
    }
}

/// Reads one generic payload header (RFC 2408 §3.2) and its body.
func readGeneric(_ r: inout WireReader) throws -> (next: UInt8, body: ArraySlice<UInt8>) {
    let np = try r.u8("next payload")
    _ = try r.u8("reserved")
    let length = Int(try r.u16("payload length"))
    guard length >= 4 else { throw IKEError(.invalidLength, "payload length \(length)") }
    return (np, try r.bytes(length - 4, "payload body"))
}

func writeGeneric(_ out: inout [UInt8], next: UInt8, body: [UInt8]) {
    out.append(next)
    out.append(0)
    out.appendU16(UInt16(truncatingIfNeeded: body.count + 4))
    out += body
}
