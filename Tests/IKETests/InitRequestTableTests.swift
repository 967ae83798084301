import IKE
import IPsecCrypto
import SLBWire
import Testing

/// IKE_SA_INIT requests as a table of {mutation, expected outcome} (the Katran style): each
/// row starts from a valid request of our initiator and changes one thing.
@Suite("IKE_SA_INIT request table")
struct InitRequestTableTests {
    enum Expected: Equatable, CustomStringConvertible {
        case notify(NotifyType)
        case drop(DropReason)
        case accepted
        var description: String {
            switch self {
            case .notify(let n): "N(\(n))"
            case .drop(let r): "drop(\(r))"
            case .accepted: "accepted"
            }
        }
    }

    struct Row: CustomStringConvertible, Sendable {
        var name: String
        var expected: Expected
        var mutate: @Sendable (inout IKEMessage, inout [UInt8]?) -> Void
        var description: String { name }
    }

    static func replacing(_ type: PayloadType, with p: Payload?) -> @Sendable (inout IKEMessage, inout [UInt8]?) -> Void {
        { m, _ in
            if let i = m.payloads.firstIndex(where: { $0.type == type }) {
                if let p { m.payloads[i] = p } else { m.payloads.remove(at: i) }
            }
        }
    }

    static let rows: [Row] = [
        Row(name: "unchanged", expected: .accepted, mutate: { _, _ in }),
        Row(name: "X25519 public value all zero (RFC 8031 §2)", expected: .notify(.invalidSyntax),
            mutate: replacing(.keyExchange, with: .keyExchange(KeyExchangePayload(group: 31, data: Array(repeating: 0, count: 32))))),
        Row(name: "KE one octet short", expected: .notify(.invalidSyntax),
            mutate: replacing(.keyExchange, with: .keyExchange(KeyExchangePayload(group: 31, data: Array(repeating: 9, count: 31))))),
        Row(name: "KE of an unknown group", expected: .notify(.invalidKEPayload),
            mutate: replacing(.keyExchange, with: .keyExchange(KeyExchangePayload(group: 15, data: Array(repeating: 9, count: 384))))),
        Row(name: "no SA payload", expected: .notify(.invalidSyntax), mutate: replacing(.securityAssociation, with: nil)),
        Row(name: "no nonce", expected: .notify(.invalidSyntax), mutate: replacing(.nonce, with: nil)),
        Row(name: "an AUTH payload", expected: .notify(.invalidSyntax), mutate: { m, _ in
            m.payloads.append(.authentication(AuthenticationPayload(method: 2, data: [1]))) }),
        Row(name: "only an ESP proposal", expected: .notify(.noProposalChosen),
            mutate: replacing(.securityAssociation, with: .securityAssociation(ProposalSelection.offer(.gatewayESP, protocolID: .esp, spi: [1, 2, 3, 4])))),
        Row(name: "nonce of 15 octets (§3.9)", expected: .notify(.invalidSyntax), mutate: { m, raw in
            var b = m.serialize()
            // Shrink the 32-octet nonce payload to 15 octets by hand (the model refuses to).
            let parsed = (try? IKEMessage.parse(b))!
            var offset = IKEHeader.length
            for p in parsed.payloads {
                let length = Int(b[offset + 2]) << 8 | Int(b[offset + 3])
                if p.type == .nonce {
                    b.removeSubrange((offset + 4 + 15)..<(offset + length))
                    b[offset + 2] = 0; b[offset + 3] = UInt8(4 + 15)
                    break
                }
                offset += length
            }
            b.replaceSubrange(24..<28, with: [0, 0, UInt8(b.count >> 8), UInt8(b.count & 0xFF)])
            raw = b
        }),
        Row(name: "SPIr not zero", expected: .drop(.unexpectedMessage), mutate: { m, _ in m.header.spiR = 7 }),
        Row(name: "response flag", expected: .drop(.unexpectedMessage), mutate: { m, _ in m.header.flags = [.initiator, .response] }),
        Row(name: "initiator flag missing", expected: .drop(.unexpectedMessage), mutate: { m, _ in m.header.flags = [] }),
        Row(name: "message ID 1", expected: .drop(.unexpectedMessage), mutate: { m, _ in m.header.messageID = 1 }),
        Row(name: "major version 3 (§2.5)", expected: .notify(.invalidMajorVersion), mutate: { m, _ in m.header.majorVersion = 3 }),
        Row(name: "IKEv1 (major 1)", expected: .drop(.notIKEv2), mutate: { m, _ in m.header.majorVersion = 1 }),
        Row(name: "exchange 99", expected: .drop(.unknownSPI), mutate: { m, _ in m.header.exchange = ExchangeType(rawValue: 99) }),
    ]

    @Test("outcome", arguments: rows)
    func outcome(_ row: Row) throws {
        var initiator = IKEv2Initiator(configuration: initiatorConfiguration(), crypto: openSSL)
        var message = try IKEMessage.parse(initiator.start(now: .zero).sent[0])
        var raw: [UInt8]?
        row.mutate(&message, &raw)
        var responder = IKEv2Responder(configuration: responderConfiguration(), crypto: openSSL)
        let actions = responder.receive(raw ?? message.serialize(), from: clientEndpoint, to: gatewayEndpoint, now: .zero)
        switch row.expected {
        case .accepted:
            #expect(responder.halfOpenCount == 1)
            #expect(try IKEMessage.parse(actions.sent[0]).payloads.securityAssociation != nil)
        case .notify(let n):
            #expect(actions.sent.count == 1)
            #expect(actions.sent.map(plainNotifies) == [[n]])
            #expect(try IKEMessage.parse(actions.sent[0]).header.spiR == 0)     // §2.6: no state, SPIr zero
            #expect(responder.halfOpenCount == 0)
        case .drop(let r):
            #expect(actions.sent.isEmpty)
            #expect(actions.drops == [r])
            #expect(responder.halfOpenCount == 0)
        }
    }
}
