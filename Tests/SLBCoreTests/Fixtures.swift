import SLBConfig
import SLBCore
import SLBWire

// Lab plan (RFC 5737 only): VIP 203.0.113.100, gateways 198.51.100.11..., clients 192.0.2.x.
let vip = IPv4Address(203, 0, 113, 100)

func gateway(_ n: UInt8) -> IPv4Address { IPv4Address(198, 51, 100, 10 &+ n) }
func client(_ n: UInt8) -> IPv4Address { IPv4Address(192, 0, 2, n) }

func t(_ seconds: UInt64) -> MonotonicTime { .seconds(seconds) }

/// A farm of in-service reals 198.51.100.11, .12, ... with these weights.
func farm(_ name: String = "GW", weights: [UInt8], predictor: Predictor = .roundRobin,
          maxConns: UInt32 = RealServer.defaultMaxConns, purge: Bool = false,
          probes: [String] = []) -> ServerFarm {
    ServerFarm(name: name, predictor: predictor, failactionPurge: purge, probes: probes,
               reals: weights.enumerated().map { index, weight in
                   RealServer(address: gateway(UInt8(index + 1)), weight: weight, maxConns: maxConns,
                              inService: true)
               })
}

func isakmp(_ farm: String = "GW", sticky: StickySettings? = nil, idle: UInt32 = 3600,
            name: String = "ISAKMP") -> VirtualServer {
    VirtualServer(name: name, address: vip, service: .udp(port: 500), farm: farm, sticky: sticky,
                  idle: idle, inService: true)
}

func natt(_ farm: String = "GW", sticky: StickySettings? = nil, idle: UInt32 = 3600) -> VirtualServer {
    VirtualServer(name: "NATT", address: vip, service: .udp(port: 4500), farm: farm, sticky: sticky,
                  idle: idle, inService: true)
}

func esp(_ farm: String = "GW", sticky: StickySettings? = nil, idle: UInt32 = 3600) -> VirtualServer {
    VirtualServer(name: "ESP", address: vip, service: .esp, farm: farm, sticky: sticky, idle: idle,
                  inService: true)
}

/// The recommended IPsec farm (spec §10): ISAKMP, NAT-T and ESP vservers in sticky group 1.
func ipsecConfiguration(weights: [UInt8] = [8, 8, 8], predictor: Predictor = .roundRobin,
                        maxConns: UInt32 = RealServer.defaultMaxConns, purge: Bool = false,
                        sticky: UInt16 = 3600, idle: UInt32 = 3600,
                        entries: TableLimits = TableLimits()) -> SLBConfiguration {
    let settings = StickySettings(seconds: sticky, group: 1)
    return SLBConfiguration(
        probes: [Probe(name: "PING", faildetect: 3), Probe(name: "IKE", kind: .ike, faildetect: 2)],
        farms: [farm(weights: weights, predictor: predictor, maxConns: maxConns, purge: purge,
                     probes: ["PING", "IKE"])],
        vservers: [isakmp(sticky: settings, idle: idle), natt(sticky: settings, idle: idle),
                   esp(sticky: settings, idle: idle)],
        entries: entries)
}

func makeEngine(_ configuration: SLBConfiguration) -> Engine {
    Engine(configuration: configuration, hashSeed: 0x5EED)
}

extension Verdict {
    /// The real's index, or nil when not forwarded.
    var real: Int? {
        if case .forward(let id) = self { return Int(id.index) }
        return nil
    }
}

/// Real indices chosen for `count` new ISAKMP flows from distinct clients.
func placements(_ engine: Engine, count: Int, firstClient: UInt8 = 10, at now: MonotonicTime = .zero) -> [Int?] {
    (0..<count).map { offset in
        engine.decide(.udp(client(firstClient &+ UInt8(offset)), 500, to: vip, 500), now: now).real
    }
}

/// Fails a real through `faildetect` misses of the PING probe (faildetect 3 in the fixture).
@discardableResult
func failReal(_ engine: Engine, _ real: Int, at now: MonotonicTime, misses: Int = 3) -> [EngineEvent] {
    (0..<misses).flatMap { _ in
        engine.probeResult(real: RealID(Int32(real)), probe: "PING", success: false, rtt: nil, now: now)
    }
}
