/// `show crypto ikev2 sa [detail]` in the IOS 15 layout: a fixed-width header, one row per
/// IKE SA with its algorithms and times on the indented lines below. Fields IOS prints that
/// this gateway has no notion of (fvrf/ivrf, CE id, message-ID windows) print IOS's neutral
/// values ("none/none") or are left out. "Life" is the gateway's IKE SA lifetime (the SA is
/// deleted when Active reaches it unless the peer rekeyed it first), "none" when there is none.
public enum IKEv2SATable {
    public static func render(_ snapshot: GatewaySnapshot, detail: Bool = false) -> String {
        var out = " IPv4 Crypto IKEv2  SA \n\n"
        out += "Tunnel-id Local                 Remote                fvrf/ivrf            Status \n"
        for sa in snapshot.ikeSAs.sorted(by: { $0.tunnelID < $1.tunnelID }) {
            out += pad(String(sa.tunnelID), 10)
            out += pad("\(sa.localAddress)/\(sa.localPort)", 22)
            out += pad("\(sa.remoteAddress)/\(sa.remotePort)", 22)
            out += pad("none/none", 21)
            out += "READY  \n"
            out += "      Encr: \(sa.encryption), keysize: \(sa.keySize), PRF: \(sa.prf), Hash: \(sa.hash), "
            out += "DH Grp:\(sa.dhGroup), Auth sign: PSK, Auth verify: PSK\n"
            out += "      Life/Active Time: \(sa.lifetimeSeconds.map(String.init) ?? "none")/\(sa.activeSeconds) sec\n"
            if detail {
                out += "      Status Description: Negotiation done\n"
                out += "      Local spi: \(sa.localSPI)       Remote spi: \(sa.remoteSPI)\n"
                out += "      Local id: \(sa.localID)\n"
                out += "      Remote id: \(sa.remoteID)\n"
                if let a = sa.assignedAddress {
                    out += "      Assigned host addr: \(a)\n"
                }
                out += "      Child SAs: \(sa.childSACount)\n"
                out += sa.natDetected ? "      NAT-T is detected outside\n" : "      NAT-T is not detected  \n"
                out += "      Initiator of SA : No\n"
            }
            out += "\n"
        }
        out += " IPv6 Crypto IKEv2  SA \n\n"
        return out
    }

    /// Left-justified in `width` columns; a longer value keeps one trailing space, as IOS
    /// does when an address and port overflow their column.
    static func pad(_ s: String, _ width: Int) -> String {
        s.count >= width ? s + " " : s + String(repeating: " ", count: width - s.count)
    }
}
