/// Which payloads each exchange may and must carry (RFC 7296 §1.2–§1.5, §3), as data — the
/// idea of strongSwan's `message.c` rule table. Checked on the payloads after decryption;
/// unrecognised non-critical payloads never reach here (§2.5 skips them).
public struct MessageRule: Sendable {
    public struct Entry: Sendable {
        public var type: PayloadType
        public var minimum: Int
        public var maximum: Int
    }

    public var exchange: ExchangeType
    public var isResponse: Bool
    /// True when the payloads travel inside SK (every exchange but IKE_SA_INIT, §3.14).
    public var encrypted: Bool
    public var entries: [Entry]

    /// A response carrying an error notify (or COOKIE / INVALID_KE in IKE_SA_INIT) replaces
    /// the normal payloads (§1.2, §2.6, §2.21), so minima are not enforced for it.
    public func check(_ payloads: [Payload]) throws {
        var counts: [PayloadType: Int] = [:]
        for p in payloads { counts[p.type, default: 0] += 1 }
        let errorOrCookie = payloads.notifies.contains { $0.type.isError || $0.type == .cookie }
        for (type, n) in counts {
            guard let e = entries.first(where: { $0.type == type }) else {
                throw IKEError(.unexpectedPayload, "\(type) not allowed in \(exchange) \(isResponse ? "response" : "request")")
            }
            guard n <= e.maximum else {
                throw IKEError(.unexpectedPayload, "\(n)× \(type) in \(exchange)")
            }
        }
        if isResponse && errorOrCookie { return }
        for e in entries where counts[e.type, default: 0] < e.minimum {
            throw IKEError(.unexpectedPayload, "\(exchange) \(isResponse ? "response" : "request") lacks \(e.type)")
        }
    }
}

public enum MessageRules {
    static let many = Int.max

    private static func e(_ t: PayloadType, _ min: Int, _ max: Int) -> MessageRule.Entry {
        MessageRule.Entry(type: t, minimum: min, maximum: max)
    }

    /// The table. Rows mirror §1.2 (IKE_SA_INIT, IKE_AUTH), §1.3 (CREATE_CHILD_SA) and §1.4
    /// (INFORMATIONAL). EAP and CERT are allowed so such a message fails in the state
    /// machine with AUTHENTICATION_FAILED rather than as INVALID_SYNTAX.
    public static let all: [MessageRule] = [
        MessageRule(exchange: .ikeSAInit, isResponse: false, encrypted: false, entries: [
            e(.securityAssociation, 1, 1), e(.keyExchange, 1, 1), e(.nonce, 1, 1),
            e(.notify, 0, many), e(.vendorID, 0, many), e(.certificateRequest, 0, many),
        ]),
        MessageRule(exchange: .ikeSAInit, isResponse: true, encrypted: false, entries: [
            e(.securityAssociation, 1, 1), e(.keyExchange, 1, 1), e(.nonce, 1, 1),
            e(.notify, 0, many), e(.vendorID, 0, many), e(.certificateRequest, 0, many),
        ]),
        MessageRule(exchange: .ikeAuth, isResponse: false, encrypted: true, entries: [
            e(.identificationInitiator, 1, 1), e(.identificationResponder, 0, 1),
            e(.authentication, 0, 1), e(.certificate, 0, many), e(.certificateRequest, 0, many),
            e(.configuration, 0, 1), e(.securityAssociation, 0, 1),
            e(.trafficSelectorInitiator, 0, 1), e(.trafficSelectorResponder, 0, 1),
            e(.notify, 0, many), e(.vendorID, 0, many), e(.eap, 0, 1),
        ]),
        MessageRule(exchange: .ikeAuth, isResponse: true, encrypted: true, entries: [
            e(.identificationResponder, 1, 1), e(.authentication, 1, 1),
            e(.certificate, 0, many), e(.configuration, 0, 1), e(.securityAssociation, 0, 1),
            e(.trafficSelectorInitiator, 0, 1), e(.trafficSelectorResponder, 0, 1),
            e(.notify, 0, many), e(.vendorID, 0, many), e(.eap, 0, 1),
        ]),
        MessageRule(exchange: .createChildSA, isResponse: false, encrypted: true, entries: [
            e(.securityAssociation, 1, 1), e(.nonce, 1, 1), e(.keyExchange, 0, 1),
            e(.trafficSelectorInitiator, 0, 1), e(.trafficSelectorResponder, 0, 1),
            e(.notify, 0, many), e(.vendorID, 0, many),
        ]),
        MessageRule(exchange: .createChildSA, isResponse: true, encrypted: true, entries: [
            e(.securityAssociation, 1, 1), e(.nonce, 1, 1), e(.keyExchange, 0, 1),
            e(.trafficSelectorInitiator, 0, 1), e(.trafficSelectorResponder, 0, 1),
            e(.notify, 0, many), e(.vendorID, 0, many),
        ]),
        MessageRule(exchange: .informational, isResponse: false, encrypted: true, entries: [
            e(.notify, 0, many), e(.delete, 0, many), e(.configuration, 0, 1), e(.vendorID, 0, many),
        ]),
        MessageRule(exchange: .informational, isResponse: true, encrypted: true, entries: [
            e(.notify, 0, many), e(.delete, 0, many), e(.configuration, 0, 1), e(.vendorID, 0, many),
        ]),
    ]

    public static func rule(for exchange: ExchangeType, isResponse: Bool) -> MessageRule? {
        all.first { $0.exchange == exchange && $0.isResponse == isResponse }
    }

    /// Checks `payloads` (inner payloads for protected exchanges) against the table.
    /// An exchange type we do not know is `.invalidSyntax` (§1: only these four exist).
    public static func check(_ exchange: ExchangeType, isResponse: Bool, _ payloads: [Payload]) throws {
        guard let rule = rule(for: exchange, isResponse: isResponse) else {
            throw IKEError(.invalidSyntax, "exchange \(exchange)")
        }
        try rule.check(payloads)
    }
}
