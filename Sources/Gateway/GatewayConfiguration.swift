import ESP
import IKE
import SLBWire

/// Everything `slb gateway` was told on its command line, parsed.
public struct GatewayConfiguration: Sendable {
    /// The address clients dial (on the gateway's loopback behind the SLB). IKE and ESP
    /// leave from it; NAT-D and IDr are computed over it even for traffic that reached a
    /// `listen` address (directed mode: the SLB translated VIP → real).
    public var virtualIP: IPv4Address
    /// Further local addresses to serve on (the real's own address for `nat server` farms).
    public var listenAddresses: [IPv4Address]
    /// Inside/service address answering ICMP echo through the tunnel (lab plan: 203.0.113.1).
    public var insideAddress: IPv4Address
    public var addressPool: IPv4Network?
    /// Fake a NAT so every peer encapsulates ESP in UDP/4500 (spec ike.md §0.1).
    public var forceUDPEncapsulation: Bool
    public var preSharedKeys: PSKTable
    /// Hard limits of every ESP SA. Peers rekey before these (strongSwan: 54–60 min by
    /// default), so the default is strongSwan's life_time (1.1 h) and IOS's 4 608 000 KB.
    public var espLifetime: ESPLifetime
    public var cookieSecret: CookieJar.Secret
    /// Dead peer detection (RFC 7296 §1.4): after this much IKE silence the gateway sends an
    /// empty INFORMATIONAL; an unanswered one (after the retransmissions) deletes the SA.
    /// nil = never (IOS and strongSwan responders default to no DPD; clients usually run it).
    public var livenessInterval: TimeSpan?
    /// IKE SA lifetime (IOS `crypto ikev2 profile` `lifetime`, default 86 400 s): an IKE SA
    /// the peer has not rekeyed (or re-authenticated) within it is deleted with an
    /// INFORMATIONAL D(IKE), so a client that vanished without DPD does not hold a slot
    /// forever and a client that never rekeys is told to start over. nil = no limit.
    public var ikeLifetime: TimeSpan?
    /// IKEv1 (`crypto isakmp policy`, transform sets): see GatewayConfiguration+IKEv1.swift.
    public var ikev1: IKEv1GatewayOptions

    public static let defaultESPLifetime = ESPLifetime(hardBytes: 4_608_000 * 1024, hardTime: .seconds(3960))
    public static let defaultIKELifetime = TimeSpan.seconds(86_400)
    public static let defaultInsideAddress = IPv4Address(203, 0, 113, 1)

    public init(virtualIP: IPv4Address, preSharedKeys: PSKTable, cookieSecret: CookieJar.Secret) {
        self.virtualIP = virtualIP
        self.listenAddresses = []
        self.insideAddress = Self.defaultInsideAddress
        self.addressPool = nil
        self.forceUDPEncapsulation = false
        self.preSharedKeys = preSharedKeys
        self.espLifetime = Self.defaultESPLifetime
        self.cookieSecret = cookieSecret
        self.livenessInterval = nil
        self.ikeLifetime = Self.defaultIKELifetime
        self.ikev1 = IKEv1GatewayOptions()
    }

    /// IKEv2 Child SAs' ESP lifetime: `espLifetime`, with soft limits (unless set) at 15/16
    /// of the hard ones, where the gateway starts its own rekey. With the default 3960 s that
    /// is 3712.5 s: after strongSwan's default rekey (54–60 min), so a peer rekeying on its own
    /// schedule never collides with us (§2.8.1), and 248 s before the hard limit.
    public var ikev2ChildLifetime: ESPLifetime {
        var l = espLifetime
        if l.softTime == nil, let hard = l.hardTime { l.softTime = TimeSpan(nanoseconds: hard.nanoseconds - hard.nanoseconds / 16) }
        if l.softBytes == nil, let hard = l.hardBytes { l.softBytes = hard - hard / 16 }
        return l
    }

    /// Every address the gateway binds its sockets to (the VIP first).
    public var boundAddresses: [IPv4Address] {
        var out = [virtualIP]
        for a in listenAddresses where !out.contains(a) { out.append(a) }
        return out
    }

    /// Inner destinations that get an ICMP echo reply: the inside address and the
    /// gateway's own addresses (a client may ping the tunnel end it reached).
    public var echoAddresses: Set<IPv4Address> { Set([insideAddress] + boundAddresses) }

    var responderConfiguration: IKEv2ResponderConfiguration {
        var c = IKEv2ResponderConfiguration(virtualIP: virtualIP, preSharedKeys: preSharedKeys.byIdentity,
                                            defaultPSK: preSharedKeys.defaultKey, cookieSecret: cookieSecret)
        c.addressPool = addressPool
        c.forceUDPEncapsulation = forceUDPEncapsulation
        c.livenessInterval = livenessInterval
        return c
    }
}
