import SLBWire

extension Engine {
    /// Idle connections (vserver `idle`) and expired sticky objects go. Call about once a second.
    ///
    /// Each vserver's connections sit in last-seen order and its idle time is fixed, so this
    /// stops at the first live connection of each vserver; sticky objects likewise wait on
    /// per-domain FIFOs. Nothing here raises an event today (idle expiry is routine), so the
    /// result is empty; it is an array so the contract can grow without breaking callers.
    public func expire(now: MonotonicTime) -> [EngineEvent] {
        let clock = now.nanoseconds
        // Index loops: see `decide` (no iterator frames in debug builds).
        var v = 0
        while v < vservers.count {
            defer { v += 1 }
            let idle = vservers[v].idle
            while true {
                let head = connections.idleHead[v]
                guard head != noIndex else { break }
                let lastSeen = connections.slots[Int(head)].lastSeen
                // Idle is measured from the last packet: gone once `idle` seconds have passed.
                guard clock >= lastSeen, clock - lastSeen >= idle else { break }
                destroyConnection(head, now: now, purged: false)
            }
        }
        var domain = 0
        while domain < stickyDomains.count {
            defer { domain += 1 }
            while true {
                let index = sticky.expired(domain: domain, now: clock)
                guard index != noIndex else { break }
                sticky.remove(index)
                counters.stickyDestroyed &+= 1
            }
        }
        return []
    }

    /// Removes one connection: the real and vserver counts fall with it (a MAXCONNS real may
    /// become OPERATIONAL again) and its sticky object loses a reference, starting the
    /// sticky timer when it was the last one.
    func destroyConnection(_ index: Int32, now: MonotonicTime, purged: Bool) {
        let entry = connections.remove(index)
        counters.connectionsDestroyed &+= 1
        if purged { counters.connectionsPurged &+= 1 }
        if entry.sticky != noIndex {
            let domain = sticky.slots[Int(entry.sticky)].domain
            let timeout = stickyDomains.indices.contains(domain) ? stickyDomains[domain].timeout : 0
            sticky.release(entry.sticky, expiresAt: now.nanoseconds &+ timeout)
        }
    }

    /// `clear ip slb connections [vserver NAME | serverfarm NAME]`; returns how many went,
    /// or nil when no vserver or serverfarm has that name (so the CLI can say so instead of
    /// answering a typo with a silent success). Counted as destroyed and purged. Sticky
    /// objects stay and start their timers (IOS keeps them, spec §7 item 9), so a cleared
    /// client returns to the same real.
    public func clearConnections(_ scope: ClearScope, now: MonotonicTime) -> Int? {
        switch scope {
        case .all:
            return vservers.indices.reduce(0) { $0 + clearVServer($1, now: now) }
        case .vserver(let name):
            guard let v = vservers.firstIndex(where: { $0.name == name }) else { return nil }
            return clearVServer(v, now: now)
        case .serverfarm(let name):
            guard let f = farms.firstIndex(where: { $0.name == name }) else { return nil }
            return farms[f].reals.reduce(0) { $0 + purgeConnections(ofReal: $1, now: now) }
        }
    }

    private func clearVServer(_ v: Int, now: MonotonicTime) -> Int {
        var removed = 0
        while connections.idleHead[v] != noIndex {
            destroyConnection(connections.idleHead[v], now: now, purged: true)
            removed += 1
        }
        return removed
    }

    /// Walks only the real's own list: purge costs O(its connections), not O(table).
    func purgeConnections(ofReal real: Int, now: MonotonicTime) -> Int {
        var removed = 0
        while connections.realHead[real] != noIndex {
            destroyConnection(connections.realHead[real], now: now, purged: true)
            removed += 1
        }
        return removed
    }

    /// `clear ip slb counters`: statistics restart; live state (connections, sticky
    /// objects, real states, probe outage history) is untouched.
    public func clearCounters() {
        counters = EngineCounters()
        for r in reals.indices {
            reals[r].totalConnections = 0
            reals[r].packets = 0
            reals[r].serverFailures = 0
        }
        for v in vservers.indices {
            vservers[v].totalConnections = 0
            vservers[v].packets = 0
        }
    }
}
