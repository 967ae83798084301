import SLBConfig
import SLBWire

// Export and import of the connection and sticky tables, by identity rather than by engine
// index: a restart (state file) or a reload (new configuration, RealIDs re-numbered) puts
// every client back on the real it was on, as long as that real still exists.

/// A real as the configuration names it: IOS identifies a real by its farm and `real IP [PORT]`.
public struct RealIdentity: Hashable, Sendable, Codable, CustomStringConvertible {
    public var farm: String
    public var address: IPv4Address
    public var port: UInt16?

    public init(farm: String, address: IPv4Address, port: UInt16?) {
        self.farm = farm
        self.address = address
        self.port = port
    }

    public var description: String { "\(farm)/\(address)" + (port.map { ":\($0)" } ?? "") }
}

/// A vserver as far as its connections care: same name, same VIP, mask and service.
public struct VServerIdentity: Hashable, Sendable, Codable {
    public var name: String
    public var address: IPv4Address
    public var mask: IPv4Mask
    public var service: VirtualService

    public init(name: String, address: IPv4Address, mask: IPv4Mask, service: VirtualService) {
        self.name = name
        self.address = address
        self.mask = mask
        self.service = service
    }

    public init(_ vserver: VirtualServer) {
        self.init(name: vserver.name, address: vserver.address, mask: vserver.mask, service: vserver.service)
    }
}

/// Which sticky domain an object lives in: a configured group is shared by its vservers; a
/// group-0 vserver has a private one.
public enum StickyDomainIdentity: Hashable, Sendable, Codable {
    case group(UInt8)
    case vserver(String)
}

public struct StickyRecord: Hashable, Sendable, Codable {
    public var domain: StickyDomainIdentity
    /// Client address already ANDed with `netmask`.
    public var client: IPv4Address
    public var netmask: IPv4Mask
    /// Index into `EngineState.reals`.
    public var real: Int
    /// Time left on the sticky timer; nil while connections reference the object.
    public var expiresIn: TimeSpan?

    public init(domain: StickyDomainIdentity, client: IPv4Address, netmask: IPv4Mask, real: Int, expiresIn: TimeSpan?) {
        self.domain = domain
        self.client = client
        self.netmask = netmask
        self.real = real
        self.expiresIn = expiresIn
    }
}

public struct ConnectionRecord: Hashable, Sendable, Codable {
    /// Index into `EngineState.vservers`.
    public var vserver: Int
    public var ipProtocol: IPProtocol
    public var client: IPv4Address
    public var clientPort: UInt16
    public var vip: IPv4Address
    public var vipPort: UInt16
    /// Index into `EngineState.reals`.
    public var real: Int
    /// Index into `EngineState.sticky`, nil when the connection has no sticky object.
    public var sticky: Int?
    public var established: Bool
    public var viaSticky: Bool
    /// Times relative to the export, so a state file survives a reboot (monotonic clocks restart).
    public var age: TimeSpan
    public var idle: TimeSpan
    public var packets: UInt64

    public init(vserver: Int, ipProtocol: IPProtocol, client: IPv4Address, clientPort: UInt16, vip: IPv4Address,
                vipPort: UInt16, real: Int, sticky: Int?, established: Bool, viaSticky: Bool, age: TimeSpan,
                idle: TimeSpan, packets: UInt64) {
        self.vserver = vserver
        self.ipProtocol = ipProtocol
        self.client = client
        self.clientPort = clientPort
        self.vip = vip
        self.vipPort = vipPort
        self.real = real
        self.sticky = sticky
        self.established = established
        self.viaSticky = viaSticky
        self.age = age
        self.idle = idle
        self.packets = packets
    }
}

/// The two tables at one instant, self-describing: reals and vservers by identity.
public struct EngineState: Hashable, Sendable, Codable {
    public var reals: [RealIdentity]
    public var vservers: [VServerIdentity]
    public var sticky: [StickyRecord]
    public var connections: [ConnectionRecord]

    public init(reals: [RealIdentity] = [], vservers: [VServerIdentity] = [], sticky: [StickyRecord] = [],
                connections: [ConnectionRecord] = []) {
        self.reals = reals
        self.vservers = vservers
        self.sticky = sticky
        self.connections = connections
    }
}

/// What an import kept and why it dropped the rest (each drop is counted, never silent).
public struct StateImportReport: Hashable, Sendable {
    public enum DropReason: String, Hashable, Sendable, CaseIterable {
        /// The vserver is gone or its VIP/service changed.
        case vserverMismatch = "vserver-mismatch"
        /// The real (farm, address, port) is not in the configuration.
        case realMismatch = "real-mismatch"
        /// The sticky group or netmask changed.
        case stickyDomainMismatch = "sticky-domain-mismatch"
        case tableFull = "table-full"
        /// A record pointing outside the state, or a key seen twice.
        case invalidRecord = "invalid-record"
    }
    public var connectionsRestored = 0
    public var stickyRestored = 0
    public var connectionsDropped: [DropReason: Int] = [:]
    public var stickyDropped: [DropReason: Int] = [:]

    public init() {}

    public var totalConnectionsDropped: Int { connectionsDropped.values.reduce(0, +) }
    public var totalStickyDropped: Int { stickyDropped.values.reduce(0, +) }
}

/// A paged export (`Engine.beginStateExport`, `continueStateExport`).
public struct StateExport: Sendable {
    public internal(set) var state: EngineState
    /// Sticky slot → (record index, key at copy time).
    var stickyRecord: [Int32: (index: Int, key: UInt64)] = [:]
    var stickyCursor: TableCursor? = .start
    var connectionCursor: TableCursor? = .start
    let generation: Int

    init(state: EngineState, generation: Int) {
        self.state = state
        self.generation = generation
    }

    public var isComplete: Bool { stickyCursor == nil && connectionCursor == nil }
}

public enum StateImportError: Error, Hashable, Sendable {
    /// Imports rebuild the tables' lists in time order, which needs empty tables.
    case tablesNotEmpty
}

extension Engine {
    /// The identity of each real, in engine order.
    public var realIdentities: [RealIdentity] {
        reals.map { RealIdentity(farm: farms[$0.farm].name, address: $0.address, port: $0.port) }
    }

    /// Copies both tables at once (O(table)): for reload and for the last save at SIGTERM,
    /// when forwarding is stopped. The periodic save uses `continueStateExport` in pages.
    public func exportState(now: MonotonicTime) -> EngineState {
        var export = beginStateExport()
        continueStateExport(&export, limit: Int.max, now: now)
        return export.state
    }

    /// An export in progress: identities first, then sticky slots, then connection slots,
    /// a page per call, so a periodic save of a large table never stalls forwarding.
    public func beginStateExport() -> StateExport {
        StateExport(state: EngineState(reals: realIdentities, vservers: configuration.vservers.map(VServerIdentity.init)),
                    generation: tableGeneration)
    }

    /// Copies up to `limit` more slots into `export`. A connection whose sticky object was
    /// not copied (created after the sticky pass, or its slot reused since) is saved without
    /// its binding rather than with a wrong one: the key is checked, not just the slot.
    public func continueStateExport(_ export: inout StateExport, limit: Int, now: MonotonicTime) {
        // A reconfiguration rebuilt the tables (and maybe renumbered the reals): start over.
        if export.generation != tableGeneration { export = beginStateExport() }
        var budget = max(1, limit)
        if let at = export.stickyCursor {
            let slots = sticky.slots
            var index = max(0, at.slot)
            let end = index + min(budget, slots.count - index)
            while index < end {
                defer { index += 1 }
                let slot = slots[index]
                guard slot.isInUse, let identity = domainIdentity(slot.domain) else { continue }
                let expiresIn: TimeSpan? = slot.references > 0 ? nil : MonotonicTime(nanoseconds: slot.expiresAt) - now
                export.stickyRecord[Int32(index)] = (export.state.sticky.count, slot.key)
                export.state.sticky.append(StickyRecord(domain: identity, client: IPv4Address(slot.client),
                                                        netmask: IPv4Mask(slot.mask) ?? .host, real: Int(slot.real),
                                                        expiresIn: expiresIn))
            }
            budget -= max(0, end - at.slot)
            export.stickyCursor = end < slots.count ? TableCursor(slot: end) : nil
            if export.stickyCursor != nil || budget <= 0 { return }
        }
        guard let at = export.connectionCursor else { return }
        let slots = connections.slots
        var index = max(0, at.slot)
        let end = index + min(budget, slots.count - index)
        while index < end {
            defer { index += 1 }
            let slot = slots[index]
            guard slot.isInUse else { continue }
            var stickyRecord: Int?
            if slot.sticky != noIndex, let (record, key) = export.stickyRecord[slot.sticky],
               sticky.slots.indices.contains(Int(slot.sticky)), sticky.slots[Int(slot.sticky)].key == key {
                stickyRecord = record
            }
            export.state.connections.append(ConnectionRecord(
                vserver: slot.key.vserver, ipProtocol: IPProtocol(rawValue: slot.key.ipProtocol),
                client: IPv4Address(slot.key.client), clientPort: slot.key.clientPort,
                vip: IPv4Address(slot.key.vip), vipPort: slot.key.vipPort, real: Int(slot.real),
                sticky: stickyRecord, established: slot.isEstablished, viaSticky: slot.isSticky,
                age: now - MonotonicTime(nanoseconds: slot.created),
                idle: now - MonotonicTime(nanoseconds: slot.lastSeen), packets: slot.packets))
        }
        export.connectionCursor = end < slots.count ? TableCursor(slot: end) : nil
    }

    /// Restores exported tables into this engine's (empty) tables. Every record is checked
    /// against this engine's configuration: the vserver must exist with the same VIP and
    /// service, the real (farm, address, port) must exist, a sticky object's group and
    /// netmask must still be what its vservers use. Mismatches are dropped and counted, so
    /// a client whose real is gone is simply balanced afresh on its next packet.
    public func importState(_ state: EngineState, now: MonotonicTime) throws(StateImportError) -> StateImportReport {
        guard connections.count == 0, sticky.count == 0 else { throw .tablesNotEmpty }
        var report = StateImportReport()
        var realIndex: [RealIdentity: Int32] = [:]
        for (index, identity) in realIdentities.enumerated() where realIndex[identity] == nil {
            realIndex[identity] = Int32(index)
        }
        var vserverIndex: [VServerIdentity: Int] = [:]
        for (index, vserver) in configuration.vservers.enumerated() where index <= Int(UInt16.max) {
            vserverIndex[VServerIdentity(vserver)] = index
        }
        var domainIndex: [StickyDomainIdentity: Int] = [:]
        var domainMasks: [Int: Set<UInt32>] = [:]
        for runtime in vservers {
            guard let domain = runtime.stickyDomain, let identity = domainIdentity(domain) else { continue }
            domainIndex[identity] = domain
            domainMasks[domain, default: []].insert(runtime.stickyMask)
        }

        // Sticky objects first, so connections can reference them.
        var stickySlot = [Int32](repeating: noIndex, count: state.sticky.count)
        for (index, record) in state.sticky.enumerated() {
            guard state.reals.indices.contains(record.real) else {
                report.stickyDropped[.invalidRecord, default: 0] += 1
                continue
            }
            guard let real = realIndex[state.reals[record.real]] else {
                report.stickyDropped[.realMismatch, default: 0] += 1
                continue
            }
            guard let domain = domainIndex[record.domain], domainMasks[domain]?.contains(record.netmask.value) == true,
                  record.client.value & record.netmask.value == record.client.value else {
                report.stickyDropped[.stickyDomainMismatch, default: 0] += 1
                continue
            }
            guard sticky.find(domain: domain, client: record.client.value) == noIndex else {
                report.stickyDropped[.invalidRecord, default: 0] += 1
                continue
            }
            guard !sticky.isFull else {
                report.stickyDropped[.tableFull, default: 0] += 1
                continue
            }
            stickySlot[index] = sticky.insert(domain: domain, client: record.client.value,
                                              mask: record.netmask.value, real: real)
            report.stickyRestored += 1
        }

        // Oldest last-seen first: each vserver's idle list must stay in last-seen order.
        let order = state.connections.indices.sorted { state.connections[$0].idle > state.connections[$1].idle }
        for index in order {
            let record = state.connections[index]
            guard state.vservers.indices.contains(record.vserver), state.reals.indices.contains(record.real) else {
                report.connectionsDropped[.invalidRecord, default: 0] += 1
                continue
            }
            guard let v = vserverIndex[state.vservers[record.vserver]] else {
                report.connectionsDropped[.vserverMismatch, default: 0] += 1
                continue
            }
            guard let real = realIndex[state.reals[record.real]] else {
                report.connectionsDropped[.realMismatch, default: 0] += 1
                continue
            }
            let isESP = record.ipProtocol == .esp
            let key = ConnectionKey(vserver: v, ipProtocol: record.ipProtocol.rawValue, client: record.client.value,
                                    clientPort: isESP ? 0 : record.clientPort, vip: record.vip.value,
                                    vipPort: isESP ? 0 : record.vipPort)
            let runtime = vservers[v]
            guard record.vip.value & runtime.mask == runtime.address else {
                report.connectionsDropped[.vserverMismatch, default: 0] += 1
                continue
            }
            guard connections.find(key) == noIndex else {
                report.connectionsDropped[.invalidRecord, default: 0] += 1
                continue
            }
            guard !connections.isFull else {
                report.connectionsDropped[.tableFull, default: 0] += 1
                continue
            }
            var stickyIndex = noIndex
            if let s = record.sticky, stickySlot.indices.contains(s), stickySlot[s] != noIndex,
               sticky.slots[Int(stickySlot[s])].domain == runtime.stickyDomain {
                stickyIndex = stickySlot[s]
                sticky.retain(stickyIndex)
            }
            let lastSeen = now.nanoseconds >= record.idle.nanoseconds ? now.nanoseconds - record.idle.nanoseconds : 0
            let slot = connections.insert(key, real: real, sticky: stickyIndex,
                                          viaSticky: record.viaSticky && stickyIndex != noIndex, now: lastSeen)
            let i = Int(slot)
            connections.slots[i].created = now.nanoseconds >= record.age.nanoseconds ? now.nanoseconds - record.age.nanoseconds : 0
            connections.slots[i].packets = record.packets
            if record.established { connections.slots[i].flags |= ConnectionEntry.established }
            report.connectionsRestored += 1
        }

        // Objects no connection references wait on their domain's timer, soonest first.
        var parked: [(slot: Int32, expiresAt: UInt64)] = []
        for (index, slot) in stickySlot.enumerated() where slot != noIndex && sticky.slots[Int(slot)].references == 0 {
            let domain = sticky.slots[Int(slot)].domain
            let timeout = stickyDomains[domain].timeout
            let left = min(state.sticky[index].expiresIn?.nanoseconds ?? timeout, timeout)
            parked.append((slot, now.nanoseconds &+ left))
        }
        parked.sort { $0.expiresAt < $1.expiresAt }
        for entry in parked { sticky.park(entry.slot, expiresAt: entry.expiresAt) }
        return report
    }

    private func domainIdentity(_ domain: Int) -> StickyDomainIdentity? {
        guard stickyDomains.indices.contains(domain) else { return nil }
        let group = stickyDomains[domain].displayGroup
        if group >= 1, group <= 255 { return .group(UInt8(group)) }
        let v = group - Engine.privateStickyGroupBase
        guard vservers.indices.contains(v) else { return nil }
        return .vserver(vservers[v].name)
    }
}
