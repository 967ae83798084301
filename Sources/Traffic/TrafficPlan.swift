import Lab
import SLBWire

/// What `slb traffic` sends: which clients, what each sends, how fast and for how long.
/// Validated once at the boundary; the generator never sees an out-of-range value.
public struct TrafficPlan: Hashable, Sendable {
    /// The lab client host owns 192.0.2.10–.254 and 198.51.100.128/25 (LabAddressPlan).
    public static let maximumClients = 245 + 126
    /// A run is bounded in time whatever the caller asks for.
    public static let maximumDuration = 3_600.0
    /// Above this the pacing sleeps would be shorter than the kernel's timer slack anyway.
    public static let maximumRate = 10_000_000
    /// sendmmsg batch in fast mode (testbed.md: batches of 64 give ~0.1–0.3 Mpps per core).
    public static let fastBatch = 64
    /// RFC 5737 §3: the only destinations this tool will ever send to.
    public static let documentationNetworks: [IPv4Network] = [
        IPv4Network(address: IPv4Address(192, 0, 2, 0), mask: IPv4Mask(prefixLength: 24)!),
        IPv4Network(address: IPv4Address(198, 51, 100, 0), mask: IPv4Mask(prefixLength: 24)!),
        IPv4Network(address: IPv4Address(203, 0, 113, 0), mask: IPv4Mask(prefixLength: 24)!),
    ]

    public enum Mode: String, Hashable, Sendable, Codable, CaseIterable {
        /// One `send` per packet, paced: what IKE clients look like.
        case paced
        /// `sendmmsg` batches of `fastBatch` per socket: for forwarding benchmarks.
        case fast
    }

    /// Restricts what is sent, for benchmarks that measure one packet kind at a time.
    public enum Only: String, Hashable, Sendable, Codable, CaseIterable {
        case isakmp, esp
    }

    public var clients: Int
    /// Packets per second over all clients; 0 means "as fast as the sockets take them" (fast mode only).
    public var rate: Int
    public var duration: Double
    public var vip: IPv4Address
    /// Share of clients behind a NAT: they use UDP 4500 from a high port (RFC 3948).
    public var nattShare: Double
    /// Clients not behind a NAT send raw ESP (IP protocol 50) as their data packets.
    public var esp: Bool
    public var mode: Mode
    public var only: Only?
    /// Stop after this many packets even if time is left (nil: duration only).
    public var maximumPackets: Int?
    public var seed: UInt64

    public init(clients: Int, rate: Int, duration: Double, vip: IPv4Address = LabAddressPlan.vip,
                nattShare: Double = 0, esp: Bool = false, mode: Mode = .paced, only: Only? = nil,
                maximumPackets: Int? = nil, seed: UInt64 = 1) throws(TrafficError) {
        guard (1...TrafficPlan.maximumClients).contains(clients) else {
            throw .invalid("--clients must be 1...\(TrafficPlan.maximumClients) (the lab client addresses)")
        }
        guard (0...TrafficPlan.maximumRate).contains(rate) else { throw .invalid("--rate must be 0...\(TrafficPlan.maximumRate)") }
        guard rate > 0 || mode == .fast else { throw .invalid("--rate 0 (unpaced) needs --fast") }
        guard duration > 0, duration <= TrafficPlan.maximumDuration else {
            throw .invalid("--duration must be in (0, \(Int(TrafficPlan.maximumDuration))] seconds")
        }
        guard TrafficPlan.documentationNetworks.contains(where: { $0.contains(vip) }) else {
            throw .invalid("--vip \(vip) is not an RFC 5737 documentation address; refusing to send")
        }
        guard (0...1).contains(nattShare) else { throw .invalid("--natt-share must be 0...1") }
        if let maximumPackets, maximumPackets < 1 { throw .invalid("--count must be at least 1") }
        if only == .esp && !esp { throw .invalid("--only esp needs --esp") }
        self.clients = clients
        self.rate = rate
        self.duration = duration
        self.vip = vip
        self.nattShare = nattShare
        self.esp = esp
        self.mode = mode
        self.only = only
        self.maximumPackets = maximumPackets
        self.seed = seed
    }

    /// Client i's source: 192.0.2.10–.254, then 198.51.100.129–.254 (the lab's client host).
    public static func clientAddress(_ index: Int) -> IPv4Address? {
        let first = LabAddressPlan.firstPublicClient.value
        let publicCount = Int(LabAddressPlan.lastPublicClient.value - first) + 1
        if index >= 0 && index < publicCount { return IPv4Address(first + UInt32(index)) }
        let routed = index - publicCount
        guard routed >= 0 && routed < 126 else { return nil }
        return IPv4Address(LabAddressPlan.routedClients.address.value + 1 + UInt32(routed))
    }

    /// Whether client i is behind a NAT: a seeded draw, so one seed gives one population.
    public func isBehindNAT(_ index: Int) -> Bool {
        guard nattShare > 0 else { return false }
        var mixer = TrafficRandom(seed: seed &+ UInt64(index) &* 0x9E37_79B9)
        return mixer.unitInterval() < nattShare
    }

    /// The NAT-assigned source port of client i (49152–65535, RFC 6335 dynamic range).
    public func nattPort(_ index: Int) -> UInt16 {
        var mixer = TrafficRandom(seed: seed ^ (UInt64(index) &+ 0xA5A5))
        return 49_152 + UInt16(truncatingIfNeeded: mixer.next() % 16_384)
    }

    /// What client i sends in its `round`-th packet. Even rounds are IKE on UDP (so at least
    /// half of the traffic goes through kernel UDP sockets), odd rounds are data: ESP-in-UDP
    /// for NAT-T clients, raw ESP with `esp`, else IKE again. NAT-T clients start IKE on 500
    /// and move it to 4500 (RFC 3947 §4).
    public func kind(client index: Int, round: Int) -> PacketKind {
        switch only {
        case .isakmp: return .isakmp
        case .esp: return .esp
        case nil: break
        }
        let nat = isBehindNAT(index)
        if round % 2 == 0 {
            return nat && round > 0 ? .nattIKE : .isakmp
        }
        if nat { return .nattESP }
        return esp ? .esp : .isakmp
    }
}

/// The four things an IPsec client puts on the wire towards a VIP.
public enum PacketKind: String, Hashable, Sendable, Codable, CaseIterable {
    /// UDP 500 → 500, an IKE header (RFC 7296 §3.1).
    case isakmp
    /// UDP high port → 4500, non-ESP marker + IKE header (RFC 3948 §2.2).
    case nattIKE = "natt-ike"
    /// UDP high port → 4500, ESP header (RFC 3948 §2.1).
    case nattESP = "natt-esp"
    /// IP protocol 50 (RFC 4303 §2), through a raw socket.
    case esp

    /// Position in `allCases`, without building the array (the send loop's counter index).
    var slot: Int {
        switch self {
        case .isakmp: 0
        case .nattIKE: 1
        case .nattESP: 2
        case .esp: 3
        }
    }
}

public enum TrafficError: Error, Hashable, Sendable, CustomStringConvertible {
    case invalid(String)
    case system(String, errno: Int32)

    public var description: String {
        switch self {
        case .invalid(let message): message
        case .system(let call, let errno): "\(call): errno \(errno)"
        }
    }
}

/// SplitMix64: a tiny seeded generator, so populations are reproducible.
struct TrafficRandom {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func unitInterval() -> Double { Double(next() >> 11) / Double(1 << 53) }
}
