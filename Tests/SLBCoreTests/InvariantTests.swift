import SLBConfig
import SLBCore
import SLBWire
import Testing

/// Seeded random traffic, probe results, expiry and clears against invariants read from
/// snapshots: what the tables hold must agree with every decision the engine makes.
@Suite struct InvariantTests {
    /// SplitMix64: deterministic across runs and platforms.
    struct SeededGenerator: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    struct RowKey: Hashable {
        let vserver: String
        let client: IPv4Address
        let clientPort: UInt16
    }

    @Test("random traffic keeps tables, counters and decisions consistent",
          arguments: [(UInt64(1), Predictor.roundRobin, false), (2, .leastConns, true), (3, .roundRobin, true),
                      (4, .leastConns, false)])
    func randomTraffic(seed: UInt64, predictor: Predictor, purge: Bool) {
        var random = SeededGenerator(state: seed)
        let engine = makeEngine(ipsecConfiguration(weights: [3, 1, 2], predictor: predictor, maxConns: 12,
                                                   purge: purge, sticky: 40, idle: 20,
                                                   entries: TableLimits(connections: 30, sticky: 28)))
        let names = ["ISAKMP", "NATT", "ESP"]
        var clock = MonotonicTime.seconds(1)
        var created: UInt64 = 0

        for step in 0..<3_000 {
            clock = clock + .milliseconds(UInt64.random(in: 0...900, using: &random))
            let before = engine.snapshot(now: clock, connections: .all)
            var rows: [RowKey: IPv4Address] = [:]
            for row in before.connections {
                rows[RowKey(vserver: row.vserver, client: row.client, clientPort: row.clientPort)] = row.real
            }
            let states = Dictionary(uniqueKeysWithValues: before.reals.map { ($0.address, $0.state) })

            switch UInt8.random(in: 0..<100, using: &random) {
            case 0..<80:
                let address = client(UInt8.random(in: 1...32, using: &random))
                let kind = Int.random(in: 0..<3, using: &random)
                let flow: Flow = switch kind {
                case 0: .udp(address, 500, to: vip, 500)
                case 1: .udp(address, 4500, to: vip, 4500)
                default: .esp(address, to: vip)
                }
                let verdict = engine.decide(flow, now: clock)
                let key = RowKey(vserver: names[kind], client: address, clientPort: flow.ipProtocol == .esp ? 0 : flow.clientPort)
                let sticky = before.sticky.first { $0.client == address }
                if let real = rows[key] {
                    // An existing connection always goes to its real.
                    #expect(verdict.real.map { engine.forwarding(for: RealID(Int32($0))).address } == real, "step \(step)")
                } else if let real = verdict.real {
                    created += 1
                    let address = engine.forwarding(for: RealID(Int32(real))).address
                    let state = states[address]
                    if let sticky, states[sticky.real] == .operational || states[sticky.real] == .maxConns {
                        // A usable binding is honoured, even at MAXCONNS.
                        #expect(address == sticky.real, "step \(step)")
                    } else {
                        // Otherwise only a real able to take new connections is chosen.
                        #expect(state == .operational, "step \(step)")
                    }
                } else if case .drop(let reason) = verdict {
                    switch reason {
                    case .connectionTableFull: #expect(before.connections.count >= 30)
                    case .stickyTableFull: #expect(before.sticky.count >= 28 && sticky == nil)
                    case .noRealAvailable: #expect(!before.reals.contains { $0.state == .operational })
                    case .clientNotAllowed: Issue.record("no client ranges configured")
                    }
                }
            case 80..<92:
                let real = RealID(Int32.random(in: 0..<3, using: &random))
                let probe = Bool.random(using: &random) ? "PING" : "IKE"
                _ = engine.probeResult(real: real, probe: probe, success: Int.random(in: 0..<3, using: &random) != 0,
                                       rtt: nil, now: clock)
            case 92..<99:
                _ = engine.expire(now: clock)
            default:
                let scope: ClearScope = Bool.random(using: &random) ? .all : .vserver(names.randomElement(using: &random)!)
                _ = engine.clearConnections(scope, now: clock)
            }

            let after = engine.snapshot(now: clock, connections: .all)
            #expect(after.connections.count <= 30 && after.sticky.count <= 28)
            for real in after.reals {
                #expect(real.connections == after.connections.filter { $0.real == real.address }.count, "step \(step)")
            }
            for vserver in after.vservers {
                #expect(vserver.connections == after.connections.filter { $0.vserver == vserver.name }.count)
            }
            #expect(after.sticky.map(\.connections).reduce(0, +) == after.connections.filter(\.sticky).count)
            #expect(after.sticky.allSatisfy { $0.expiresIn == nil ? $0.connections > 0 : $0.connections == 0 })
            #expect(after.sticky.allSatisfy { ($0.expiresIn ?? .zero) <= .seconds(40) })
            #expect(Set(after.sticky.map(\.client)).count == after.sticky.count, "one object per client")
        }
        let stats = engine.snapshot(now: clock, connections: .none).stats
        // The run reached every path it is meant to check.
        #expect(stats.connectionsEstablished > 0 && stats.connectionsPurged > 0 && stats.stickyDestroyed > 0)
        for reason in [DropReason.noRealAvailable, .connectionTableFull, .stickyTableFull] {
            #expect((stats.drops[reason.rawValue] ?? 0) > 0, "\(reason)")
        }
        #expect(stats.connectionsCreated == created)
        #expect(stats.connectionsCreated - stats.connectionsDestroyed
            == UInt64(engine.snapshot(now: clock, connections: .all).connections.count))
    }
}
