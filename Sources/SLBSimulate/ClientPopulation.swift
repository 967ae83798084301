import SLBWire

/// One synthetic IPsec client: where it comes from, when, and how it talks. Times are
/// simulated milliseconds from the start.
public struct SimulatedClient: Hashable, Sendable {
    public var address: IPv4Address
    public var vip: IPv4Address
    /// Behind NAT: after the IKE start on UDP 500 everything moves to UDP 4500 from a
    /// NAT-assigned port (RFC 3947 §4, RFC 3948), so there is no ESP flow.
    public var natTraversal: Bool
    /// The NAT-assigned source port for UDP 4500 (never 500).
    public var nattPort: UInt16
    public var arrival: UInt64
    /// Gap between ESP (or NAT-T) packets: traffic, or keepalives when idle.
    public var dataInterval: UInt64
    /// When the client stops sending (nil: stays to the end).
    public var leaves: UInt64?
}

/// Draws the population from the seed. Each client's draws come from its own stream, so
/// asking for 21 clients instead of 20 leaves the first 20 unchanged.
enum ClientPopulation {
    /// Arrivals spread over the first half of the run, so a failure mid-run hits both settled
    /// clients and clients still arriving.
    static let arrivalShare: UInt64 = 2
    static let dataInterval = (low: UInt64(5_000), high: UInt64(20_000))
    /// NAT-assigned ports: the dynamic range of RFC 6335 §6.
    static let nattPorts = (low: UInt64(49_152), high: UInt64(65_535))

    static func make(_ parameters: SimulationParameters, vips: [IPv4Address]) -> [SimulatedClient] {
        let root = SplitMix64(seed: parameters.seed)
        let durationMs = parameters.duration * 1_000
        let window = max(durationMs / arrivalShare, 1)
        let nattPermille = UInt64((parameters.nattShare * 1_000).rounded())
        let leavePermille = UInt64((parameters.leaveShare * 1_000).rounded())
        var clients: [SimulatedClient] = []
        for index in 0..<parameters.clients {
            guard let address = ClientAddressPlan.address(index), !vips.isEmpty else { break }
            var random = root.stream(UInt64(index) &+ 1)
            let arrival = random.below(window)
            let natt = random.chance(permille: nattPermille)
            let port = UInt16(truncatingIfNeeded: random.between(nattPorts.low, nattPorts.high))
            let interval = random.between(dataInterval.low, dataInterval.high)
            let leaving = random.chance(permille: leavePermille)
            // A leaver stays at least a minute (or to the end), then goes silent.
            let stay = random.between(60_000, max(durationMs, 60_000))
            let vip = vips[Int(random.below(UInt64(vips.count)))]
            clients.append(SimulatedClient(
                address: address, vip: vip, natTraversal: natt, nattPort: port, arrival: arrival,
                dataInterval: interval, leaves: leaving && arrival + stay < durationMs ? arrival + stay : nil))
        }
        return clients
    }
}
