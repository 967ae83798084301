import SLBConfig
import SLBWire

/// What a reconfiguration did, for the reload log line and `slb reload`'s answer.
public struct ReconfigureReport: Hashable, Sendable {
    /// Connections and sticky objects carried into the new configuration, and those dropped.
    public var restore = StateImportReport()
    /// Reals removed from the configuration that still had connections, kept out of
    /// service so those connections drain (their farm has no `failaction purge`).
    public var draining: [RealIdentity] = []
    /// Connections removed at once: those of removed reals whose farm purges (or is gone),
    /// and those of reals still failing their probes in a farm that now purges (each such
    /// real also raises an `slb.purge` event).
    public var purgedConnections = 0
    /// True when RealIDs changed meaning: the dataplane must rebuild its forwarding table.
    public var realsRenumbered = false
    /// How the tables reached the new configuration.
    public var tables: TableCarry = .reimported
    /// False when the change left every table key valid (same reals, vservers, sticky
    /// domains and caps, in the same order): the tables were kept as they are, O(objects).
    /// True when their entries were rewritten, O(tables): `tables` says how.
    public var tablesRebuilt: Bool { tables != .kept }

    public init() {}
}

/// What a reconfiguration did to the connection and sticky tables.
public enum TableCarry: String, Hashable, Sendable {
    /// Nothing they are keyed or ordered by changed: moved over untouched, O(objects).
    case kept
    /// Only RealIDs changed meaning (reals added, removed or reordered; vservers, sticky
    /// domains and caps as before): each entry's real rewritten in place, entries of removed
    /// reals purged, in one pass over each table's slots; no rehash, no allocation per entry.
    case remapped
    /// Anything else: exported by identity and imported into new tables.
    case reimported
}

extension Engine {
    /// Applies a new (validated) configuration to the running engine, keeping what still
    /// applies (IOS applies configuration changes to a live SLB without dropping flows):
    ///
    /// - connections and sticky objects of vservers, farms and reals that still exist keep
    ///   their real (by identity: RealIDs may be renumbered, see `realsRenumbered`);
    /// - a removed real with connections is drained when its farm has no `failaction purge`
    ///   (kept as an OUTOFSERVICE real until a later reconfiguration finds it idle: existing
    ///   flows stay, no new ones, as `no inservice` does), and purged otherwise;
    /// - weights, maxconns, predictors, idle and sticky timers take effect at once;
    /// - a real failing its probes in a farm with `failaction purge` keeps no connection
    ///   (the purge was skipped if the farm did not purge then, spec §2.7);
    /// - counters, per-real/vserver totals and probe outage history carry over by identity.
    ///
    /// O(objects) when the tables are kept, O(tables) otherwise; the runtime calls it on the
    /// forwarding thread between batches, so forwarding waits for it.
    public func reconfigure(to newConfiguration: SLBConfiguration, now: MonotonicTime) -> ReconfigureReport {
        reconfigure(to: newConfiguration, now: now, remapInPlace: true)
    }

    /// `remapInPlace: false` takes the export/import path where a remap would do: the tests
    /// compare the two, and the bench measures both.
    func reconfigure(to newConfiguration: SLBConfiguration, now: MonotonicTime,
                     remapInPlace: Bool) -> ReconfigureReport {
        var report = ReconfigureReport()
        let oldIdentities = realIdentities

        var effective = newConfiguration
        var configured = Set<RealIdentity>()
        for farm in newConfiguration.farms {
            for real in farm.reals { configured.insert(RealIdentity(farm: farm.name, address: real.address, port: real.port)) }
        }
        for (r, identity) in oldIdentities.enumerated() where connections.realCount[r] > 0 && !configured.contains(identity) {
            if let f = effective.farms.firstIndex(where: { $0.name == identity.farm }), !effective.farms[f].failactionPurge {
                let old = reals[r]
                effective.farms[f].reals.append(RealServer(address: identity.address, port: identity.port, weight: old.weight,
                                                           maxConns: old.maxConns, retry: old.retry, inService: false))
                report.draining.append(identity)
            } else {
                report.purgedConnections += Int(connections.realCount[r])
            }
        }

        let fresh = Engine(configuration: effective)
        if report.draining.isEmpty, report.purgedConnections == 0, tablesCompatible(with: fresh) {
            // Weights, maxconns, admin states, predictors, probes, idle: nothing the tables
            // are keyed or ordered by changed, so they move over untouched.
            fresh.connections = connections
            fresh.sticky = sticky
            report.tables = .kept
            report.restore.connectionsRestored = connections.count
            report.restore.stickyRestored = sticky.count
            // The rotation continues where it was unless the farm's weights changed; then it
            // restarts at the first real with the new blocks, as after a rebuild.
            for f in fresh.farms.indices where farms.indices.contains(f) && farms[f].reals == fresh.farms[f].reals
                && farms[f].reals.allSatisfy({ reals[$0].weight == fresh.reals[$0].weight }) {
                fresh.farms[f].cursor = farms[f].cursor
                fresh.farms[f].credit = farms[f].credit
            }
            fresh.carryHistory(from: self, oldIdentities: oldIdentities)
            adopt(fresh)
            report.purgedConnections += purgeFailedReals(now: now)
            return report
        }
        if remapInPlace, keysCompatible(with: fresh) {
            // Reals added, removed or reordered, nothing else the tables depend on: the same
            // outcome as export + import (IOS keeps each flow on its real; entries of a real
            // that is gone go, counted as purged), without rebuilding 200k entries.
            report.restore = remapTables(to: fresh, oldIdentities: oldIdentities, now: now)
            report.tables = .remapped
            fresh.connections = connections
            fresh.sticky = sticky
            fresh.carryHistory(from: self, oldIdentities: oldIdentities)
            report.realsRenumbered = fresh.realIdentities != oldIdentities
            adopt(fresh)
            report.purgedConnections += purgeFailedReals(now: now)
            return report
        }
        do {
            report.restore = try fresh.importState(exportState(now: now), now: now)
        } catch {
            // A fresh engine has empty tables; nothing to restore into otherwise.
        }
        fresh.carryHistory(from: self, oldIdentities: oldIdentities)
        fresh.counters.connectionsDestroyed &+= UInt64(report.restore.totalConnectionsDropped)
        fresh.counters.connectionsPurged &+= UInt64(report.restore.totalConnectionsDropped)
        fresh.counters.stickyDestroyed &+= UInt64(report.restore.totalStickyDropped)
        report.realsRenumbered = fresh.realIdentities != oldIdentities
        adopt(fresh)
        report.purgedConnections += purgeFailedReals(now: now)
        return report
    }

    /// Whether `other`'s configuration keys and orders the tables exactly as this one's does:
    /// the same reals (identity and RealID), vservers (index, VIP, service), sticky domains
    /// (group, timer, netmask per vserver) and table caps. Idle times may differ: each
    /// vserver's list is ordered by last packet, not by deadline.
    private func tablesCompatible(with other: Engine) -> Bool {
        realIdentities == other.realIdentities && keysCompatible(with: other)
    }

    /// Whether `other` keys and orders the tables as this engine does apart from the reals:
    /// then a RealID map is all that a move of the tables needs.
    private func keysCompatible(with other: Engine) -> Bool {
        guard configuration.vservers.map(VServerIdentity.init) == other.configuration.vservers.map(VServerIdentity.init),
              configuration.entries == other.configuration.entries,
              stickyDomains.count == other.stickyDomains.count,
              vservers.count == other.vservers.count else { return false }
        for d in stickyDomains.indices where stickyDomains[d] != other.stickyDomains[d] { return false }
        for v in vservers.indices {
            guard vservers[v].stickyDomain == other.vservers[v].stickyDomain,
                  vservers[v].stickyMask == other.vservers[v].stickyMask else { return false }
        }
        return true
    }

    /// Counters, totals and probe history follow the objects they describe.
    private func carryHistory(from old: Engine, oldIdentities: [RealIdentity]) {
        counters = old.counters
        var oldReal: [RealIdentity: Int] = [:]
        for (index, identity) in oldIdentities.enumerated() { oldReal[identity] = index }
        for (r, identity) in realIdentities.enumerated() {
            guard let o = oldReal[identity] else { continue }
            reals[r].totalConnections = old.reals[o].totalConnections
            reals[r].packets = old.reals[o].packets
            reals[r].serverFailures = old.reals[o].serverFailures
            var failing = 0
            for i in reals[r].probeStart..<(reals[r].probeStart + reals[r].probeCount) {
                let name = configuration.probes[probeStates[i].probe].name
                let previous = old.reals[o].probeStart..<(old.reals[o].probeStart + old.reals[o].probeCount)
                guard let match = previous.first(where: { old.configuration.probes[old.probeStates[$0].probe].name == name })
                else { continue }
                let probe = probeStates[i].probe
                probeStates[i] = ProbeInstance(carrying: old.probeStates[match], probe: probe)
                if probeStates[i].failing { failing += 1 }
            }
            reals[r].failingProbes = failing
            // Slow start follows the real; a real that could not take new connections
            // before the change and can now starts one (IOS: "placed in service").
            reals[r].slowStart = old.reals[o].slowStart && farms[reals[r].farm].predictor == .leastConns
            if reals[r].placeable, !old.reals[o].placeable { beginSlowStart(r) }
        }
        // Reals new to the configuration are placed in service too, unless the farm is
        // new (then all its reals start together, empty, as at start-up).
        for (r, identity) in realIdentities.enumerated() where oldReal[identity] == nil && reals[r].placeable {
            let farmName = farms[reals[r].farm].name
            if old.farms.contains(where: { $0.name == farmName }) { beginSlowStart(r) }
        }
        for (v, vserver) in vservers.enumerated() {
            guard let o = old.vservers.firstIndex(where: { $0.name == vserver.name }) else { continue }
            vservers[v].totalConnections = old.vservers[o].totalConnections
            vservers[v].packets = old.vservers[o].packets
        }
    }

    /// Takes over another engine's whole state (same type, built for the new configuration).
    private func adopt(_ other: Engine) {
        configuration = other.configuration
        reals = other.reals
        farms = other.farms
        vservers = other.vservers
        matchers = other.matchers
        stickyDomains = other.stickyDomains
        probeStates = other.probeStates
        connections = other.connections
        sticky = other.sticky
        counters = other.counters
        pendingEvents += other.pendingEvents
        targets = other.targets
        tableGeneration += 1
    }
}

extension ProbeInstance {
    /// The same history under the probe's index in a new configuration.
    init(carrying other: ProbeInstance, probe: Int) {
        self.init(probe: probe)
        misses = other.misses
        failing = other.failing
        seenResult = other.seenResult
        outages = other.outages
        outageStart = other.outageStart
        cumulativeOutage = other.cumulativeOutage
        lastRTT = other.lastRTT
    }
}
