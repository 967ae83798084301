import SLBCore
import SLBWire

/// `show ip slb conns [vserver NAME | client IP] [detail]`.
///
/// Summary columns measured from seed 002, Example 6-14 (`show ip slb conn`): vserver at 0,
/// prot at 16, client at 21, real at 43, state at 60, nat at 70, under a 79-dash rule. The
/// `real` column shows the real's address only (a translated port appears in the detail form),
/// so every value but the vserver name fits its column; names are cut to 15 characters.
public enum ConnectionsTable {
    static let layout = TableLayout(columns: [
        .init("vserver", 16, .truncate),
        .init("prot", 5),
        .init("client", 22),
        .init("real", 17),
        .init("state", 10),
        .init("nat", 0),
    ], ruleLength: 79)

    public static func summary(_ connections: [ConnectionSnapshot]) -> String {
        layout.render(connections.map { connection in
            [connection.vserver,
             connection.ipProtocol.description,
             endpoint(connection.client, connection.clientPort),
             connection.real.description,
             connection.state.rawValue,
             connection.nat.rawValue]
        })
    }

    /// The IOS detail block per connection (spec §3.1). `client_syns` is always 0 here: UDP
    /// and ESP have no SYNs. `flows attached` is left out (no such concept without TCP/FTP
    /// fixups). The last line is a VPNSLB addition: packets, age and time since the last packet.
    public static func detail(_ connections: [ConnectionSnapshot], taken: MonotonicTime) -> String {
        var text = ""
        for connection in connections {
            text += "\(connection.vserver), client = \(endpoint(connection.client, connection.clientPort))\n"
            text += "  state = \(connection.state.rawValue), real = \(realName(connection.real, connection.realPort)), nat = \(connection.nat.rawValue)\n"
            text += "  v_ip = \(endpoint(connection.vip, connection.vipPort)), \(connection.ipProtocol), service = NONE\n"
            text += "  client_syns = 0, sticky = \(iosBool(connection.sticky))\n"
            text += "  packets = \(connection.packets), age = \(taken - connection.created), idle = \(taken - connection.lastSeen)\n"
        }
        return text
    }
}
