/// `show crypto ipsec sa` in the layout of the seed's Example 6-2 (IOS 12.x): one block per
/// Child SA with the idents, the packet counters, the endpoints and the inbound and outbound
/// ESP SAs. The gateway has no interfaces or crypto maps, so the block names the pseudo
/// interface "gateway" and the map "slb"; AH and PCP sections are always empty (ESP only).
/// One extra counter line (inner echo replies / other inner packets) follows the error line.
public enum IPsecSATable {
    public static func render(_ snapshot: GatewaySnapshot) -> String {
        var out = ""
        var flow = 0
        for sa in snapshot.ipsecSAs.sorted(by: { ($0.tunnelID, $0.inboundSPI) < ($1.tunnelID, $1.inboundSPI) }) {
            out += "\ninterface: gateway\n"
            out += "    Crypto map tag: slb, local addr. \(sa.localAddress)\n\n"
            out += "   local  ident (addr/mask/prot/port): \(ident(sa.localSelector))\n"
            out += "   remote ident (addr/mask/prot/port): \(ident(sa.remoteSelector))\n"
            out += "   current_peer: \(sa.remoteAddress)"
            if let port = sa.remoteUDPPort { out += " port \(port)" }
            out += "\n"
            out += "     PERMIT, flags={}\n"
            out += "    #pkts encaps: \(sa.packetsEncrypted), #pkts encrypt: \(sa.packetsEncrypted), #pkts digest \(sa.packetsEncrypted)\n"
            out += "    #pkts decaps: \(sa.packetsDecrypted), #pkts decrypt: \(sa.packetsDecrypted), #pkts verify \(sa.packetsDecrypted)\n"
            out += "    #pkts compressed: 0, #pkts decompressed: 0\n"
            out += "    #pkts not compressed: 0, #pkts compr. failed: 0, #pkts decompress failed: 0\n"
            out += "    #send errors \(sa.sendErrors), #recv errors \(sa.receiveErrors)\n"
            out += "    #inner echo replies \(sa.echoRepliesSent), #inner other \(sa.innerOtherPackets)\n\n"
            out += "     local crypto endpt.: \(sa.localAddress), remote crypto endpt.: \(sa.remoteAddress)\n"
            out += "     path mtu 1500, media mtu 1500\n"
            out += "     current outbound spi: \(hex(sa.outboundSPI))\n\n"
            flow += 1
            out += "     inbound esp sas:\n"
            out += saLines(spi: sa.inboundSPI, sa: sa, flow: flow)
            out += "\n     inbound ah sas:\n\n     inbound pcp sas:\n"
            flow += 1
            out += "     outbound esp sas:\n"
            out += saLines(spi: sa.outboundSPI, sa: sa, flow: flow)
            out += "\n     outbound ah sas:\n\n     outbound pcp sas:\n"
        }
        return out
    }

    private static func saLines(spi: UInt32, sa: IPsecSARow, flow: Int) -> String {
        let settings = sa.remoteUDPPort == nil ? "{Tunnel, }" : "{Tunnel UDP-Encaps, }"
        let kb = sa.remainingKilobytes.map(String.init) ?? "unlimited"
        let sec = sa.remainingSeconds.map(String.init) ?? "unlimited"
        return "      spi: 0x\(hex(spi))(\(spi))\n"
            + "        transform: \(sa.transform) ,\n"
            + "        in use settings =\(settings)\n"
            + "        conn id: \(sa.tunnelID), flow_id: \(flow), crypto map: slb\n"
            + "        sa timing: remaining key lifetime (k/sec): (\(kb)/\(sec))\n"
            + "        IV size: \(sa.ivSize) bytes\n"
            + "        replay detection support: Y\n"
    }

    /// IOS prints SPIs in upper-case hex without leading zeros.
    public static func hex(_ v: UInt32) -> String { String(v, radix: 16, uppercase: true) }

    static func ident(_ s: SelectorRow) -> String { "(\(s.address)/\(s.mask)/\(s.ipProtocol)/\(s.port))" }
}
