import SLBConfig

// The two IOS predictors (spec §2.1, §2.2). Both look only at reals that may take a new
// connection (OPERATIONAL, weight > 0); sticky hits never come through here.
extension Engine {
    /// A real of `farm` for a new connection, or nil when none can take one.
    func pick(farm: Int?) -> Int? {
        guard let farm, farms.indices.contains(farm) else { return nil }
        switch farms[farm].predictor {
        case .roundRobin: return pickRoundRobin(farm)
        case .leastConns: return pickLeastConnections(farm)
        }
    }

    func acceptsNew(_ real: Int) -> Bool {
        reals[real].acceptsNew(connections: connections.realCount[real])
    }

    /// IOS weighted round robin: a real gets `weight` consecutive picks, then the cursor
    /// moves on in configuration order (3,1,2 → A A A B C C). Ineligible reals are stepped
    /// over without touching their credit; a real that became ineligible mid-block forfeits
    /// the rest of it.
    private func pickRoundRobin(_ f: Int) -> Int? {
        let range = farms[f].reals
        let count = range.count
        guard count > 0 else { return nil }
        let cursor = farms[f].cursor
        if farms[f].credit > 0, acceptsNew(cursor) {
            farms[f].credit -= 1
            return cursor
        }
        for step in 1...count {
            let real = range.lowerBound + (cursor - range.lowerBound + step) % count
            if acceptsNew(real) {
                farms[f].cursor = real
                farms[f].credit = Int(reals[real].weight) - 1
                return real
            }
        }
        return nil
    }

    /// IOS weighted least connections: the real farthest below its weighted share,
    /// argmax w_i·(C/W) − c_i, computed as w_i·C − c_i·W in integers; ties go to the
    /// earlier real in configuration order. (Not LVS's argmin c_i/w_i: weights 10,1,1 with
    /// connections 1,0,5 pick the first real here, the second there.)
    ///
    /// Slow start (spec §2.2 [D:SXF-17]): a real just placed in service has no connections,
    /// so the deficit rule alone would hand it every new client until it catches up — after
    /// a gateway's recovery, a burst of IKE_SA_INITs. IOS documents the intent, not the ramp;
    /// this follows the spec's first suggested model: while a real is in slow start it takes
    /// at most one pick per round, a round being as many picks as the farm has eligible
    /// reals (so never more than a round robin would give it), and the other picks go by the
    /// deficit rule among the rest. Slow start ends at the first pick that finds its deficit
    /// ≤ 0 (caught up with its weighted share). Count-based, so it needs no timer and no
    /// setting; if every eligible real is held back the best one is picked anyway (slow
    /// start never refuses a connection).
    private func pickLeastConnections(_ f: Int) -> Int? {
        let range = farms[f].reals
        var totalWeight: Int64 = 0
        var totalConnections: Int64 = 0
        var eligible: UInt64 = 0
        var real = range.lowerBound
        // Index loops: no iterator frames in debug builds (see `decide`).
        while real < range.upperBound {
            if acceptsNew(real) {
                totalWeight += Int64(reals[real].weight)
                totalConnections += Int64(connections.realCount[real])
                eligible += 1
            }
            real += 1
        }
        guard totalWeight > 0 else { return nil }
        let round = farms[f].leastConnsPicks
        var best = -1
        var bestDeficit = Int64.min
        var bestFree = -1
        var bestFreeDeficit = Int64.min
        real = range.lowerBound
        while real < range.upperBound {
            defer { real += 1 }
            guard acceptsNew(real) else { continue }
            let deficit = Int64(reals[real].weight) * totalConnections
                - Int64(connections.realCount[real]) * totalWeight
            if reals[real].slowStart, deficit <= 0 { reals[real].slowStart = false }
            if deficit > bestDeficit {
                best = real
                bestDeficit = deficit
            }
            let heldBack = reals[real].slowStart && round < reals[real].slowStartNextPick
            if !heldBack, deficit > bestFreeDeficit {
                bestFree = real
                bestFreeDeficit = deficit
            }
        }
        let chosen = bestFree >= 0 ? bestFree : best
        guard chosen >= 0 else { return nil }
        farms[f].leastConnsPicks = round &+ 1
        if reals[chosen].slowStart { reals[chosen].slowStartNextPick = round &+ eligible }
        return chosen
    }

    /// Whether `show` should call the real slow-starting: flagged, eligible, under least
    /// connections, and still below its weighted share (the flag itself clears at the next
    /// pick that finds it caught up, which may not have happened yet).
    func inSlowStart(_ r: Int) -> Bool {
        guard reals.indices.contains(r), reals[r].slowStart, acceptsNew(r) else { return false }
        let f = reals[r].farm
        guard farms.indices.contains(f), farms[f].predictor == .leastConns else { return false }
        var totalWeight: Int64 = 0
        var totalConnections: Int64 = 0
        for real in farms[f].reals where acceptsNew(real) {
            totalWeight += Int64(reals[real].weight)
            totalConnections += Int64(connections.realCount[real])
        }
        return Int64(reals[r].weight) * totalConnections - Int64(connections.realCount[r]) * totalWeight > 0
    }

    /// A real that may now take new connections after it could not (probe recovery, put
    /// `inservice`, added, weight raised from 0) starts slowly under least connections.
    func beginSlowStart(_ real: Int) {
        guard reals.indices.contains(real), farms.indices.contains(reals[real].farm),
              farms[reals[real].farm].predictor == .leastConns else { return }
        reals[real].slowStart = true
        reals[real].slowStartNextPick = 0
    }
}
