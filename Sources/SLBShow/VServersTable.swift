import SLBCore
import SLBWire

/// `show ip slb vservers [name NAME] [detail]`.
///
/// Summary columns measured from the header in seed 002, Example 6-14 (`show ip slb
/// vservers`): slb vserver at 0, prot at 17, virtual at 23, state at 48, conns at 62, under a
/// 70-dash rule. The seed's data rows sit one column left of their header from `state` on (a
/// typesetting slip); rows here align under the header. `virtual` holds
/// `255.255.255.255/32:65535`; names are cut to 16 characters.
public enum VServersTable {
    static let layout = TableLayout(columns: [
        .init("slb vserver", 17, .truncate),
        .init("prot", 6),
        .init("virtual", 25),
        .init("state", 14),
        .init("conns", 0),
    ], ruleLength: 70)

    public static func summary(_ vservers: [VServerSnapshot]) -> String {
        layout.render(vservers.map { vserver in
            [vserver.name,
             vserver.ipProtocol.description,
             virtualName(vserver.address, vserver.mask, vserver.port),
             vserver.state.rawValue,
             String(vserver.connections)]
        })
    }

    /// The IOS detail block (spec §3.3) without its TCP-only fields (delay, synguard, syns,
    /// advertise, standby group). `backup` and `packets` are VPNSLB additions.
    public static func detail(_ vservers: [VServerSnapshot]) -> String {
        var text = ""
        for vserver in vservers {
            text += "\(vserver.name), state = \(vserver.state.rawValue), v_index = \(vserver.index)\n"
            text += "  virtual = \(virtualName(vserver.address, vserver.mask, vserver.port)), \(vserver.ipProtocol), service = NONE\n"
            text += "  server farm = \(vserver.farm ?? "none"), backup = \(vserver.backupFarm ?? "none"), idle = \(vserver.idle)\n"
            text += "  sticky timer = \(vserver.stickySeconds), sticky subnet = \(vserver.stickyNetmask)\n"
            text += "  sticky group id = \(vserver.stickyGroup)\n"
            text += "  conns = \(vserver.connections), total conns = \(vserver.totalConnections), packets = \(vserver.packets)\n"
        }
        return text
    }
}
