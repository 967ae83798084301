/// One command of a configuration mode, as `?` help lists it.
public struct CommandSpec: Hashable, Sendable {
    public enum Support: Hashable, Sendable {
        case supported
        /// IOS accepts it; VPNSLB parses it and warns that it has no effect (TCP-only, DFP, ...).
        case ignored(String)
        /// IOS accepts it; VPNSLB rejects it with an error.
        case unsupported(String)
    }

    public var keyword: String
    public var syntax: String
    public var help: String
    /// Has a `no` form.
    public var negatable: Bool
    public var support: Support

    public init(_ keyword: String, _ syntax: String, _ help: String, negatable: Bool = true,
                support: Support = .supported) {
        self.keyword = keyword
        self.syntax = syntax
        self.help = help
        self.negatable = negatable
        self.support = support
    }
}

/// The keyword tables of every mode. The parser matches prefixes against exactly these lists,
/// so an ambiguity error names the same candidates `?` help would show.
public enum CommandTable {
    static let exit = CommandSpec("exit", "exit", "Leave this mode", negatable: false)
    static let end = CommandSpec("end", "end", "Return to the global mode", negatable: false)

    /// Global mode: only `ip slb ...` and its `no` form belong to VPNSLB; every other global
    /// command of a pasted running-config is skipped with a note.
    public static let global: [CommandSpec] = [
        CommandSpec("ip", "ip slb {probe|serverfarm|vserver|entries} ...", "IOS server load balancing"),
        exit, end,
    ]

    /// The words after `ip slb`.
    public static let slbObjects: [CommandSpec] = [
        CommandSpec("probe", "ip slb probe NAME {ping|ike}", "Health probe (ike: VPNSLB extension)"),
        CommandSpec("serverfarm", "ip slb serverfarm NAME", "Server farm of real gateways"),
        CommandSpec("vserver", "ip slb vserver NAME", "Virtual server (VIP, protocol, port)"),
        CommandSpec("entries", "ip slb entries [conn 1-16000000] [sticky 1-16000000]",
                    "Connection and sticky table sizes"),
        CommandSpec("natpool", "ip slb natpool ...", "Client NAT pool", support: .unsupported("client NAT is not supported")),
        CommandSpec("dfp", "ip slb dfp ...", "Dynamic Feedback Protocol", support: .unsupported("DFP is not supported")),
        CommandSpec("firewallfarm", "ip slb firewallfarm ...", "Firewall load balancing",
                    support: .unsupported("firewall load balancing is not supported")),
        CommandSpec("static", "ip slb static ...", "Static NAT", support: .unsupported("static NAT is not supported")),
        CommandSpec("replicate", "ip slb replicate ...", "Stateful backup",
                    support: .unsupported("stateful replication is not supported")),
        CommandSpec("timers", "ip slb timers ...", "Global timers", support: .unsupported("global SLB timers are not supported")),
    ]

    public static let probeTypes = ["ping", "ike"]
    /// Probe types of IOS that VPNSLB recognises but does not implement.
    public static let unsupportedProbeTypes = ["http", "tcp", "dns", "wsp", "custom", "smtp", "telnet"]

    public static let probe: [CommandSpec] = [
        CommandSpec("address", "address A.B.C.D", "Probe destination (firewall farms; reals use their own)"),
        CommandSpec("interval", "interval <1-65535>", "Seconds between probes (default 1)"),
        CommandSpec("faildetect", "faildetect <1-255>", "Consecutive misses that fail a real (default 10)"),
        exit, end,
    ]

    public static let predictors = ["roundrobin", "leastconns"]

    public static let serverFarm: [CommandSpec] = [
        CommandSpec("predictor", "predictor {roundrobin|leastconns}", "Load balancing algorithm (default roundrobin)"),
        CommandSpec("failaction", "failaction purge", "Remove a failed real's connections at once"),
        CommandSpec("probe", "probe NAME", "Attach a health probe to every real"),
        CommandSpec("nat", "nat server", "Directed mode: rewrite the VIP to the real's address"),
        CommandSpec("real", "real A.B.C.D [<1-65535>]", "Real server (gateway)"),
        CommandSpec("bindid", "bindid <0-65533>", "DFP bind id", support: .ignored("bindid is used by DFP only")),
        exit, end,
    ]

    public static let real: [CommandSpec] = [
        CommandSpec("weight", "weight <1-255>", "Relative capacity (default 8)"),
        CommandSpec("maxconns", "maxconns <1-4294967295>", "Connection limit (default unlimited)"),
        CommandSpec("retry", "retry <1-3600>", "Seconds before a failed real is retried (default 60; TCP only)"),
        CommandSpec("inservice", "inservice", "Enable the real (default out of service)"),
        CommandSpec("reassign", "reassign <1-4>", "Unanswered SYNs before reassigning",
                    support: .ignored("reassign applies to TCP only")),
        CommandSpec("faildetect", "faildetect {numconns N [numclients M] | inband}", "In-band failure detection",
                    support: .ignored("in-band failure detection counts TCP connection attempts only")),
        exit, end,
    ]

    public static let udpPortNames: [(name: String, port: UInt16)] = [
        ("isakmp", 500),          // RFC 2408 §2.5.1 / RFC 7296 §2
        ("non500-isakmp", 4500),  // RFC 3948 §1 (UDP encapsulation of ESP, NAT-T)
    ]

    public static let virtualServer: [CommandSpec] = [
        CommandSpec("virtual", "virtual A.B.C.D [MASK] {udp {<0-65535>|isakmp|non500-isakmp|any} | esp}",
                    "Virtual address, protocol and port"),
        CommandSpec("serverfarm", "serverfarm NAME [backup NAME [sticky]]", "Farm serving this vserver"),
        CommandSpec("sticky", "sticky <0-65535> [group <0-255>] [netmask MASK]", "Client affinity (seconds)"),
        CommandSpec("idle", "idle <10-65535>", "Seconds before an idle connection is removed (default 3600)"),
        CommandSpec("client", "client A.B.C.D MASK", "Clients allowed to use this vserver (default all)"),
        CommandSpec("inservice", "inservice", "Enable the vserver (default out of service)"),
        CommandSpec("delay", "delay <1-600>", "TCP close delay", support: .ignored("delay applies to TCP only")),
        CommandSpec("synguard", "synguard <0-1073741823> [<50-5000>]", "TCP SYN guard",
                    support: .ignored("synguard applies to TCP only")),
        CommandSpec("advertise", "advertise [active]", "Install a static route for the VIP",
                    support: .ignored("VPNSLB does not install routes for VIPs")),
        exit, end,
    ]

    public static func commands(for kind: ModeKind) -> [CommandSpec] {
        switch kind {
        case .probe: probe
        case .serverFarm: serverFarm
        case .real: real
        case .virtualServer: virtualServer
        }
    }

    /// Keywords a mode matches, including `no` when some command has a `no` form.
    static func keywords(_ commands: [CommandSpec]) -> [String] {
        commands.map(\.keyword) + (commands.contains { $0.negatable } ? ["no"] : [])
    }
}
