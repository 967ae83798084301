import SLBCore
import SLBWire

/// One `show ip slb ...` command, parsed: which table, its filter, `detail`, and whether the
/// answer is JSON instead of the IOS text table. Codable so a client can send it over the
/// control socket as data rather than re-parsing words on the server side.
public struct ShowRequest: Hashable, Sendable, Codable {
    public enum Table: Hashable, Sendable, Codable {
        /// `conns [vserver NAME | client IP]`
        case conns(ConnectionsFilter)
        /// `reals [sfarm NAME]` (also `realserver`)
        case reals(farm: String?)
        /// `reals vserver NAME`, the IOS 12.2 form (spec §3.2): the reals of the vserver's
        /// serverfarm and backup serverfarm.
        case realsOfVserver(name: String)
        /// `vservers [name NAME]`
        case vservers(name: String?)
        /// `serverfarms [name NAME]`
        case serverfarms(name: String?)
        /// `sticky [client IP]`
        case sticky(client: IPv4Address?)
        /// `probe [name NAME]`
        case probe(name: String?)
        /// `stats`
        case stats
    }

    public enum ConnectionsFilter: Hashable, Sendable, Codable {
        case all
        case vserver(String)
        case client(IPv4Address)
    }

    public var table: Table
    public var detail: Bool
    public var json: Bool

    public init(table: Table, detail: Bool = false, json: Bool = false) {
        self.table = table
        self.detail = detail
        self.json = json
    }

    /// What the engine must copy into the snapshot for this request (connection and sticky
    /// rows are the large part; `show reals` should not copy them).
    public var connectionFilter: ConnectionFilter {
        switch table {
        case .conns(.all): .all
        case .conns(.vserver(let name)): .vserver(name)
        case .conns(.client(let address)): .client(address)
        case .sticky(nil): .all
        case .sticky(.some(let address)): .client(address)
        case .reals, .realsOfVserver, .vservers, .serverfarms, .probe, .stats: .none
        }
    }

    /// The canonical IOS spelling, e.g. `show ip slb conns vserver IPSEC-ESP detail`.
    public var command: String {
        var words = ["show", "ip", "slb"]
        switch table {
        case .conns(.all): words.append("conns")
        case .conns(.vserver(let name)): words += ["conns", "vserver", name]
        case .conns(.client(let address)): words += ["conns", "client", address.description]
        case .reals(let farm): words.append("reals"); if let farm { words += ["sfarm", farm] }
        case .realsOfVserver(let name): words += ["reals", "vserver", name]
        case .vservers(let name): words.append("vservers"); if let name { words += ["name", name] }
        case .serverfarms(let name): words.append("serverfarms"); if let name { words += ["name", name] }
        case .sticky(let client): words.append("sticky"); if let client { words += ["client", client.description] }
        case .probe(let name): words.append("probe"); if let name { words += ["name", name] }
        case .stats: words.append("stats")
        }
        if detail { words.append("detail") }
        if json { words.append("--json") }
        return words.joined(separator: " ")
    }
}
