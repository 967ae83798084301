import SLBWire

/// Prints a configuration the way `show running-config | section ip slb` does: IOS command
/// order, one blank of indentation per mode level, `!` between objects, defaults omitted.
/// With `all: true` every default is written out (`show running-config all`), including the
/// `no` forms of off switches. `ConfigParser.parse(render(c))` gives `c` back.
public enum ConfigRenderer {
    public static func render(_ configuration: SLBConfiguration, all: Bool = false) -> String {
        var lines: [String] = []
        let entries = configuration.entries
        let connDefault = entries.connections == TableLimits.defaultConnections
        let stickyDefault = entries.sticky == TableLimits.defaultSticky
        if all || !connDefault || !stickyDefault {
            var line = "ip slb entries"
            if all || !connDefault { line += " conn \(entries.connections)" }
            if all || !stickyDefault { line += " sticky \(entries.sticky)" }
            lines += [line, "!"]
        }
        for probe in configuration.probes { lines += render(probe, all: all) + ["!"] }
        for farm in configuration.farms { lines += render(farm, all: all) + ["!"] }
        for vserver in configuration.vservers { lines += render(vserver, all: all) + ["!"] }
        return lines.isEmpty ? "" : lines.joined(separator: "\n") + "\n"
    }

    static func render(_ probe: Probe, all: Bool) -> [String] {
        var lines = ["ip slb probe \(probe.name) \(probe.kind.rawValue)"]
        if let address = probe.address { lines.append(" address \(address)") }
        if all || probe.interval != Probe.defaultInterval { lines.append(" interval \(probe.interval)") }
        if all || probe.faildetect != Probe.defaultFaildetect { lines.append(" faildetect \(probe.faildetect)") }
        return lines
    }

    static func render(_ farm: ServerFarm, all: Bool) -> [String] {
        var lines = ["ip slb serverfarm \(farm.name)"]
        switch farm.predictor {
        case .leastConns: lines.append(" predictor leastconns")
        case .roundRobin: if all { lines.append(" predictor roundrobin") }
        }
        switch farm.nat {
        case .server: lines.append(" nat server")
        case .none: if all { lines.append(" no nat server") }
        }
        if farm.failactionPurge { lines.append(" failaction purge") } else if all { lines.append(" no failaction purge") }
        lines += farm.probes.map { " probe \($0)" }
        for real in farm.reals {
            lines.append(" !")
            lines.append(" real \(RealKey(real))")
            if all || real.weight != RealServer.defaultWeight { lines.append("  weight \(real.weight)") }
            if all || real.maxConns != RealServer.defaultMaxConns { lines.append("  maxconns \(real.maxConns)") }
            if all || real.retry != RealServer.defaultRetry { lines.append("  retry \(real.retry)") }
            if real.inService { lines.append("  inservice") } else if all { lines.append("  no inservice") }
        }
        if !farm.reals.isEmpty { lines.append(" !") }
        return lines
    }

    static func render(_ vserver: VirtualServer, all: Bool) -> [String] {
        var lines = ["ip slb vserver \(vserver.name)"]
        var virtual = " virtual \(vserver.address)"
        if all || vserver.mask != .host { virtual += " \(vserver.mask)" }
        virtual += " " + service(vserver.service)
        lines.append(virtual)
        lines += vserver.clients.map { " client \($0.address) \($0.mask)" }
        if let farm = vserver.farm {
            lines.append(" serverfarm \(farm)" + (vserver.backupFarm.map { " backup \($0)" + (vserver.backupSticky ? " sticky" : "") } ?? ""))
        }
        if let sticky = vserver.sticky {
            var line = " sticky \(sticky.seconds)"
            if all || sticky.group != 0 { line += " group \(sticky.group)" }
            if all || sticky.netmask != .host { line += " netmask \(sticky.netmask)" }
            lines.append(line)
        } else if all {
            lines.append(" sticky 0 group 0 netmask \(IPv4Mask.host)")
        }
        if all || vserver.idle != VirtualServer.defaultIdle { lines.append(" idle \(vserver.idle)") }
        if vserver.inService { lines.append(" inservice") } else if all { lines.append(" no inservice") }
        return lines
    }

    /// IOS prints `udp isakmp` for 500 (Example 6-14); other ports, including 4500, as numbers.
    static func service(_ service: VirtualService) -> String {
        switch service {
        case .esp: "esp"
        case .udp(nil): "udp any"
        case .udp(500?): "udp isakmp"
        case .udp(let port?): "udp \(port)"
        }
    }
}
