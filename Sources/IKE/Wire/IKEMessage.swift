/// An IKE message: header and its (outer) payload chain. For protected exchanges the chain
/// ends with an `.encrypted` SK payload that `SKCodec` opens into the inner payloads.
public struct IKEMessage: Hashable, Sendable {
    /// Our bound on accepted datagrams; IKE over UDP is limited by the UDP datagram (RFC 7296
    /// §2 requires accepting at least 1280 octets, §3.1 Length is 32 bits). 64 KiB − headers.
    public static let maximumLength = 65_507

    public var header: IKEHeader
    public var payloads: [Payload]

    public init(header: IKEHeader, payloads: [Payload]) {
        self.header = header
        self.payloads = payloads
    }

    public static func parse(_ datagram: [UInt8]) throws -> IKEMessage {
        guard datagram.count <= maximumLength else { throw IKEError(.invalidLength, "datagram of \(datagram.count) octets") }
        let header = try IKEHeader.parse(datagram[...])
        let payloads = try PayloadChain.parse(first: header.nextPayload,
                                              datagram[IKEHeader.length...], baseOffset: IKEHeader.length)
        return IKEMessage(header: header, payloads: payloads)
    }

    /// Serialises with Next Payload and Length filled in.
    public func serialize() -> [UInt8] {
        var out: [UInt8] = []
        var h = header
        h.nextPayload = payloads.first?.type ?? .none
        h.serialize(into: &out)
        PayloadChain.serialize(payloads, into: &out)
        out.setU32(UInt32(out.count), at: 24)
        return out
    }
}

extension Array where Element == Payload {
    public var notifies: [NotifyPayload] {
        compactMap { if case .notify(let n) = $0 { n } else { nil } }
    }
    public func notify(_ type: NotifyType) -> NotifyPayload? { notifies.first { $0.type == type } }
    public var firstErrorNotify: NotifyPayload? { notifies.first { $0.type.isError } }

    public var securityAssociation: SecurityAssociationPayload? {
        for p in self { if case .securityAssociation(let v) = p { return v } }
        return nil
    }
    public var keyExchange: KeyExchangePayload? {
        for p in self { if case .keyExchange(let v) = p { return v } }
        return nil
    }
    public var nonce: NoncePayload? {
        for p in self { if case .nonce(let v) = p { return v } }
        return nil
    }
    public var identificationInitiator: IdentificationPayload? {
        for p in self { if case .identificationInitiator(let v) = p { return v } }
        return nil
    }
    public var identificationResponder: IdentificationPayload? {
        for p in self { if case .identificationResponder(let v) = p { return v } }
        return nil
    }
    public var authentication: AuthenticationPayload? {
        for p in self { if case .authentication(let v) = p { return v } }
        return nil
    }
    public var trafficSelectorInitiator: TrafficSelectorPayload? {
        for p in self { if case .trafficSelectorInitiator(let v) = p { return v } }
        return nil
    }
    public var trafficSelectorResponder: TrafficSelectorPayload? {
        for p in self { if case .trafficSelectorResponder(let v) = p { return v } }
        return nil
    }
    public var configuration: ConfigurationPayload? {
        for p in self { if case .configuration(let v) = p { return v } }
        return nil
    }
    public var deletes: [DeletePayload] {
        compactMap { if case .delete(let d) = $0 { d } else { nil } }
    }
    public var encrypted: EncryptedPayload? {
        for p in self { if case .encrypted(let v) = p { return v } }
        return nil
    }
}
