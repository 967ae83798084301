import SLBConfig
import SLBWire

extension Engine {
    /// Copies state for `show`. `connections` selects which connection and sticky rows to copy.
    ///
    /// Reals come in engine order, farms and vservers in configuration order, connections
    /// and sticky objects in table-slot order; with `.vserver` the sticky rows are the
    /// objects that vserver's connections reference.
    public func snapshot(now: MonotonicTime, connections filter: ConnectionFilter) -> SLBSnapshot {
        var snapshot = SLBSnapshot(taken: now, stats: counters.snapshot)
        snapshot.reals = reals.indices.map(realSnapshot)
        snapshot.farms = farms.indices.map(farmSnapshot)
        snapshot.vservers = vservers.indices.map(vserverSnapshot)
        snapshot.probes = probeSnapshots(now: now)

        var stickyRows: [Int32] = []
        switch filter {
        case .none:
            break
        case .all:
            snapshot.connections = connectionRows { _ in true }
            stickyRows = sticky.slots.indices.filter { sticky.slots[$0].isInUse }.map { Int32($0) }
        case .vserver(let name):
            if let v = vservers.firstIndex(where: { $0.name == name }) {
                var referenced = Set<Int32>()
                snapshot.connections = connectionRows { entry in
                    guard entry.key.vserver == v else { return false }
                    if entry.sticky != noIndex, referenced.insert(entry.sticky).inserted {
                        stickyRows.append(entry.sticky)
                    }
                    return true
                }
                stickyRows.sort()
            }
        case .client(let client):
            snapshot.connections = connectionRows { $0.key.client == client.value }
            stickyRows = sticky.slots.indices.filter {
                let slot = sticky.slots[$0]
                return slot.isInUse && client.value & slot.mask == slot.client
            }.map { Int32($0) }
        }
        snapshot.sticky = stickyRows.map { stickySnapshot(Int($0), now: now) }
        return snapshot
    }

    private func realSnapshot(_ r: Int) -> RealSnapshot {
        let real = reals[r]
        let farm = farms[real.farm]
        let count = connections.realCount[r]
        return RealSnapshot(
            id: RealID(Int32(truncatingIfNeeded: r)), address: real.address, port: real.port, farm: farm.name,
            weight: real.weight, adminWeight: real.weight, state: real.state(connections: count),
            connections: Int(count), maxConns: real.maxConns, totalConnections: real.totalConnections,
            retry: real.retry, remainder: farm.cursor == r && farm.predictor == .roundRobin ? farm.credit : 0,
            serverFailures: real.serverFailures, packets: real.packets,
            slowStart: inSlowStart(r) ? true : nil)
    }

    private func farmSnapshot(_ f: Int) -> FarmSnapshot {
        let farm = farms[f]
        return FarmSnapshot(name: farm.name, predictor: farm.predictor, nat: farm.nat,
                            failactionPurge: farm.failactionPurge, probes: farm.probeNames,
                            realCount: farm.reals.count,
                            operationalReals: farm.reals.filter(acceptsNew).count)
    }

    private func vserverSnapshot(_ v: Int) -> VServerSnapshot {
        let vserver = vservers[v]
        let config = configuration.vservers[v]
        let state: VServerState
        if !vserver.inService {
            state = .outOfService
        } else if !farmCanPlace(vserver.farm), !farmCanPlace(vserver.backupFarm) {
            state = .inopReal
        } else {
            state = .operational
        }
        return VServerSnapshot(
            name: vserver.name, index: v + 1, address: config.address, mask: config.mask,
            ipProtocol: config.service.ipProtocol, port: config.service.displayPort, state: state,
            farm: config.farm, backupFarm: config.backupFarm, idle: config.idle,
            stickySeconds: config.sticky?.seconds ?? 0, stickyGroup: config.sticky?.group ?? 0,
            stickyNetmask: config.sticky?.netmask ?? .host, connections: Int(connections.vserverCount[v]),
            totalConnections: vserver.totalConnections, packets: vserver.packets)
    }

    private func farmCanPlace(_ farm: Int?) -> Bool {
        guard let farm, farms.indices.contains(farm) else { return false }
        return farms[farm].reals.contains(where: acceptsNew)
    }

    private func connectionRows(where include: (ConnectionEntry) -> Bool) -> [ConnectionSnapshot] {
        var rows: [ConnectionSnapshot] = []
        for slot in connections.slots where slot.isInUse && include(slot) {
            let v = slot.key.vserver
            let real = reals[Int(slot.real)]
            let nat = farms[real.farm].nat
            rows.append(ConnectionSnapshot(
                vserver: vservers[v].name, ipProtocol: IPProtocol(rawValue: slot.key.ipProtocol),
                client: IPv4Address(slot.key.client), clientPort: slot.key.clientPort,
                vip: IPv4Address(slot.key.vip), vipPort: slot.key.vipPort, real: real.address,
                realPort: nat == .server ? real.port : nil,
                state: slot.isEstablished ? .established : .initial, nat: nat, sticky: slot.isSticky,
                created: MonotonicTime(nanoseconds: slot.created),
                lastSeen: MonotonicTime(nanoseconds: slot.lastSeen), packets: slot.packets))
        }
        return rows
    }

    private func stickySnapshot(_ index: Int, now: MonotonicTime) -> StickySnapshot {
        let slot = sticky.slots[index]
        let real = reals[Int(slot.real)]
        let expiresIn: TimeSpan? = slot.references > 0
            ? nil : MonotonicTime(nanoseconds: slot.expiresAt) - now
        return StickySnapshot(
            client: IPv4Address(slot.client), netmask: IPv4Mask(slot.mask) ?? .host,
            group: stickyDomains[slot.domain].displayGroup, real: real.address, farm: farms[real.farm].name,
            connections: Int(slot.references), expiresIn: expiresIn)
    }

    private func probeSnapshots(now: MonotonicTime) -> [ProbeSnapshot] {
        var rows: [ProbeSnapshot] = []
        for (r, real) in reals.enumerated() {
            for i in real.probeStart..<(real.probeStart + real.probeCount) {
                let instance = probeStates[i]
                let probe = configuration.probes[instance.probe]
                let current: TimeSpan? = instance.failing ? now - instance.outageStart : nil
                let state: ProbeSnapshot.State = instance.failing
                    ? .failed : (instance.seenResult ? .operational : .testing)
                rows.append(ProbeSnapshot(
                    probe: probe.name, kind: probe.kind, real: real.address,
                    port: probe.kind == .ike ? Engine.ikeProbePort : 0, farm: farms[reals[r].farm].name,
                    state: state, interval: probe.interval, faildetect: probe.faildetect,
                    consecutiveMisses: instance.misses, outages: instance.outages,
                    currentOutage: current, cumulativeOutage: instance.cumulativeOutage + (current ?? .zero),
                    lastRTT: instance.lastRTT))
            }
        }
        return rows
    }

    /// An IKE probe is an IKE_SA_INIT to the real's ISAKMP port (RFC 7296 §2 / RFC 2408).
    public static let ikeProbePort: UInt16 = 500
}
