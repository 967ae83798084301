// IKEv1 / ISAKMP numbers (RFC 2408 §3, RFC 2407 §4, RFC 2409 App. A, RFC 3947, RFC 3706).
// Open structs over raw values, so an unknown number from the wire is representable and never
// traps; the named constants are the ones this implementation acts on.

/// ISAKMP exchange type (RFC 2408 §3.1, RFC 2409 §5).
public struct ISAKMPExchangeType: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }
    /// Main Mode.
    public static let identityProtection = Self(rawValue: 2)
    public static let aggressive = Self(rawValue: 4)
    public static let informational = Self(rawValue: 5)
    /// draft-ietf-ipsec-isakmp-mode-cfg / XAuth.
    public static let transaction = Self(rawValue: 6)
    public static let quickMode = Self(rawValue: 32)
    public var description: String {
        switch rawValue {
        case 2: "main"
        case 4: "aggressive"
        case 5: "informational"
        case 6: "transaction"
        case 32: "quick"
        default: "exchange(\(rawValue))"
        }
    }
}

/// Payload types (RFC 2408 §3.1, RFC 3947 §3.1/§5.2).
public enum ISAKMPPayloadType {
    public static let none: UInt8 = 0
    public static let securityAssociation: UInt8 = 1
    public static let proposal: UInt8 = 2
    public static let transform: UInt8 = 3
    public static let keyExchange: UInt8 = 4
    public static let identification: UInt8 = 5
    public static let certificate: UInt8 = 6
    public static let certificateRequest: UInt8 = 7
    public static let hash: UInt8 = 8
    public static let signature: UInt8 = 9
    public static let nonce: UInt8 = 10
    public static let notification: UInt8 = 11
    public static let delete: UInt8 = 12
    public static let vendorID: UInt8 = 13
    public static let natDiscovery: UInt8 = 20
    public static let natOriginalAddress: UInt8 = 21
}

/// Notify message types (RFC 2408 §3.14.1, RFC 2407 §4.6.3, RFC 3706 §5.4).
public struct ISAKMPNotifyType: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }
    public static let invalidPayloadType = Self(rawValue: 1)
    public static let invalidExchangeType = Self(rawValue: 7)
    public static let attributesNotSupported = Self(rawValue: 13)
    public static let noProposalChosen = Self(rawValue: 14)
    public static let payloadMalformed = Self(rawValue: 16)
    public static let invalidKeyInformation = Self(rawValue: 17)
    public static let invalidIDInformation = Self(rawValue: 18)
    public static let invalidHashInformation = Self(rawValue: 23)
    public static let authenticationFailed = Self(rawValue: 24)
    public static let responderLifetime = Self(rawValue: 24576)
    public static let initialContact = Self(rawValue: 24578)
    public static let rUThere = Self(rawValue: 36136)
    public static let rUThereAck = Self(rawValue: 36137)

    /// Error types are below 8192 (RFC 2408 §3.14.1); status types from 16384.
    public var isError: Bool { rawValue < 8192 }

    public var description: String {
        switch rawValue {
        case 1: "INVALID-PAYLOAD-TYPE"
        case 7: "INVALID-EXCHANGE-TYPE"
        case 13: "ATTRIBUTES-NOT-SUPPORTED"
        case 14: "NO-PROPOSAL-CHOSEN"
        case 16: "PAYLOAD-MALFORMED"
        case 17: "INVALID-KEY-INFORMATION"
        case 18: "INVALID-ID-INFORMATION"
        case 23: "INVALID-HASH-INFORMATION"
        case 24: "AUTHENTICATION-FAILED"
        case 24576: "RESPONDER-LIFETIME"
        case 24578: "INITIAL-CONTACT"
        case 36136: "R-U-THERE"
        case 36137: "R-U-THERE-ACK"
        default: "NOTIFY(\(rawValue))"
        }
    }
}

/// Protocol identifiers in proposals, notifications and deletes (RFC 2407 §4.4.1).
public enum ISAKMPProtocolID {
    public static let isakmp: UInt8 = 1
    public static let ipsecAH: UInt8 = 2
    public static let ipsecESP: UInt8 = 3
}

/// Constants of the IPsec DOI (RFC 2407 §4.2, §4.4.2, §4.6.2.1).
public enum IPsecDOI {
    public static let doi: UInt32 = 1
    public static let situationIdentityOnly: UInt32 = 1
    /// Phase-1 transform ID KEY_IKE (RFC 2407 §4.4.2).
    public static let keyIKE: UInt8 = 1
    public static let idIPv4Address: UInt8 = 1
    public static let idFQDN: UInt8 = 2
    public static let idUserFQDN: UInt8 = 3
    public static let idIPv4Subnet: UInt8 = 4
    public static let idIPv4Range: UInt8 = 7
}

/// Phase-1 SA attributes (RFC 2409 Appendix A).
public enum Phase1Attribute {
    public static let encryptionAlgorithm: UInt16 = 1
    public static let hashAlgorithm: UInt16 = 2
    public static let authenticationMethod: UInt16 = 3
    public static let groupDescription: UInt16 = 4
    public static let lifeType: UInt16 = 11
    public static let lifeDuration: UInt16 = 12
    public static let keyLength: UInt16 = 14

    public static let encryption3DES: UInt64 = 5
    public static let encryptionAES: UInt64 = 7
    public static let hashMD5: UInt64 = 1
    public static let hashSHA1: UInt64 = 2
    public static let hashSHA256: UInt64 = 4
    public static let authPreSharedKey: UInt64 = 1
    /// XAUTHInitPreShared (draft-ietf-ipsec-isakmp-xauth §5): refused, out of scope.
    public static let authXAuthInitPreShared: UInt64 = 65001
}

/// Life types shared by phase 1 (App. A) and phase 2 (RFC 2407 §4.5).
public enum ISAKMPLifeType {
    public static let seconds: UInt64 = 1
    public static let kilobytes: UInt64 = 2
}

/// Phase-2 (IPsec DOI) SA attributes and ESP transform IDs (RFC 2407 §4.4.4, §4.5; RFC 3947 §5.2).
public enum Phase2Attribute {
    public static let lifeType: UInt16 = 1
    public static let lifeDuration: UInt16 = 2
    public static let groupDescription: UInt16 = 3
    public static let encapsulationMode: UInt16 = 4
    public static let authenticationAlgorithm: UInt16 = 5
    public static let keyLength: UInt16 = 6

    public static let espDES: UInt8 = 2
    public static let esp3DES: UInt8 = 3
    public static let espAES: UInt8 = 12

    public static let encapsulationTunnel: UInt64 = 1
    public static let encapsulationTransport: UInt64 = 2
    public static let encapsulationUDPTunnel: UInt64 = 3
    /// draft-ietf-ipsec-nat-t-ike-02/03 value, still sent by old clients (RFC 3947 §5.2 notes).
    public static let encapsulationUDPTunnelDraft: UInt64 = 61443

    public static let authHMACMD5: UInt64 = 1
    public static let authHMACSHA1: UInt64 = 2
    public static let authHMACSHA256: UInt64 = 5
}

/// Vendor IDs this implementation sends and recognises.
public enum ISAKMPVendorID {
    /// MD5("RFC 3947"), RFC 3947 §3.1.
    public static let natTraversalRFC3947: [UInt8] = [0x4a, 0x13, 0x1c, 0x81, 0x07, 0x03, 0x58, 0x45,
                                                      0x5c, 0x57, 0x28, 0xf2, 0x0e, 0x95, 0x45, 0x2f]
    /// RFC 3706 §7: the first 14 octets identify DPD, the last two are the version (1.0).
    public static let deadPeerDetection: [UInt8] = [0xaf, 0xca, 0xd7, 0x13, 0x68, 0xa1, 0xf1, 0xc9,
                                                    0x6b, 0x86, 0x96, 0xfc, 0x77, 0x57, 0x01, 0x00]
    static func isDPD(_ v: [UInt8]) -> Bool { v.count == 16 && v.prefix(14).elementsEqual(deadPeerDetection.prefix(14)) }
}
