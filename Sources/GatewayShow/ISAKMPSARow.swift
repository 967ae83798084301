/// One IKEv1 ISAKMP SA of the gateway: the columns of `show crypto isakmp sa` (IOS 12.x,
/// seed 002 Example 6-2: dst = the peer, src = the gateway) plus what `--json` adds. The
/// text table is rendered by the IKE target's `ISAKMPSATable` (see Gateway's
/// `GatewayShowText`), so both IKEv1 views print the same layout.
public struct ISAKMPSARow: Hashable, Sendable, Codable {
    public var destination: String
    public var source: String
    /// MM_NO_STATE, MM_SA_SETUP, MM_KEY_EXCH, QM_IDLE.
    public var state: String
    public var connectionID: Int
    public var slot: Int
    public var remotePort: UInt16
    public var localPort: UInt16
    /// CKY-I / CKY-R, 16 hex digits.
    public var initiatorCookie: String
    public var responderCookie: String
    /// "aes256/sha256/group14/86400s"; nil before MM2.
    public var suite: String?
    public var peerIdentity: String?
    public var natDetected: Bool
    public var peerSupportsDPD: Bool
    public var ipsecSACount: Int

    public init(destination: String, source: String, state: String, connectionID: Int, slot: Int, remotePort: UInt16,
                localPort: UInt16, initiatorCookie: String, responderCookie: String, suite: String?, peerIdentity: String?,
                natDetected: Bool, peerSupportsDPD: Bool, ipsecSACount: Int) {
        self.destination = destination
        self.source = source
        self.state = state
        self.connectionID = connectionID
        self.slot = slot
        self.remotePort = remotePort
        self.localPort = localPort
        self.initiatorCookie = initiatorCookie
        self.responderCookie = responderCookie
        self.suite = suite
        self.peerIdentity = peerIdentity
        self.natDetected = natDetected
        self.peerSupportsDPD = peerSupportsDPD
        self.ipsecSACount = ipsecSACount
    }
}
