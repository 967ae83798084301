/// The one error type of the IKE target. `code` is stable (tests and logs match on it);
/// `notify` says which RFC 7296 §3.10.1 error an answer to the peer should carry, if any.
public struct IKEError: Error, Hashable, Sendable, CustomStringConvertible {
    public enum Code: String, Hashable, Sendable {
        /// Input ended before a length or fixed field said it would (§3.2).
        case truncated
        /// A length field is smaller than its header or larger than its container.
        case invalidLength
        /// Structurally valid octets that violate a MUST of the RFC.
        case invalidSyntax
        /// Major version other than 2 (§2.5, §3.1).
        case invalidMajorVersion
        /// An unrecognised payload with the critical bit set (§2.5).
        case unsupportedCriticalPayload
        /// A payload the exchange may not carry, or a mandatory one missing (§1, §3).
        case unexpectedPayload
        /// SK payload integrity check or AEAD tag failed (§3.14).
        case integrityCheckFailed
        /// Something the crypto provider refused (bad public value, backend failure).
        case crypto
    }

    public var code: Code
    public var detail: String
    /// For `.unsupportedCriticalPayload`: the payload type to echo in the notify data.
    public var payloadType: UInt8?

    public init(_ code: Code, _ detail: String = "", payloadType: UInt8? = nil) {
        self.code = code
        self.detail = detail
        self.payloadType = payloadType
    }

    public var description: String { detail.isEmpty ? code.rawValue : "\(code.rawValue): \(detail)" }

    /// The error notify an RFC 7296 responder sends for this parse failure, or nil to drop.
    public var notify: NotifyType? {
        switch code {
        case .truncated, .invalidLength, .invalidSyntax, .unexpectedPayload: .invalidSyntax
        case .invalidMajorVersion: .invalidMajorVersion
        case .unsupportedCriticalPayload: .unsupportedCriticalPayload
        case .integrityCheckFailed, .crypto: nil
        }
    }
}
