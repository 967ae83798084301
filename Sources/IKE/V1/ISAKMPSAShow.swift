import SLBWire

/// One row of `show crypto isakmp sa` (IOS 12.x layout, seed 002 Example 6-2).
public struct ISAKMPSASnapshot: Hashable, Sendable, Codable {
    /// IOS prints the remote peer as `dst` and the local address as `src` on the gateway
    /// (Example 6-2: dst 9.1.1.130 = the spoke, src 9.1.1.26 = the gateway itself).
    public var destination: IPv4Address
    public var source: IPv4Address
    /// MM_NO_STATE, MM_SA_SETUP, MM_KEY_EXCH, QM_IDLE.
    public var state: String
    public var connectionID: Int
    /// Crypto engine slot; 0 = software.
    public var slot: Int

    public init(destination: IPv4Address, source: IPv4Address, state: String, connectionID: Int, slot: Int = 0) {
        self.destination = destination
        self.source = source
        self.state = state
        self.connectionID = connectionID
        self.slot = slot
    }

    public init(info: ISAKMPSAInfo) {
        self.init(destination: info.peer.address, source: info.local.address, state: info.state.rawValue,
                  connectionID: info.connectionID)
    }
}

/// Renders `show crypto isakmp sa`: columns of 16, 16 and 17 characters, then conn-id and
/// slot right-aligned under their headings, exactly as the seed prints them.
public enum ISAKMPSATable {
    public static func render(_ rows: [ISAKMPSASnapshot]) -> String {
        func left(_ s: String, _ w: Int) -> String { s.count >= w ? s + " " : s + String(repeating: " ", count: w - s.count) }
        func right(_ s: String, _ w: Int) -> String { s.count >= w ? " " + s : String(repeating: " ", count: w - s.count) + s }
        var out = "dst             src             state            conn-id     slot\n"
        for r in rows {
            out += left("\(r.destination)", 16) + left("\(r.source)", 16) + left(r.state, 17)
                + right("\(r.connectionID)", 7) + right("\(r.slot)", 9) + "\n"
        }
        return out
    }
}
