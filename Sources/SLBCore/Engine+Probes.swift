import SLBConfig
import SLBWire

extension Engine {
    /// A probe's verdict for one real. `faildetect` consecutive misses (of that probe) ->
    /// PROBE_FAILED (+ purge when the farm has `failaction purge`), one success -> back.
    ///
    /// Misses are counted per (real, probe); the real is up when none of its probes is
    /// failing. Reals out of service keep their probe history but raise no events: their
    /// state stays OUTOFSERVICE whatever the probes say.
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
        guard reals[r].failingProbes == 1, reals[r].inService else { return [] }

        reals[r].serverFailures &+= 1
        events.append(.realDown(real: real, address: reals[r].address, farm: farm.name,
                                reason: "probe \(probe) missed \(probeStates[i].misses) consecutive replies",
                                at: now))
        if farm.failactionPurge {
            // Purge at once: the next packet of each flow finds no entry and is balanced
            // again; its sticky object rebinds on that first use (spec §2.7).
            let purged = purgeConnections(ofReal: r, now: now)
            events.append(.purge(real: real, address: reals[r].address, farm: farm.name,
                                 connections: purged, at: now))
        }
        return events
    }

    /// The farm has a real again: its vservers' next "no real" is a new transition.
    private func rearmNoReal(farm: Int) {
        for v in vservers.indices where vservers[v].farm == farm || vservers[v].backupFarm == farm {
            vservers[v].noRealRaised = false
        }
    }
}
