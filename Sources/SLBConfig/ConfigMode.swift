import SLBWire

/// The identity of a real inside its farm: (IP, port), as the CISCO-SLB-MIB indexes it.
public struct RealKey: Hashable, Sendable, CustomStringConvertible {
    public var address: IPv4Address
    public var port: UInt16?

    public init(address: IPv4Address, port: UInt16? = nil) {
        self.address = address
        self.port = port
    }

    public init(_ real: RealServer) { self.init(address: real.address, port: real.port) }

    public var description: String { port.map { "\(address) \($0)" } ?? address.description }
}

/// The kinds of `ip slb` sub-mode, named after their IOS prompts.
public enum ModeKind: String, Hashable, Sendable, CaseIterable {
    case probe, serverFarm, real, virtualServer

    /// The IOS prompt, `Router(config-slb-sfarm)#`.
    public var prompt: String {
        switch self {
        case .probe: "config-slb-probe"
        case .serverFarm: "config-slb-sfarm"
        case .real: "config-slb-real"
        case .virtualServer: "config-slb-vserver"
        }
    }

    var noun: String {
        switch self {
        case .probe: "probe"
        case .serverFarm: "serverfarm"
        case .real: "real server"
        case .virtualServer: "vserver"
        }
    }
}

/// One level of the configuration mode stack. IOS reads configuration as a stack of modes:
/// `ip slb serverfarm X` enters the farm mode, `real IP` the real mode inside it, and a line that
/// the current mode does not know is tried in the enclosing modes (so `real` ends a real block
/// and `ip slb vserver` ends the farm), which is why blocks need no indentation.
public enum ConfigMode: Hashable, Sendable, CustomStringConvertible {
    case global
    case probe(String)
    case serverFarm(String)
    case real(farm: String, RealKey)
    case virtualServer(String)
    /// Inside a block whose header was rejected: its sub-commands are consumed silently so one
    /// mistake is reported once, not once per sub-command.
    case discarding(ModeKind)
    /// Inside a global command that is not `ip slb` (a pasted `interface` block, say):
    /// everything but a new `ip slb` command is skipped.
    case foreign
    /// Inside an `ip slb` block VPNSLB does not support (already reported as an error).
    case unsupported

    public var kind: ModeKind? {
        switch self {
        case .probe: .probe
        case .serverFarm: .serverFarm
        case .real: .real
        case .virtualServer: .virtualServer
        case .discarding(let kind): kind
        case .global, .foreign, .unsupported: nil
        }
    }

    /// `config`, `config-slb-sfarm`, ...: what IOS prints between `Router(` and `)#`.
    public var prompt: String { kind?.prompt ?? "config" }

    /// The commands this mode accepts, for `?` help and prefix matching.
    public var commands: [CommandSpec] { kind.map { CommandTable.commands(for: $0) } ?? CommandTable.global }

    public var description: String {
        switch self {
        case .global: "global"
        case .probe(let name): "probe \(name)"
        case .serverFarm(let name): "serverfarm \(name)"
        case .real(let farm, let key): "serverfarm \(farm) real \(key)"
        case .virtualServer(let name): "vserver \(name)"
        case .discarding(let kind): "rejected \(kind.noun)"
        case .foreign: "non-SLB block"
        case .unsupported: "unsupported ip slb block"
        }
    }
}
