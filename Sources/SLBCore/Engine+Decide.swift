import SLBConfig
import SLBWire

extension Engine {
    /// The per-packet call. Looks up / creates the connection, applies sticky, scheduler,
    /// maxconns, client ranges, table caps; updates counters and the connection's last-seen
    /// time and state (INIT on first packet, ESTAB on the next). Allocation-free for an
    /// established flow.
    public func decide(_ flow: Flow, now: MonotonicTime) -> Verdict {
        let ipProtocol = flow.ipProtocol.rawValue
        // ESP has no ports: one connection per (client, VIP) whatever the dataplane passed.
        let isESP = ipProtocol == IPProtocol.esp.rawValue
        let clientPort = isESP ? 0 : flow.clientPort
        let vipPort = isESP ? 0 : flow.vipPort
        let vip = flow.vip.value

        var matched = -1
        var draining = -1
        var excluded = false
        // Index loop, not for-in: an unspecialised iterator allocates its coroutine frame in
        // debug builds, and the zero-allocation test runs in debug.
        var m = 0
        while m < matchers.count {
            let matcher = matchers[m]
            m += 1
            guard matcher.matches(vip: vip, ipProtocol: ipProtocol, port: vipPort) else { continue }
            if !matcher.hasClients || vservers[matcher.vserver].admits(client: flow.client) {
                // `no inservice` on a vserver stops new flows; its existing connections
                // drain (spec §2.6 "existing conns keep flowing"), so remember the first
                // out-of-service match and keep looking for one that takes new flows.
                if !matcher.inService {
                    if draining < 0 { draining = matcher.vserver }
                    continue
                }
                matched = matcher.vserver
                break
            }
            excluded = true
        }
        if draining >= 0 {
            let key = ConnectionKey(vserver: draining, ipProtocol: ipProtocol, client: flow.client.value,
                                    clientPort: clientPort, vip: vip, vipPort: vipPort)
            let existing = connections.find(key)
            if existing != noIndex { return forwardExisting(existing, vserver: draining, now: now) }
        }
        guard matched >= 0 else {
            if excluded {
                counters.countDrop(.clientNotAllowed)
                return .drop(.clientNotAllowed)
            }
            counters.packetsPassed &+= 1
            return .pass
        }

        let key = ConnectionKey(vserver: matched, ipProtocol: ipProtocol, client: flow.client.value,
                                clientPort: clientPort, vip: vip, vipPort: vipPort)
        let existing = connections.find(key)
        if existing != noIndex { return forwardExisting(existing, vserver: matched, now: now) }
        return admit(key, vserver: matched, client: flow.client, now: now)
    }

    /// Existing entries keep flowing to their real whatever its state (IOS forwards
    /// established connections to a failed real until idle or purge, spec §2.7).
    @inline(__always)
    private func forwardExisting(_ existing: Int32, vserver: Int, now: MonotonicTime) -> Verdict {
        if connections.touch(existing, now: now.nanoseconds) { counters.connectionsEstablished &+= 1 }
        let real = connections.slots[Int(existing)].real
        reals[Int(real)].packets &+= 1
        vservers[vserver].packets &+= 1
        counters.packetsBalanced &+= 1
        return .forward(RealID(real))
    }

    /// First packet of a flow: sticky lookup, then the predictor (primary, then backup
    /// farm), then a new INIT connection. Caps are checked before anything is consumed, so a
    /// dropped flow leaves no WRR credit, sticky object or connection behind.
    private func admit(_ key: ConnectionKey, vserver v: Int, client: IPv4Address, now: MonotonicTime) -> Verdict {
        guard !connections.isFull else {
            counters.countDrop(.connectionTableFull)
            return .drop(.connectionTableFull)
        }
        let domain = vservers[v].stickyDomain
        let maskedClient = client.value & vservers[v].stickyMask
        var stickyIndex = noIndex
        var real = noIndex
        if let domain {
            stickyIndex = sticky.find(domain: domain, client: maskedClient)
            if stickyIndex != noIndex {
                real = stickyReal(bound: Int(sticky.slots[Int(stickyIndex)].real), vserver: v)
            } else if sticky.isFull {
                counters.countDrop(.stickyTableFull)
                return .drop(.stickyTableFull)
            }
        }

        if real == noIndex {
            var sticks = true
            let picked: Int
            if let primary = pick(farm: vservers[v].farm) {
                picked = primary
            } else if let backup = pick(farm: vservers[v].backupFarm) {
                picked = backup
                // `serverfarm P backup B` without `sticky` (spec §1.5): a placement on the
                // backup farm neither creates nor moves a binding, so the client's next
                // connection returns to the primary once it can take one; a binding to a
                // primary real that has failed stays for when it is back.
                sticks = vservers[v].backupSticky
            } else {
                raiseNoReal(vserver: v, now: now)
                counters.countDrop(.noRealAvailable)
                return .drop(.noRealAvailable)
            }
            real = Int32(truncatingIfNeeded: picked)
            if !sticks {
                stickyIndex = noIndex
            } else if let domain {
                if stickyIndex != noIndex {
                    // Sticky hit on a real that can no longer take it: rebind, so the
                    // client's later buddied flows follow the new choice (spec §2.5).
                    sticky.rebind(stickyIndex, to: real)
                } else {
                    stickyIndex = sticky.insert(domain: domain, client: maskedClient,
                                                mask: vservers[v].stickyMask, real: real)
                    counters.stickyCreated &+= 1
                }
            }
        }

        if stickyIndex != noIndex { sticky.retain(stickyIndex) }
        _ = connections.insert(key, real: real, sticky: stickyIndex, viaSticky: stickyIndex != noIndex,
                               now: now.nanoseconds)
        vservers[v].noRealRaised = false
        vservers[v].totalConnections &+= 1
        vservers[v].packets &+= 1
        reals[Int(real)].totalConnections &+= 1
        reals[Int(real)].packets &+= 1
        counters.connectionsCreated &+= 1
        counters.packetsBalanced &+= 1
        return .forward(RealID(real))
    }

    /// The real a sticky binding sends this vserver's new flow to, or `noIndex` when the
    /// binding cannot be honoured and the predictor must choose (and the object rebind).
    /// IOS honours a binding while the real is OPERATIONAL or MAXCONNS_THROTTLED and serves
    /// the vserver (spec §2.5, §6): its farm, or its backup farm when that is sticky
    /// (`serverfarm P backup B sticky`, spec §1.5). Buddied vservers may draw from different
    /// farms holding the same gateways (say, one farm per service with its own probes or NAT
    /// mode): a real is a gateway *address*, so a binding to a real of another farm is
    /// honoured by the vserver's own real at that address (its farm first, then its sticky
    /// backup farm), under that real's own state.
    @inline(__always)
    func stickyReal(bound: Int, vserver v: Int) -> Int32 {
        guard reals.indices.contains(bound) else { return noIndex }
        let farm = reals[bound].farm
        let backup = vservers[v].backupSticky ? vservers[v].backupFarm : nil
        if farm == vservers[v].farm || (backup != nil && farm == backup) {
            return reals[bound].acceptsSticky ? Int32(truncatingIfNeeded: bound) : noIndex
        }
        if farm == vservers[v].backupFarm { return noIndex }
        let address = reals[bound].address
        if let own = vservers[v].farm, let real = stickyReal(address: address, farm: own) { return real }
        if let backup, let real = stickyReal(address: address, farm: backup) { return real }
        return noIndex
    }

    /// The first real of `farm` at `address`, if it takes sticky traffic.
    private func stickyReal(address: IPv4Address, farm f: Int) -> Int32? {
        guard farms.indices.contains(f) else { return nil }
        var r = farms[f].reals.lowerBound
        while r < farms[f].reals.upperBound {
            defer { r += 1 }
            if reals[r].address == address {
                return reals[r].acceptsSticky ? Int32(truncatingIfNeeded: r) : nil
            }
        }
        return nil
    }

    private func raiseNoReal(vserver v: Int, now: MonotonicTime) {
        guard !vservers[v].noRealRaised else { return }
        vservers[v].noRealRaised = true
        let farm = vservers[v].farm.map { farms[$0].name } ?? ""
        pendingEvents.append(.farmNoReal(farm: farm, vserver: vservers[v].name, at: now))
    }
}
