import SLBConfig
import SLBWire

extension Engine {
    /// A probe's verdict for one real. `faildetect` consecutive misses (of that probe) ->
    /// PROBE_FAILED (+ purge when the farm has `failaction purge`), one success -> back.
    ///
    /// Misses are counted per (real, probe); the real is up when none of its probes is
    /// failing. Reals out of service keep their probe history and raise no up/down events:
    /// their state stays OUTOFSERVICE whatever the probes say. Their connections are still
    /// purged when they fail in a `failaction purge` farm.
    public func probeResult(real: RealID, probe: String, success: Bool, rtt: TimeSpan?,
                            now: MonotonicTime) -> [EngineEvent] {
        let r = Int(real.index)
        guard reals.indices.contains(r) else { return [] }
        var i = reals[r].probeStart
        let end = i + reals[r].probeCount
        while i < end, configuration.probes[probeStates[i].probe].name != probe { i += 1 }
        guard i < end else { return [] }
        let definition = configuration.probes[probeStates[i].probe]
        let farm = farms[reals[r].farm]
        probeStates[i].seenResult = true
        var events: [EngineEvent] = []

        if success {
            probeStates[i].misses = 0
            probeStates[i].lastRTT = rtt
            guard probeStates[i].failing else { return [] }
            probeStates[i].failing = false
            probeStates[i].cumulativeOutage = probeStates[i].cumulativeOutage + (now - probeStates[i].outageStart)
            reals[r].failingProbes -= 1
            if reals[r].failingProbes == 0, reals[r].inService {
                events.append(.realUp(real: real, address: reals[r].address, farm: farm.name, at: now))
                beginSlowStart(r)
                rearmNoReal(farm: reals[r].farm)
            }
            return events
        }

        probeStates[i].misses += 1
        let faildetect = max(1, Int(definition.faildetect))
        guard !probeStates[i].failing, probeStates[i].misses >= faildetect else { return [] }
        probeStates[i].failing = true
        probeStates[i].outages += 1
        probeStates[i].outageStart = now
        reals[r].failingProbes += 1
        guard reals[r].failingProbes == 1 else { return [] }

        if reals[r].inService {
            reals[r].serverFailures &+= 1
            events.append(.realDown(real: real, address: reals[r].address, farm: farm.name,
                                    reason: "probe \(probe) missed \(probeStates[i].misses) consecutive replies",
                                    at: now))
        }
        // Purge at once, whatever the admin state: `no inservice` drains a real gracefully,
        // but once it stops answering its remaining flows are black holes (IKE keeps its
        // source port, ESP has none), which is what `failaction purge` exists to end
        // (spec §2.7, §0 item 4). The next packet of each flow finds no entry and is
        // balanced again; its sticky object rebinds on that first use. A real out of
        // service keeps showing OUTOFSERVICE (spec §2.6: admin state wins) and raises no
        // down event; its purge is logged when it removed something.
        guard farm.failactionPurge else { return events }
        let purged = purgeConnections(ofReal: r, now: now)
        if reals[r].inService || purged > 0 {
            events.append(.purge(real: real, address: reals[r].address, farm: farm.name,
                                 connections: purged, at: now))
        }
        return events
    }

    /// A failed real keeps no connection in a farm with `failaction purge`. A probe failure
    /// purges at once (`probeResult`); this catches the states a reconfiguration creates: a
    /// real already PROBE_FAILED when `failaction purge` is added, or put back `inservice`
    /// still failed, or restored with connections it had before the change. Raised as
    /// `slb.purge` events (drained by `takeEvents`) like a probe-triggered purge.
    func purgeFailedReals(now: MonotonicTime) -> Int {
        var total = 0
        for r in reals.indices where reals[r].failingProbes > 0 && connections.realCount[r] > 0 {
            let farm = farms[reals[r].farm]
            guard farm.failactionPurge else { continue }
            let purged = purgeConnections(ofReal: r, now: now)
            total += purged
            pendingEvents.append(.purge(real: RealID(Int32(truncatingIfNeeded: r)), address: reals[r].address,
                                        farm: farm.name, connections: purged, at: now))
        }
        return total
    }

    /// The farm has a real again: its vservers' next "no real" is a new transition.
    private func rearmNoReal(farm: Int) {
        for v in vservers.indices where vservers[v].farm == farm || vservers[v].backupFarm == farm {
            vservers[v].noRealRaised = false
        }
    }
}
