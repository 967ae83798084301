import SLBConfig
import SLBCore
import SLBWire

/// Drives an `Engine` with a synthetic client population over simulated time (see README.md
/// for the model). Pure: no clock, no sockets, no threads; the output is a function of the
/// configuration and the parameters.
public enum Simulation {
    /// IKE start: three ISAKMP packets 50 ms apart (the initiator's side of main mode or
    /// IKE_SA_INIT + IKE_AUTH), then the first ESP / NAT-T packet.
    static let ikePacketGap: UInt64 = 50
    static let ikePackets: UInt64 = 3
    static let firstDataDelay: UInt64 = 200
    /// IKE keepalive / DPD on UDP 500 (RFC 3706) for clients without NAT-T; NAT-T clients
    /// keep IKE on UDP 4500 with their data.
    static let ikeKeepalive: UInt64 = 60_000
    /// Unanswered ESP/NAT-T packets in a row after which a client declares its gateway dead
    /// and starts IKE again (DPD's retry budget, RFC 3706 §5.5).
    static let deadPeerMisses = 3
    /// Probe round-trip times drawn for successful probes (microseconds).
    static let probeRTT = (low: UInt64(200), high: UInt64(1_500))
    /// `Engine.expire` is meant to run about once a second.
    static let expireEvery: UInt64 = 1_000

    private enum Step {
        case ike(client: Int)
        case data(client: Int)
        case keepalive(client: Int)
        case probe(target: Int, probe: Int)
        case expire
    }

    private struct ClientState {
        var unanswered = 0
        var restarts = 0
        /// The real that took this client's last forwarded packet.
        var real: RealID?
        var moves = 0
    }

    public static func run(configuration: SLBConfiguration,
                           parameters: SimulationParameters) throws(SimulationError) -> SimulationResult {
        try parameters.validate()
        let services = configuration.vservers
        let vips = services.reduce(into: [IPv4Address]()) { list, vserver in
            if !list.contains(vserver.address) { list.append(vserver.address) }
        }
        guard !vips.isEmpty else { throw .noVirtualServer }

        let random = SplitMix64(seed: parameters.seed)
        var hashRandom = random.stream(0x5EED)
        let engine = Engine(configuration: configuration, hashSeed: hashRandom.next())
        let targets = engine.probeTargets
        for failure in parameters.failures where !targets.contains(where: { $0.address == failure.real }) {
            throw .unknownReal(failure.real)
        }
        let clients = ClientPopulation.make(parameters, vips: vips)
        var states = [ClientState](repeating: ClientState(), count: clients.count)
        var rttRandom = random.stream(0x9B0B)
        let end = parameters.duration * 1_000

        func isDown(_ address: IPv4Address, at ms: UInt64) -> Bool {
            parameters.failures.contains { $0.real == address && $0.isDown(atSecond: ms / 1_000) }
        }
        func time(_ ms: UInt64) -> MonotonicTime { .milliseconds(ms) }

        var queue = EventQueue<Step>()
        for (index, client) in clients.enumerated() {
            for packet in 0..<ikePackets { queue.schedule(.ike(client: index), at: client.arrival + packet * ikePacketGap) }
            queue.schedule(.data(client: index), at: client.arrival + firstDataDelay)
            if !client.natTraversal { queue.schedule(.keepalive(client: index), at: client.arrival + ikeKeepalive) }
        }
        for (t, target) in targets.enumerated() {
            for (p, probe) in target.probes.enumerated() {
                queue.schedule(.probe(target: t, probe: p), at: UInt64(max(probe.interval, 1)) * 1_000)
            }
        }
        queue.schedule(.expire, at: expireEvery)

        var result = SimulationResult(parameters: parameters, clients: clients, snapshot: SLBSnapshot(taken: time(end)))

        /// One packet from client `c`; returns whether a live gateway got it.
        func send(_ flow: Flow, from c: Int, at ms: UInt64) -> Bool {
            let verdict = engine.decide(flow, now: time(ms))
            result.events += engine.takeEvents()
            switch verdict {
            case .forward(let real):
                result.packets.forwarded += 1
                if let previous = states[c].real, previous != real { states[c].moves += 1 }
                states[c].real = real
                let index = Int(real.index)
                guard targets.indices.contains(index) else { return false }
                return !isDown(targets[index].address, at: ms)
            case .drop(let reason):
                result.packets.dropped[reason.rawValue, default: 0] += 1
                return false
            case .pass:
                result.packets.passed += 1
                return false
            }
        }

        while let (now, step) = queue.pop(), now <= end {
            switch step {
            case .ike(let c):
                let client = clients[c]
                guard client.leaves.map({ now < $0 }) ?? true else { continue }
                _ = send(.udp(client.address, 500, to: client.vip, 500), from: c, at: now)
            case .keepalive(let c):
                let client = clients[c]
                guard client.leaves.map({ now < $0 }) ?? true else { continue }
                _ = send(.udp(client.address, 500, to: client.vip, 500), from: c, at: now)
                queue.schedule(.keepalive(client: c), at: now + ikeKeepalive)
            case .data(let c):
                let client = clients[c]
                guard client.leaves.map({ now < $0 }) ?? true else { continue }
                let flow: Flow = client.natTraversal
                    ? .udp(client.address, client.nattPort, to: client.vip, 4500)
                    : .esp(client.address, to: client.vip)
                if send(flow, from: c, at: now) {
                    states[c].unanswered = 0
                } else {
                    states[c].unanswered += 1
                    if states[c].unanswered >= deadPeerMisses {
                        // Dead peer: start IKE again from UDP 500, as a client's DPD does.
                        states[c].unanswered = 0
                        states[c].restarts += 1
                        for packet in 0..<ikePackets { queue.schedule(.ike(client: c), at: now + packet * ikePacketGap) }
                    }
                }
                queue.schedule(.data(client: c), at: now + client.dataInterval)
            case .probe(let t, let p):
                let target = targets[t]
                let probe = target.probes[p]
                let success = !isDown(target.address, at: now)
                let rtt = success ? TimeSpan(nanoseconds: rttRandom.between(probeRTT.low, probeRTT.high) * 1_000) : nil
                result.events += engine.probeResult(real: target.real, probe: probe.name, success: success,
                                                    rtt: rtt, now: time(now))
                queue.schedule(.probe(target: t, probe: p), at: now + UInt64(max(probe.interval, 1)) * 1_000)
            case .expire:
                result.events += engine.expire(now: time(now))
                queue.schedule(.expire, at: now + expireEvery)
            }
        }

        result.restarts = states.map(\.restarts)
        result.moves = states.map(\.moves)
        result.snapshot = ordered(engine.snapshot(now: time(end), connections: ConnectionFilter.all))
        return result
    }

    /// Table-slot order depends on hashing; `show` output here is sorted so that it reads
    /// well and compares byte for byte: connections by client, then vserver (configuration
    /// order), then client port; sticky objects by client, then group.
    static func ordered(_ snapshot: SLBSnapshot) -> SLBSnapshot {
        var sorted = snapshot
        let rank = Dictionary(snapshot.vservers.map { ($0.name, $0.index) }, uniquingKeysWith: { first, _ in first })
        sorted.connections.sort {
            ($0.client, rank[$0.vserver] ?? 0, $0.clientPort) < ($1.client, rank[$1.vserver] ?? 0, $1.clientPort)
        }
        sorted.sticky.sort { ($0.client, $0.group) < ($1.client, $1.group) }
        return sorted
    }
}
