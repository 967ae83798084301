import SLBCore
import SLBWire

/// What a run produced: the population, the engine's state at the end, every engine event,
/// and packet verdict counts.
public struct SimulationResult: Sendable {
    public struct PacketCounts: Hashable, Sendable, Codable {
        public var forwarded: UInt64 = 0
        public var passed: UInt64 = 0
        /// By `DropReason.rawValue`.
        public var dropped: [String: UInt64] = [:]
    }

    public var parameters: SimulationParameters
    public var clients: [SimulatedClient]
    /// Times each client restarted IKE after finding its gateway dead (same order as `clients`).
    public var restarts: [Int] = []
    /// Times each client's packets went to a different real than its previous packet
    /// (a purge and rebind, or a sticky object that expired).
    public var moves: [Int] = []
    /// At the end of the run, connection and sticky rows sorted (see `Simulation.ordered`).
    public var snapshot: SLBSnapshot
    public var events: [EngineEvent] = []
    public var packets = PacketCounts()

    init(parameters: SimulationParameters, clients: [SimulatedClient], snapshot: SLBSnapshot) {
        self.parameters = parameters
        self.clients = clients
        self.snapshot = snapshot
    }

    /// The real each client's connections name at the end (nil: it has none left). When a
    /// client's rows name different reals, the first row's real is given; `splitClients` lists those.
    public var realOfClient: [IPv4Address: IPv4Address] {
        var map: [IPv4Address: IPv4Address] = [:]
        for connection in snapshot.connections where map[connection.client] == nil {
            map[connection.client] = connection.real
        }
        return map
    }

    /// Clients whose connection rows name more than one real (should be none: sticky groups
    /// keep a client's ISAKMP, ESP and NAT-T together).
    public var splitClients: [IPv4Address] {
        var reals: [IPv4Address: Set<IPv4Address>] = [:]
        for connection in snapshot.connections { reals[connection.client, default: []].insert(connection.real) }
        return reals.filter { $0.value.count > 1 }.keys.sorted()
    }
}

extension EngineEvent {
    /// When the engine raised it.
    public var time: MonotonicTime {
        switch self {
        case .realDown(_, _, _, _, let at), .realUp(_, _, _, let at), .purge(_, _, _, _, let at),
             .farmNoReal(_, _, let at):
            at
        }
    }
}
