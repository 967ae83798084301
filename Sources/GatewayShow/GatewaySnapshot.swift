/// What `slb gateway show crypto …` asks the running gateway for: a copy of its IKE and ESP
/// state at one instant. Plain values (strings for algorithm names, seconds for times) so the
/// same type is the control-socket payload, the JSON the operator reads and the renderers'
/// input. Built at the edge (Gateway), rendered here (pure).
public struct GatewaySnapshot: Hashable, Sendable, Codable {
    public var virtualIP: String
    /// Seconds the gateway has been running (monotonic).
    public var uptimeSeconds: UInt64
    public var ikeSAs: [IKESARow]
    public var ipsecSAs: [IPsecSARow]
    public var drops: [DropCounter]
    /// IKEv1 ISAKMP SAs (`show crypto isakmp sa`); absent in snapshots of older gateways.
    public var isakmpSAs: [ISAKMPSARow] = []

    public init(virtualIP: String, uptimeSeconds: UInt64, ikeSAs: [IKESARow], ipsecSAs: [IPsecSARow], drops: [DropCounter]) {
        self.virtualIP = virtualIP
        self.uptimeSeconds = uptimeSeconds
        self.ikeSAs = ikeSAs
        self.ipsecSAs = ipsecSAs
        self.drops = drops
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        virtualIP = try c.decode(String.self, forKey: .virtualIP)
        uptimeSeconds = try c.decode(UInt64.self, forKey: .uptimeSeconds)
        ikeSAs = try c.decode([IKESARow].self, forKey: .ikeSAs)
        ipsecSAs = try c.decode([IPsecSARow].self, forKey: .ipsecSAs)
        drops = try c.decode([DropCounter].self, forKey: .drops)
        isakmpSAs = try c.decodeIfPresent([ISAKMPSARow].self, forKey: .isakmpSAs) ?? []
    }
}

/// One established IKEv2 SA (IOS `show crypto ikev2 sa` row).
public struct IKESARow: Hashable, Sendable, Codable {
    /// Small number assigned in establishment order, like IOS's Tunnel-id.
    public var tunnelID: Int
    public var localAddress: String
    public var localPort: UInt16
    public var remoteAddress: String
    public var remotePort: UInt16
    /// IOS names: "AES-CBC" / "AES-GCM"; keysize in bits.
    public var encryption: String
    public var keySize: Int
    /// "SHA256", "SHA1", …
    public var prf: String
    /// Integrity ("SHA256", …) or "None" for AEAD.
    public var hash: String
    public var dhGroup: Int
    /// Hex, 16 digits, as in IOS detail output.
    public var localSPI: String
    public var remoteSPI: String
    public var localID: String
    public var remoteID: String
    public var activeSeconds: UInt64
    public var natDetected: Bool
    public var assignedAddress: String?
    public var childSACount: Int
    /// The gateway's IKE SA lifetime (`--ike-lifetime`), enforced with a DELETE; nil = none.
    public var lifetimeSeconds: UInt64? = nil

    public init(tunnelID: Int, localAddress: String, localPort: UInt16, remoteAddress: String, remotePort: UInt16,
                encryption: String, keySize: Int, prf: String, hash: String, dhGroup: Int, localSPI: String,
                remoteSPI: String, localID: String, remoteID: String, activeSeconds: UInt64, natDetected: Bool,
                assignedAddress: String?, childSACount: Int) {
        self.tunnelID = tunnelID
        self.localAddress = localAddress
        self.localPort = localPort
        self.remoteAddress = remoteAddress
        self.remotePort = remotePort
        self.encryption = encryption
        self.keySize = keySize
        self.prf = prf
        self.hash = hash
        self.dhGroup = dhGroup
        self.localSPI = localSPI
        self.remoteSPI = remoteSPI
        self.localID = localID
        self.remoteID = remoteID
        self.activeSeconds = activeSeconds
        self.natDetected = natDetected
        self.assignedAddress = assignedAddress
        self.childSACount = childSACount
    }
}

/// One ESP Child SA pair (IOS `show crypto ipsec sa` block).
public struct IPsecSARow: Hashable, Sendable, Codable {
    public var tunnelID: Int
    public var localAddress: String
    public var remoteAddress: String
    /// UDP port of the peer when ESP is UDP-encapsulated (RFC 3948), nil for raw ESP.
    public var remoteUDPPort: UInt16?
    public var localSelector: SelectorRow
    public var remoteSelector: SelectorRow
    /// SPIs as integers; renderers print IOS's `0xHEX(decimal)`.
    public var inboundSPI: UInt32
    public var outboundSPI: UInt32
    /// IOS transform set words: "esp-aes 128 esp-sha256-hmac" / "esp-gcm 256".
    public var transform: String
    public var ivSize: Int
    public var packetsEncrypted: UInt64
    public var packetsDecrypted: UInt64
    public var bytesEncrypted: UInt64
    public var bytesDecrypted: UInt64
    /// Packets that arrived on this SPI and failed (ICV, replay, padding): IOS "#recv errors".
    public var receiveErrors: UInt64
    /// Replies that could not be sealed (lifetime, sequence space): IOS "#send errors".
    /// Socket send failures are counted gateway-wide (`send.failed`).
    public var sendErrors: UInt64
    /// Inner traffic this gateway answered (ICMP echo) and other inner packets it counted.
    public var echoRepliesSent: UInt64
    public var innerOtherPackets: UInt64
    /// Hard lifetime left in seconds; nil = no time limit.
    public var remainingSeconds: UInt64?
    /// Kilobytes left before the hard byte limit; nil = no byte limit.
    public var remainingKilobytes: UInt64?

    public init(tunnelID: Int, localAddress: String, remoteAddress: String, remoteUDPPort: UInt16?,
                localSelector: SelectorRow, remoteSelector: SelectorRow, inboundSPI: UInt32, outboundSPI: UInt32,
                transform: String, ivSize: Int, packetsEncrypted: UInt64, packetsDecrypted: UInt64,
                bytesEncrypted: UInt64, bytesDecrypted: UInt64, receiveErrors: UInt64, sendErrors: UInt64,
                echoRepliesSent: UInt64, innerOtherPackets: UInt64, remainingSeconds: UInt64?, remainingKilobytes: UInt64?) {
        self.tunnelID = tunnelID
        self.localAddress = localAddress
        self.remoteAddress = remoteAddress
        self.remoteUDPPort = remoteUDPPort
        self.localSelector = localSelector
        self.remoteSelector = remoteSelector
        self.inboundSPI = inboundSPI
        self.outboundSPI = outboundSPI
        self.transform = transform
        self.ivSize = ivSize
        self.packetsEncrypted = packetsEncrypted
        self.packetsDecrypted = packetsDecrypted
        self.bytesEncrypted = bytesEncrypted
        self.bytesDecrypted = bytesDecrypted
        self.receiveErrors = receiveErrors
        self.sendErrors = sendErrors
        self.echoRepliesSent = echoRepliesSent
        self.innerOtherPackets = innerOtherPackets
        self.remainingSeconds = remainingSeconds
        self.remainingKilobytes = remainingKilobytes
    }
}

/// An IOS "ident" (addr/mask/prot/port). The mask is the largest prefix covering the range
/// start; ranges that are not prefixes print their start and end.
public struct SelectorRow: Hashable, Sendable, Codable {
    public var address: String
    public var mask: String
    public var ipProtocol: UInt8
    public var port: UInt16
    public init(address: String, mask: String, ipProtocol: UInt8, port: UInt16) {
        self.address = address
        self.mask = mask
        self.ipProtocol = ipProtocol
        self.port = port
    }
}

/// A named drop counter ("udp500.malformed", "esp.badSPI", …).
public struct DropCounter: Hashable, Sendable, Codable {
    public var name: String
    public var count: UInt64
    public init(name: String, count: UInt64) { self.name = name; self.count = count }
}
