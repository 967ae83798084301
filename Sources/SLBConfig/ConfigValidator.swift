import SLBWire

/// Checks that need the whole configuration: references, duplicates, ranges of values that did
/// not come through the parser, VIP conflicts, sticky-group consistency, and IPsec advice.
/// Runs on any `SLBConfiguration` (parsed, decoded from JSON or built in code); `sources`
/// supplies line numbers when the configuration came from text.
public enum ConfigValidator {
    public static func validate(_ configuration: SLBConfiguration, file: String = "<config>",
                                sources: SourceMap = SourceMap()) -> [Diagnostic] {
        var checker = Checker(configuration: configuration, file: file, sources: sources)
        checker.run()
        return checker.diagnostics
    }
}

private struct Checker {
    let configuration: SLBConfiguration
    let file: String
    let sources: SourceMap
    var diagnostics: [Diagnostic] = []

    func at(_ key: SourceMap.Key, or fallback: SourceMap.Key? = nil) -> SourceLocation {
        sources[key] ?? fallback.flatMap { sources[$0] } ?? SourceLocation(file: file, line: 0, column: 0)
    }

    mutating func report(_ severity: Diagnostic.Severity, _ key: SourceMap.Key, or fallback: SourceMap.Key? = nil,
                         _ message: String) {
        diagnostics.append(Diagnostic(severity, at: at(key, or: fallback), message))
    }

    mutating func run() {
        checkNames()
        checkRanges()
        checkFarms()
        checkVservers()
        checkVIPConflicts()
        checkStickyGroups()
        checkIPsecPairing()
    }

    // MARK: names and references

    mutating func checkNames() {
        func duplicates(_ names: [String]) -> [String] {
            var seen: Set<String> = [], repeated: [String] = []
            for name in names where !seen.insert(name).inserted && !repeated.contains(name) { repeated.append(name) }
            return repeated
        }
        for name in duplicates(configuration.probes.map(\.name)) {
            report(.error, .probe(name), "duplicate probe name \(name)")
        }
        for name in duplicates(configuration.farms.map(\.name)) {
            report(.error, .farm(name), "duplicate serverfarm name \(name)")
        }
        for name in duplicates(configuration.vservers.map(\.name)) {
            report(.error, .vserver(name), "duplicate vserver name \(name)")
        }
        let allNames = configuration.probes.map { ($0.name, SourceMap.Key.probe($0.name), "probe") }
            + configuration.farms.map { ($0.name, SourceMap.Key.farm($0.name), "serverfarm") }
            + configuration.vservers.map { ($0.name, SourceMap.Key.vserver($0.name), "vserver") }
        for (name, key, what) in allNames
        where name.isEmpty || name.count > ConfigLimits.maximumNameLength || name.contains(where: \.isWhitespace) {
            report(.error, key, "expected a \(what) name of 1-\(ConfigLimits.maximumNameLength) characters without blanks, found '\(name)'")
        }
    }

    // MARK: ranges (a parsed configuration is always in range; decoded or built ones may not be)

    mutating func checkRanges() {
        func range<T: FixedWidthInteger>(_ value: T, _ limits: ClosedRange<T>, _ what: String, _ key: SourceMap.Key,
                                         into checker: inout Checker) {
            if !limits.contains(value) {
                checker.report(.error, key, "expected \(what) \(limits.lowerBound)-\(limits.upperBound), found \(value)")
            }
        }
        range(configuration.entries.connections, ConfigLimits.entries, "connection entries", .entries, into: &self)
        range(configuration.entries.sticky, ConfigLimits.entries, "sticky entries", .entries, into: &self)
        for probe in configuration.probes {
            range(probe.interval, ConfigLimits.probeInterval, "probe \(probe.name) interval", .probe(probe.name), into: &self)
            range(probe.faildetect, ConfigLimits.faildetect, "probe \(probe.name) faildetect", .probe(probe.name), into: &self)
        }
        for farm in configuration.farms {
            for real in farm.reals {
                let key = SourceMap.Key.real(farm: farm.name, RealKey(real))
                range(real.weight, ConfigLimits.weight, "weight of real \(real.address)", key, into: &self)
                range(real.maxConns, ConfigLimits.maxConns, "maxconns of real \(real.address)", key, into: &self)
                range(real.retry, ConfigLimits.retry, "retry of real \(real.address)", key, into: &self)
                if let port = real.port {
                    range(port, ConfigLimits.realPort, "port of real \(real.address)", key, into: &self)
                }
            }
        }
        for vserver in configuration.vservers {
            range(vserver.idle, ConfigLimits.idle, "idle of vserver \(vserver.name)", .vserver(vserver.name), into: &self)
        }
    }

    // MARK: farms

    mutating func checkFarms() {
        let probeNames = Set(configuration.probes.map(\.name))
        let usedFarms = Set(configuration.vservers.flatMap { [$0.farm, $0.backupFarm].compactMap { $0 } })
        var usedProbes: Set<String> = []
        for farm in configuration.farms {
            for probe in farm.probes {
                usedProbes.insert(probe)
                if !probeNames.contains(probe) {
                    report(.error, .farmProbe(farm: farm.name, probe: probe), or: .farm(farm.name),
                           "serverfarm \(farm.name) uses unknown probe \(probe)")
                } else if configuration.probe(named: probe)?.address != nil {
                    report(.warning, .probeAddress(probe), or: .probe(probe),
                           "probe \(probe) address is not used for serverfarm \(farm.name): each real's own address is probed")
                }
            }
            var seen: [RealKey: Int] = [:]
            for real in farm.reals {
                let key = RealKey(real)
                seen[key, default: 0] += 1
                if seen[key] == 2 {
                    report(.error, .real(farm: farm.name, key), or: .farm(farm.name),
                           "duplicate real \(key) in serverfarm \(farm.name)")
                }
                if real.port != nil && farm.nat != .server {
                    report(.warning, .real(farm: farm.name, key), or: .farm(farm.name),
                           "real \(key) has a port but serverfarm \(farm.name) is in dispatched mode: the port is used only with 'nat server'")
                }
            }
            if farm.reals.isEmpty {
                report(.warning, .farm(farm.name), "serverfarm \(farm.name) has no real servers")
            }
            if usedFarms.contains(farm.name) {
                // IOS in-band failure detection counts TCP connection attempts only (spec §0.4),
                // so a UDP/ESP farm without a probe never notices a dead gateway.
                if farm.probes.isEmpty {
                    report(.warning, .farm(farm.name),
                           "serverfarm \(farm.name) has no probe: a failed gateway is never detected for UDP and ESP")
                }
                if !farm.failactionPurge {
                    report(.warning, .farm(farm.name),
                           "serverfarm \(farm.name) has no 'failaction purge': IKE and ESP flows stay on a failed gateway until idle")
                }
            } else {
                report(.note, .farm(farm.name), "serverfarm \(farm.name) is not used by any vserver")
            }
        }
        for probe in configuration.probes where !usedProbes.contains(probe.name) {
            report(.note, .probe(probe.name), "probe \(probe.name) is not used by any serverfarm")
        }
    }

    // MARK: vservers

    mutating func checkVservers() {
        let farmNames = Set(configuration.farms.map(\.name))
        for vserver in configuration.vservers {
            let name = vserver.name
            if let farm = vserver.farm {
                if !farmNames.contains(farm) {
                    report(.error, .farmReference(vserver: name), or: .vserver(name),
                           "vserver \(name) uses unknown serverfarm \(farm)")
                }
            } else {
                report(.error, .vserver(name), "vserver \(name) has no serverfarm: expected 'serverfarm NAME'")
            }
            if let backup = vserver.backupFarm {
                if !farmNames.contains(backup) {
                    report(.error, .backupReference(vserver: name), or: .vserver(name),
                           "vserver \(name) uses unknown backup serverfarm \(backup)")
                } else if backup == vserver.farm {
                    report(.warning, .backupReference(vserver: name), or: .vserver(name),
                           "vserver \(name) uses serverfarm \(backup) as its own backup")
                }
                checkBackupSticky(vserver, backup: backup)
            }
            if let sticky = vserver.sticky, sticky.seconds == 0, sticky.group != 0 || sticky.netmask != .host {
                report(.warning, .sticky(name), or: .vserver(name),
                       "vserver \(name) has sticky 0 (off): its group and netmask have no effect")
            }
        }
    }

    /// Two in-service vservers claiming the same traffic: same protocol, overlapping VIP
    /// (with masks), the same port claim (two exact ports alike, or `any` twice; ESP has no
    /// port), and client ranges that are not disjoint (no `client` line means every client).
    /// An exact port beside `udp any` on the same VIP is no conflict: the engine matches
    /// exact ports first and `any` takes the rest (spec §6 "exact port first, then 'any'").
    mutating func checkVIPConflicts() {
        let active = configuration.vservers.filter(\.inService)
        for (i, a) in active.enumerated() {
            for b in active.dropFirst(i + 1) where a.service.ipProtocol == b.service.ipProtocol {
                let vipA = IPv4Network(address: a.address, mask: a.mask)
                let vipB = IPv4Network(address: b.address, mask: b.mask)
                guard vipA.overlaps(vipB), portsOverlap(a.service, b.service), clientsOverlap(a.clients, b.clients) else {
                    continue
                }
                let line = at(.virtual(a.name), or: .vserver(a.name)).line
                report(.error, .virtual(b.name), or: .vserver(b.name),
                       "vserver \(b.name) claims \(describe(b)) like vserver \(a.name)\(line > 0 ? " (line \(line))" : ""): give them disjoint client ranges or take one out of service")
            }
        }
    }

    func portsOverlap(_ a: VirtualService, _ b: VirtualService) -> Bool {
        switch (a, b) {
        case (.udp(let x), .udp(let y)): x == y
        case (.esp, .esp): true
        case (.udp, .esp), (.esp, .udp): false
        }
    }

    func clientsOverlap(_ a: [IPv4Network], _ b: [IPv4Network]) -> Bool {
        if a.isEmpty || b.isEmpty { return true }
        return a.contains { x in b.contains { x.overlaps($0) } }
    }

    func describe(_ v: VirtualServer) -> String {
        let vip = v.mask == .host ? v.address.description : "\(v.address) \(v.mask)"
        switch v.service {
        case .esp: return "\(vip) esp"
        case .udp(let port): return "\(vip) udp \(port.map(String.init) ?? "any")"
        }
    }

    /// `backup ... sticky` only matters with sticky on; without it, the backup farm's picks
    /// are not sticky, so a client's buddied flows (IKE, NAT-T, ESP) may land on different
    /// reals of a backup farm that has more than one.
    mutating func checkBackupSticky(_ vserver: VirtualServer, backup: String) {
        let name = vserver.name
        let stickyOn = (vserver.sticky?.seconds ?? 0) > 0
        if vserver.backupSticky, !stickyOn {
            report(.warning, .backupReference(vserver: name), or: .vserver(name),
                   "vserver \(name) has no sticky: 'backup \(backup) sticky' has no effect")
        } else if stickyOn, !vserver.backupSticky,
                  let farm = configuration.farms.first(where: { $0.name == backup }), farm.reals.count > 1 {
            report(.warning, .backupReference(vserver: name), or: .vserver(name),
                   "vserver \(name) is sticky but its backup serverfarm \(backup) is not ('backup \(backup) sticky'): "
                   + "while the backup serves, a client's flows may land on different reals of \(backup)")
        }
    }

    // MARK: sticky groups

    /// Buddied vservers share one binding per client (spec §2.5), which is only coherent when
    /// they key clients with the same netmask; their farms may differ when they hold the same
    /// gateway addresses (a binding follows the real's address).
    /// The first real address in one of the two farms but not the other, or nil when both
    /// hold the same addresses (an unknown farm is reported elsewhere).
    func unsharedRealAddress(_ a: String?, _ b: String?) -> IPv4Address? {
        guard let fa = configuration.farms.first(where: { $0.name == a }),
              let fb = configuration.farms.first(where: { $0.name == b }) else { return nil }
        let inA = Set(fa.reals.map(\.address))
        let inB = Set(fb.reals.map(\.address))
        return (fa.reals.map(\.address) + fb.reals.map(\.address)).first { !inA.contains($0) || !inB.contains($0) }
    }

    mutating func checkStickyGroups() {
        var groups: [UInt8: [VirtualServer]] = [:]
        var order: [UInt8] = []
        for vserver in configuration.vservers {
            guard let sticky = vserver.sticky, sticky.group != 0, sticky.seconds > 0 else { continue }
            if groups[sticky.group] == nil { order.append(sticky.group) }
            groups[sticky.group, default: []].append(vserver)
        }
        for group in order {
            guard let members = groups[group], let first = members.first, let firstSticky = first.sticky else { continue }
            for other in members.dropFirst() {
                guard let sticky = other.sticky else { continue }
                // Different farms are allowed: the engine honours a binding by the real's
                // address in the vserver's own farm. A gateway in one farm only cannot be
                // shared, so its clients' other flows are balanced anew and rebind.
                if other.farm != first.farm, let unshared = unsharedRealAddress(first.farm, other.farm) {
                    report(.warning, .farmReference(vserver: other.name), or: .vserver(other.name),
                           "sticky group \(group): vserver \(other.name) uses serverfarm \(other.farm ?? "(none)") and vserver \(first.name) uses \(first.farm ?? "(none)"), but real \(unshared) is not in both: a client bound to it is balanced anew by the other vserver")
                }
                if other.farm == first.farm, other.backupFarm != first.backupFarm || other.backupSticky != first.backupSticky {
                    report(.warning, .farmReference(vserver: other.name), or: .vserver(other.name),
                           "sticky group \(group): vserver \(other.name) has \(Self.backupWords(other)) but vserver \(first.name) has \(Self.backupWords(first)); buddied flows may part while the backup serves")
                }
                if sticky.netmask != firstSticky.netmask {
                    report(.error, .sticky(other.name), or: .vserver(other.name),
                           "sticky group \(group): vserver \(other.name) has netmask \(sticky.netmask) but vserver \(first.name) has \(firstSticky.netmask); a group keys clients with one netmask")
                }
            }
            let timers = Set(members.compactMap { $0.sticky?.seconds })
            if timers.count > 1, let largest = timers.max() {
                let names = members.compactMap { v in v.sticky.map { "\(v.name) \($0.seconds) s" } }
                let last = members.last.map(\.name) ?? first.name
                report(.warning, .sticky(last), or: .vserver(last),
                       "sticky group \(group) has different sticky timers (\(names.joined(separator: ", "))): the binding uses the largest, \(largest) s")
            }
        }
    }

    static func backupWords(_ vserver: VirtualServer) -> String {
        guard let backup = vserver.backupFarm else { return "no backup serverfarm" }
        return "'backup \(backup)\(vserver.backupSticky ? " sticky" : "")'"
    }

    // MARK: IPsec advice

    /// IKE and ESP of one client must reach one gateway (spec §5): an ESP vserver sharing a VIP
    /// with UDP vservers but not a sticky group with them splits tunnels across gateways.
    mutating func checkIPsecPairing() {
        for esp in configuration.vservers where esp.service == .esp && esp.inService {
            let partners = configuration.vservers.filter {
                $0.inService && $0.service.ipProtocol == .udp && $0.address == esp.address
            }
            guard !partners.isEmpty else { continue }
            let group = esp.sticky.flatMap { $0.seconds > 0 && $0.group != 0 ? $0.group : nil }
            let bound = partners.filter { p in group != nil && p.sticky?.group == group && (p.sticky?.seconds ?? 0) > 0 }
            if bound.count < partners.count {
                let loose = partners.filter { p in !bound.contains(p) }.map(\.name)
                report(.warning, .sticky(esp.name), or: .vserver(esp.name),
                       "vserver \(esp.name) (esp) is not in a sticky group with \(listing(loose, conjunction: "and")) on the same VIP: a client's ESP may reach a different gateway than its IKE")
            }
        }
    }
}
