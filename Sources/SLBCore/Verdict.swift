import SLBWire

/// Index of a real in the engine's real table (configuration order across farms). Stable for
/// the life of an engine; the dataplane keys its per-real state (MAC, counters) on it.
public struct RealID: Hashable, Comparable, Sendable, Codable {
    public let index: Int32
    @inlinable public init(_ index: Int32) { self.index = index }
    @inlinable public static func < (a: RealID, b: RealID) -> Bool { a.index < b.index }
}

/// What the dataplane does with a packet. The engine decides; the dataplane performs.
public enum Verdict: Hashable, Sendable {
    /// Send to this real: dispatched mode rewrites the MAC, directed mode the destination IP
    /// (see `Engine.forwarding(for:)`).
    case forward(RealID)
    /// A counted drop.
    case drop(DropReason)
    /// Not load balanced: no in-service vserver takes this flow (IOS "port-bound servers":
    /// such traffic is not redirected). The dataplane documents what it does with it.
    case pass
}

/// Why the engine dropped a packet; each reason has a counter in `show ip slb stats`.
public enum DropReason: String, Hashable, Sendable, Codable, CaseIterable {
    /// No real of the farm (nor of its backup farm) can take a new connection.
    case noRealAvailable = "no real available"
    /// `ip slb entries conn` reached.
    case connectionTableFull = "connection table full"
    /// `ip slb entries sticky` reached while a new binding was needed.
    case stickyTableFull = "sticky table full"
    /// The vserver matched but `client` ranges exclude this source.
    case clientNotAllowed = "client not allowed"
}

/// How to rewrite a packet for a real: what the dataplane needs besides the RealID.
public struct Forwarding: Hashable, Sendable {
    public enum Mode: Hashable, Sendable {
        /// Dispatched mode: the real carries the VIP on its loopback; only the MAC changes.
        case dispatched
        /// Directed mode (`nat server`): destination IP (and port when the real has one) rewritten.
        case directed(port: UInt16?)
    }
    public var real: RealID
    public var address: IPv4Address
    public var mode: Mode

    public init(real: RealID, address: IPv4Address, mode: Mode) {
        self.real = real
        self.address = address
        self.mode = mode
    }
}
