import SLBWire

// The reload path for a change of reals only (`TableCarry.remapped`): RealIDs change
// meaning, every key stays valid. Export + import gave each entry its real by identity in
// O(tables) with a full rebuild (2.6 s for 200,000 connections, debug build, forwarding
// paused); here the same outcome costs one pass over each table's slots.

extension Engine {
    /// Rewrites this engine's tables for `fresh`'s RealIDs, in place, and returns what an
    /// export + import into `fresh` would have reported:
    ///
    /// - connections of reals `fresh` lacks go first, as `failaction purge` removes them
    ///   (counted destroyed and purged; their sticky objects lose a reference and start their
    ///   timers); `reconfigure` has already kept a draining real in `fresh` when its farm does
    ///   not purge;
    /// - sticky objects bound to such reals go (counted destroyed), and a connection that
    ///   referenced one keeps flowing to its own real without a binding, as import drops it;
    /// - every other entry gets its new RealID; the per-real connection lists move whole
    ///   (their links are slot indices, which do not change), so no entry is rehashed or
    ///   relinked and nothing is allocated per entry.
    ///
    /// The caller has checked that vservers, sticky domains and caps are unchanged.
    func remapTables(to fresh: Engine, oldIdentities: [RealIdentity], now: MonotonicTime) -> StateImportReport {
        var report = StateImportReport()
        var newIndex: [RealIdentity: Int32] = [:]
        newIndex.reserveCapacity(fresh.reals.count)
        for (index, identity) in fresh.realIdentities.enumerated() where newIndex[identity] == nil {
            newIndex[identity] = Int32(truncatingIfNeeded: index)
        }
        var map = [Int32](repeating: noIndex, count: oldIdentities.count)
        for (old, identity) in oldIdentities.enumerated() { map[old] = newIndex[identity] ?? noIndex }

        // 1. Connections of removed reals: only those reals' own lists are walked.
        var purged = 0
        for old in map.indices where map[old] == noIndex && old < connections.realHead.count {
            purged += purgeConnections(ofReal: old, now: now)
        }

        // 2. Sticky objects: renumber, or remove those whose real is gone.
        var stickyRemoved = 0
        var s = 0
        while s < sticky.slots.count {
            defer { s += 1 }
            let real = sticky.slots[s].real
            guard real != noIndex else { continue }
            let mapped = Int(real) < map.count && real >= 0 ? map[Int(real)] : noIndex
            if mapped == noIndex {
                sticky.remove(Int32(truncatingIfNeeded: s))
                stickyRemoved += 1
            } else {
                sticky.slots[s].real = mapped
            }
        }
        counters.stickyDestroyed &+= UInt64(stickyRemoved)

        // 3. Connections: renumber; drop a reference to a sticky object removed above.
        var c = 0
        while c < connections.slots.count {
            defer { c += 1 }
            guard connections.slots[c].isInUse else { continue }
            let real = connections.slots[c].real
            connections.slots[c].real = Int(real) < map.count && real >= 0 ? map[Int(real)] : noIndex
            let held = connections.slots[c].sticky
            if held != noIndex, !(Int(held) < sticky.slots.count && sticky.slots[Int(held)].isInUse) {
                connections.slots[c].sticky = noIndex
                connections.slots[c].flags &= ~ConnectionEntry.viaSticky
            }
        }

        // 4. The per-real list heads and counts, under the new RealIDs.
        connections.renumberRealLists(map, realCount: fresh.reals.count)

        report.connectionsRestored = connections.count
        report.stickyRestored = sticky.count
        if purged > 0 { report.connectionsDropped[.realMismatch] = purged }
        if stickyRemoved > 0 { report.stickyDropped[.realMismatch] = stickyRemoved }
        return report
    }
}

extension ConnectionTable {
    /// Moves each real's list (head and count) from its old RealID to `map[old]`. Lists of
    /// unmapped reals must be empty (purged) already.
    mutating func renumberRealLists(_ map: [Int32], realCount: Int) {
        var heads = [Int32](repeating: noIndex, count: realCount)
        var counts = [Int32](repeating: 0, count: realCount)
        for old in map.indices where old < realHead.count {
            let new = Int(map[old])
            guard new >= 0, new < realCount else { continue }
            heads[new] = realHead[old]
            counts[new] = self.realCount[old]
        }
        realHead = heads
        self.realCount = counts
    }
}
