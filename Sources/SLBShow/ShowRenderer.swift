import SLBCore
import SLBWire

/// Answers a `ShowRequest` from a snapshot: selects the rows the filter names (the snapshot
/// may hold more), then prints the IOS table or the JSON document. Rows keep snapshot order.
public enum ShowRenderer {
    /// A name filter that names nothing is an error (`ShowLookupError`), not an empty table:
    /// an empty table would read as "exists, has no rows", and a typo would go unnoticed.
    public static func render(_ request: ShowRequest, _ snapshot: SLBSnapshot) throws -> String {
        try ShowLookupError.check(request, snapshot)
        let document = select(request, from: snapshot)
        if request.json { return try ShowJSON.encode(document) }
        // IOS starts every `show ip slb` answer with a blank line (seed 002 prints one between
        // each of its three commands and the header, while its `show crypto isakmp sa` has
        // none, so it is output, not typesetting).
        return "\n" + text(request, document)
    }

    /// The rows `request` shows, as a JSON document.
    public static func select(_ request: ShowRequest, from snapshot: SLBSnapshot) -> ShowDocument {
        var document = ShowDocument(taken: snapshot.taken)
        switch request.table {
        case .conns(.all):
            document.connections = snapshot.connections
        case .conns(.vserver(let name)):
            document.connections = snapshot.connections.filter { $0.vserver == name }
        case .conns(.client(let address)):
            document.connections = snapshot.connections.filter { $0.client == address }
        case .reals(let farm):
            document.reals = snapshot.reals.filter { farm == nil || $0.farm == farm }
        case .realsOfVserver(let name):
            let farms = Set(snapshot.vservers.filter { $0.name == name }.flatMap { [$0.farm, $0.backupFarm].compactMap { $0 } })
            document.reals = snapshot.reals.filter { farms.contains($0.farm) }
        case .vservers(let name):
            document.vservers = snapshot.vservers.filter { name == nil || $0.name == name }
        case .serverfarms(let name):
            let farms = snapshot.farms.filter { name == nil || $0.name == name }
            let names = Set(farms.map(\.name))
            document.farms = farms
            document.reals = snapshot.reals.filter { names.contains($0.farm) }
        case .sticky(let client):
            document.sticky = snapshot.sticky.filter { object in
                guard let client else { return true }
                return client.masked(by: object.netmask) == object.client
            }
        case .probe(let name):
            document.probes = snapshot.probes.filter { name == nil || $0.probe == name }
        case .stats:
            document.stats = snapshot.stats
        }
        return document
    }

    static func text(_ request: ShowRequest, _ document: ShowDocument) -> String {
        let detail = request.detail
        switch request.table {
        case .conns:
            let rows = document.connections ?? []
            return detail ? ConnectionsTable.detail(rows, taken: document.taken) : ConnectionsTable.summary(rows)
        case .reals, .realsOfVserver:
            let rows = document.reals ?? []
            return detail ? RealsTable.detail(rows) : RealsTable.summary(rows)
        case .vservers:
            let rows = document.vservers ?? []
            return detail ? VServersTable.detail(rows) : VServersTable.summary(rows)
        case .serverfarms:
            let rows = document.farms ?? []
            return detail ? ServerFarmsTable.detail(rows, reals: document.reals ?? []) : ServerFarmsTable.summary(rows)
        case .sticky:
            let rows = document.sticky ?? []
            return detail ? StickyTable.detail(rows) : StickyTable.summary(rows)
        case .probe:
            let rows = document.probes ?? []
            return detail ? ProbeTable.detail(rows) : ProbeTable.summary(rows)
        case .stats:
            return StatsTable.render(document.stats ?? StatsSnapshot())
        }
    }
}
