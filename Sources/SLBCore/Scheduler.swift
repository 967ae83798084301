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
    private func pickLeastConnections(_ f: Int) -> Int? {
        let range = farms[f].reals
        var totalWeight: Int64 = 0
        var totalConnections: Int64 = 0
        for real in range where acceptsNew(real) {
            totalWeight += Int64(reals[real].weight)
            totalConnections += Int64(connections.realCount[real])
        }
        guard totalWeight > 0 else { return nil }
        var best: Int?
        var bestDeficit = Int64.min
        for real in range where acceptsNew(real) {
            let deficit = Int64(reals[real].weight) * totalConnections
                - Int64(connections.realCount[real]) * totalWeight
            if deficit > bestDeficit {
                best = real
                bestDeficit = deficit
            }
        }
        return best
    }
}
