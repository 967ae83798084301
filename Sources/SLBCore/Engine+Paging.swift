import SLBConfig
import SLBWire

/// Where an incremental walk of the connection or sticky table stands: the next slot to
/// look at. Slots are walked in ascending order, so a walk never visits a slot twice; an
/// entry inserted or removed between two pages may or may not be seen (as with any live
/// table listing), but nothing traps and no row repeats.
public struct TableCursor: Hashable, Sendable, Codable {
    public var slot: Int
    public init(slot: Int) { self.slot = slot }
    public static let start = TableCursor(slot: 0)
}

/// One page of a walk: the rows found and where to continue; `next` is nil at the end.
public struct TablePage<Row: Sendable>: Sendable {
    public var rows: [Row]
    public var next: TableCursor?
}

extension Engine {
    /// Up to `limit` slots' worth of connection rows from `cursor` on, for `show ip slb
    /// conns` of large tables: the runtime takes one page per loop iteration so forwarding
    /// never waits for a million-row copy. `limit` bounds the slots examined (not only the
    /// rows returned), so a filtered walk is bounded per page too.
    public func connectionRows(after cursor: TableCursor, limit: Int,
                               filter: ConnectionFilter = .all) -> TablePage<ConnectionSnapshot> {
        let slots = connections.slots
        let start = max(0, cursor.slot)
        let end = min(slots.count, start + max(1, limit))
        var rows: [ConnectionSnapshot] = []
        var vserverIndex: Int?
        if case .vserver(let name) = filter {
            vserverIndex = vservers.firstIndex { $0.name == name }
            if vserverIndex == nil { return TablePage(rows: [], next: nil) }
        }
        var index = start
        while index < end {
            defer { index += 1 }
            let slot = slots[index]
            guard slot.isInUse else { continue }
            switch filter {
            case .none: return TablePage(rows: [], next: nil)
            case .all: break
            case .vserver: guard slot.key.vserver == vserverIndex else { continue }
            case .client(let client): guard slot.key.client == client.value else { continue }
            }
            if let row = connectionSnapshot(slot) { rows.append(row) }
        }
        return TablePage(rows: rows, next: end < slots.count ? TableCursor(slot: end) : nil)
    }

    /// Sticky rows by slot, like `connectionRows`; `client` keeps the objects covering it.
    public func stickyRows(after cursor: TableCursor, limit: Int, client: IPv4Address? = nil,
                           now: MonotonicTime) -> TablePage<StickySnapshot> {
        let slots = sticky.slots
        let start = max(0, cursor.slot)
        let end = min(slots.count, start + max(1, limit))
        var rows: [StickySnapshot] = []
        var index = start
        while index < end {
            defer { index += 1 }
            let slot = slots[index]
            guard slot.isInUse else { continue }
            if let client, client.value & slot.mask != slot.client { continue }
            if let row = stickyRow(slot, now: now) { rows.append(row) }
        }
        return TablePage(rows: rows, next: end < slots.count ? TableCursor(slot: end) : nil)
    }

    /// Total slots of each table (live or free): the length of a full walk.
    public var tableSlots: (connections: Int, sticky: Int) { (connections.slots.count, sticky.slots.count) }

    private func connectionSnapshot(_ slot: ConnectionEntry) -> ConnectionSnapshot? {
        let v = slot.key.vserver
        let r = Int(slot.real)
        guard vservers.indices.contains(v), reals.indices.contains(r), farms.indices.contains(reals[r].farm) else {
            return nil
        }
        let real = reals[r]
        let nat = farms[real.farm].nat
        return ConnectionSnapshot(
            vserver: vservers[v].name, ipProtocol: IPProtocol(rawValue: slot.key.ipProtocol),
            client: IPv4Address(slot.key.client), clientPort: slot.key.clientPort,
            vip: IPv4Address(slot.key.vip), vipPort: slot.key.vipPort, real: real.address,
            realPort: nat == .server ? real.port : nil,
            state: slot.isEstablished ? .established : .initial, nat: nat, sticky: slot.isSticky,
            created: MonotonicTime(nanoseconds: slot.created),
            lastSeen: MonotonicTime(nanoseconds: slot.lastSeen), packets: slot.packets)
    }

    private func stickyRow(_ slot: StickyEntry, now: MonotonicTime) -> StickySnapshot? {
        let r = Int(slot.real)
        guard reals.indices.contains(r), farms.indices.contains(reals[r].farm),
              stickyDomains.indices.contains(slot.domain) else { return nil }
        let real = reals[r]
        let expiresIn: TimeSpan? = slot.references > 0 ? nil : MonotonicTime(nanoseconds: slot.expiresAt) - now
        return StickySnapshot(
            client: IPv4Address(slot.client), netmask: IPv4Mask(slot.mask) ?? .host,
            group: stickyDomains[slot.domain].displayGroup, real: real.address, farm: farms[real.farm].name,
            connections: Int(slot.references), expiresIn: expiresIn)
    }
}
