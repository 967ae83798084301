import IPsecCrypto
import SLBWire

/// Configuration of the gateway's IKEv2 responder.
public struct IKEv2ResponderConfiguration: Sendable {
    /// The VIP clients address. NAT detection hashes and the default IDr use it, so a
    /// gateway reached through a NAT-ing SLB still answers truthfully about the client side.
    public var virtualIP: IPv4Address
    /// Our identity (IDr); nil = ID_IPV4_ADDR of the VIP (what initiators configure).
    public var identity: IdentificationPayload?
    /// PSKs by the peer's identity (IDi type ‖ data); `defaultPSK` for any other peer.
    public var preSharedKeys: [IdentificationPayload: [UInt8]]
    public var defaultPSK: [UInt8]?
    public var ike: ProposalPolicy
    public var child: ChildSAPolicy
    /// Virtual addresses for CP(REQUEST) INTERNAL_IP4_ADDRESS; nil = none (the request is
    /// then answered with INTERNAL_ADDRESS_FAILURE for that Child SA, §3.15.4).
    public var addressPool: IPv4Network?
    /// Local port → the port clients address, when something in front translates ports (e.g.
    /// the gateway listens on 5500 behind a VIP's 500). Unlisted ports are their own public port.
    public var publicPorts: [UInt16: UInt16]
    /// Fake a NAT (random NAT_DETECTION_SOURCE_IP) so every peer uses ESP-in-UDP (spec §0.1).
    public var forceUDPEncapsulation: Bool
    /// Half-open SAs above which IKE_SA_INIT needs a COOKIE (§2.6). 0 = always.
    public var cookieThreshold: Int
    /// Shared by all gateways of a farm, so a cookie made by one is accepted by any.
    public var cookieSecret: CookieJar.Secret
    public var maximumHalfOpen: Int
    public var maximumEstablished: Int
    /// A half-open SA that does not complete IKE_AUTH in this time is forgotten.
    public var halfOpenTimeout: TimeSpan
    /// Send our own liveness check after this much silence from the peer (§1.4); nil = never.
    public var livenessInterval: TimeSpan?
    public var retransmission: RetransmissionPolicy

    public init(virtualIP: IPv4Address, preSharedKeys: [IdentificationPayload: [UInt8]] = [:], defaultPSK: [UInt8]?,
                cookieSecret: CookieJar.Secret) {
        self.virtualIP = virtualIP
        self.identity = nil
        self.preSharedKeys = preSharedKeys
        self.defaultPSK = defaultPSK
        self.ike = .gatewayIKE
        self.child = ChildSAPolicy()
        self.addressPool = nil
        self.publicPorts = [:]
        self.forceUDPEncapsulation = false
        self.cookieThreshold = 64
        self.cookieSecret = cookieSecret
        self.maximumHalfOpen = 1024
        self.maximumEstablished = 4096
        self.halfOpenTimeout = .seconds(30)
        self.livenessInterval = nil
        self.retransmission = .strongSwan
    }

    /// The endpoint a client addressed to reach us at `local` (what NAT detection hashes).
    func publicEndpoint(for local: IKEEndpoint) -> IKEEndpoint {
        IKEEndpoint(virtualIP, publicPorts[local.port] ?? local.port)
    }

    var ourIdentity: IdentificationPayload { identity ?? .ipv4(virtualIP.value.bigEndianBytes) }

    func psk(for peer: IdentificationPayload) -> [UInt8]? {
        var key = peer
        key.reserved = [0, 0, 0]
        return preSharedKeys[key] ?? defaultPSK
    }
}
