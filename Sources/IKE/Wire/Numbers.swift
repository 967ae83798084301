// IANA "IKEv2 Parameters" numbers as open structs: a value we do not know still parses, so the
// state machine (not the parser) decides what an unknown number means.

/// Exchange types (RFC 7296 §3.1).
public struct ExchangeType: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }
    public static let ikeSAInit = ExchangeType(rawValue: 34)
    public static let ikeAuth = ExchangeType(rawValue: 35)
    public static let createChildSA = ExchangeType(rawValue: 36)
    public static let informational = ExchangeType(rawValue: 37)
    public var description: String {
        switch rawValue {
        case 34: "IKE_SA_INIT"
        case 35: "IKE_AUTH"
        case 36: "CREATE_CHILD_SA"
        case 37: "INFORMATIONAL"
        default: "EXCHANGE(\(rawValue))"
        }
    }
}

/// Payload types (RFC 7296 §3.2).
public struct PayloadType: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }
    public static let none = PayloadType(rawValue: 0)
    public static let securityAssociation = PayloadType(rawValue: 33)
    public static let keyExchange = PayloadType(rawValue: 34)
    public static let identificationInitiator = PayloadType(rawValue: 35)
    public static let identificationResponder = PayloadType(rawValue: 36)
    public static let certificate = PayloadType(rawValue: 37)
    public static let certificateRequest = PayloadType(rawValue: 38)
    public static let authentication = PayloadType(rawValue: 39)
    public static let nonce = PayloadType(rawValue: 40)
    public static let notify = PayloadType(rawValue: 41)
    public static let delete = PayloadType(rawValue: 42)
    public static let vendorID = PayloadType(rawValue: 43)
    public static let trafficSelectorInitiator = PayloadType(rawValue: 44)
    public static let trafficSelectorResponder = PayloadType(rawValue: 45)
    public static let encrypted = PayloadType(rawValue: 46)
    public static let configuration = PayloadType(rawValue: 47)
    public static let eap = PayloadType(rawValue: 48)
    public static let encryptedFragment = PayloadType(rawValue: 53)

    /// Types this implementation recognises (§2.5: only unrecognised payloads consult the
    /// critical bit). CERT, CERTREQ, EAP and SKF are recognised but carried opaquely.
    public var isRecognised: Bool { (33...48).contains(rawValue) || rawValue == 53 }

    public var description: String {
        switch rawValue {
        case 33: "SA"
        case 34: "KE"
        case 35: "IDi"
        case 36: "IDr"
        case 37: "CERT"
        case 38: "CERTREQ"
        case 39: "AUTH"
        case 40: "Nonce"
        case 41: "N"
        case 42: "D"
        case 43: "V"
        case 44: "TSi"
        case 45: "TSr"
        case 46: "SK"
        case 47: "CP"
        case 48: "EAP"
        case 53: "SKF"
        default: "PAYLOAD(\(rawValue))"
        }
    }
}

/// Security protocol identifiers (RFC 7296 §3.3.1).
public struct ProtocolID: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }
    public static let ike = ProtocolID(rawValue: 1)
    public static let ah = ProtocolID(rawValue: 2)
    public static let esp = ProtocolID(rawValue: 3)
    public var description: String {
        switch rawValue {
        case 1: "IKE"
        case 2: "AH"
        case 3: "ESP"
        default: "PROTO(\(rawValue))"
        }
    }
}

/// Transform types (RFC 7296 §3.3.2).
public struct TransformType: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }
    public static let encryption = TransformType(rawValue: 1)
    public static let prf = TransformType(rawValue: 2)
    public static let integrity = TransformType(rawValue: 3)
    public static let keyExchange = TransformType(rawValue: 4)
    public static let extendedSequenceNumbers = TransformType(rawValue: 5)
    public var description: String {
        switch rawValue {
        case 1: "ENCR"
        case 2: "PRF"
        case 3: "INTEG"
        case 4: "DH"
        case 5: "ESN"
        default: "TRANSFORM(\(rawValue))"
        }
    }
}

/// Notify message types (RFC 7296 §3.10.1 and later RFCs).
public struct NotifyType: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }

    public static let unsupportedCriticalPayload = NotifyType(rawValue: 1)
    public static let invalidIKESPI = NotifyType(rawValue: 4)
    public static let invalidMajorVersion = NotifyType(rawValue: 5)
    public static let invalidSyntax = NotifyType(rawValue: 7)
    public static let invalidMessageID = NotifyType(rawValue: 9)
    public static let invalidSPI = NotifyType(rawValue: 11)
    public static let noProposalChosen = NotifyType(rawValue: 14)
    public static let invalidKEPayload = NotifyType(rawValue: 17)
    public static let authenticationFailed = NotifyType(rawValue: 24)
    public static let singlePairRequired = NotifyType(rawValue: 34)
    public static let noAdditionalSAs = NotifyType(rawValue: 35)
    public static let internalAddressFailure = NotifyType(rawValue: 36)
    public static let failedCPRequired = NotifyType(rawValue: 37)
    public static let tsUnacceptable = NotifyType(rawValue: 38)
    public static let invalidSelectors = NotifyType(rawValue: 39)
    public static let temporaryFailure = NotifyType(rawValue: 43)
    public static let childSANotFound = NotifyType(rawValue: 44)

    public static let initialContact = NotifyType(rawValue: 16384)
    public static let setWindowSize = NotifyType(rawValue: 16385)
    public static let additionalTSPossible = NotifyType(rawValue: 16386)
    public static let ipcompSupported = NotifyType(rawValue: 16387)
    public static let natDetectionSourceIP = NotifyType(rawValue: 16388)
    public static let natDetectionDestinationIP = NotifyType(rawValue: 16389)
    public static let cookie = NotifyType(rawValue: 16390)
    public static let useTransportMode = NotifyType(rawValue: 16391)
    public static let rekeySA = NotifyType(rawValue: 16393)
    public static let espTFCPaddingNotSupported = NotifyType(rawValue: 16394)
    public static let mobikeSupported = NotifyType(rawValue: 16396)
    public static let ikev2FragmentationSupported = NotifyType(rawValue: 16430)

    /// §3.10.1: types below 16384 are errors, the rest status.
    public var isError: Bool { rawValue < 16384 }

    public var description: String {
        switch rawValue {
        case 1: "UNSUPPORTED_CRITICAL_PAYLOAD"
        case 4: "INVALID_IKE_SPI"
        case 5: "INVALID_MAJOR_VERSION"
        case 7: "INVALID_SYNTAX"
        case 9: "INVALID_MESSAGE_ID"
        case 11: "INVALID_SPI"
        case 14: "NO_PROPOSAL_CHOSEN"
        case 17: "INVALID_KE_PAYLOAD"
        case 24: "AUTHENTICATION_FAILED"
        case 34: "SINGLE_PAIR_REQUIRED"
        case 35: "NO_ADDITIONAL_SAS"
        case 36: "INTERNAL_ADDRESS_FAILURE"
        case 37: "FAILED_CP_REQUIRED"
        case 38: "TS_UNACCEPTABLE"
        case 39: "INVALID_SELECTORS"
        case 43: "TEMPORARY_FAILURE"
        case 44: "CHILD_SA_NOT_FOUND"
        case 16384: "INITIAL_CONTACT"
        case 16385: "SET_WINDOW_SIZE"
        case 16388: "NAT_DETECTION_SOURCE_IP"
        case 16389: "NAT_DETECTION_DESTINATION_IP"
        case 16390: "COOKIE"
        case 16391: "USE_TRANSPORT_MODE"
        case 16393: "REKEY_SA"
        case 16396: "MOBIKE_SUPPORTED"
        case 16430: "IKEV2_FRAGMENTATION_SUPPORTED"
        default: "NOTIFY(\(rawValue))"
        }
    }
}
