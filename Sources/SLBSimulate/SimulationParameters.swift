import SLBWire

/// What `slb simulate` was asked for. Every bound is a named constant so bad input is a
/// typed error, never a trap or an endless run.
public struct SimulationParameters: Hashable, Sendable {
    public static let defaultClients = 20
    public static let defaultNATTShare = 0.3
    public static let defaultLeaveShare = 0.2
    public static let defaultDuration: UInt64 = 300
    /// One simulated day: about 6 million packets at the maximum population, seconds of CPU.
    public static let maximumDuration: UInt64 = 86_400

    /// A real whose probes fail from `from` (seconds) until `until` (exclusive; nil = to the end).
    public struct Failure: Hashable, Sendable {
        public var real: IPv4Address
        public var from: UInt64
        public var until: UInt64?

        public init(real: IPv4Address, from: UInt64, until: UInt64? = nil) {
            self.real = real
            self.from = from
            self.until = until
        }

        /// `REAL@SECONDS` or `REAL@FROM-UNTIL`, e.g. `198.51.100.12@120` or `198.51.100.12@120-240`.
        public init?(_ text: String) {
            let parts = text.split(separator: "@", omittingEmptySubsequences: false)
            guard parts.count == 2, let real = IPv4Address(parts[0]) else { return nil }
            let times = parts[1].split(separator: "-", omittingEmptySubsequences: false)
            guard (1...2).contains(times.count), let from = UInt64(times[0]) else { return nil }
            var until: UInt64?
            if times.count == 2 {
                guard let end = UInt64(times[1]), end > from else { return nil }
                until = end
            }
            self.init(real: real, from: from, until: until)
        }

        func isDown(atSecond second: UInt64) -> Bool {
            second >= from && (until.map { second < $0 } ?? true)
        }
    }

    public var clients: Int
    /// Probability (0...1) that a client is behind NAT and uses NAT-T (UDP 4500, RFC 3948).
    public var nattShare: Double
    /// Probability (0...1) that a client leaves (stops sending) before the end.
    public var leaveShare: Double
    public var seed: UInt64
    public var failures: [Failure]
    /// Simulated seconds.
    public var duration: UInt64

    public init(clients: Int = defaultClients, nattShare: Double = defaultNATTShare,
                leaveShare: Double = defaultLeaveShare, seed: UInt64 = 1, failures: [Failure] = [],
                duration: UInt64 = defaultDuration) {
        self.clients = clients
        self.nattShare = nattShare
        self.leaveShare = leaveShare
        self.seed = seed
        self.failures = failures
        self.duration = duration
    }

    func validate() throws(SimulationError) {
        guard (0...ClientAddressPlan.capacity).contains(clients) else {
            throw .invalidParameter("--clients must be 0...\(ClientAddressPlan.capacity) (the lab address plan)")
        }
        guard (0...1).contains(nattShare) else { throw .invalidParameter("--natt-share must be 0...1") }
        guard (0...1).contains(leaveShare) else { throw .invalidParameter("--leave-share must be 0...1") }
        guard (1...Self.maximumDuration).contains(duration) else {
            throw .invalidParameter("--duration must be 1...\(Self.maximumDuration) seconds")
        }
        for failure in failures where failure.from > duration {
            throw .invalidParameter("--fail \(failure.real)@\(failure.from) is after the end (\(duration) s)")
        }
    }
}

public enum SimulationError: Error, Hashable, Sendable, CustomStringConvertible {
    case invalidParameter(String)
    /// The configuration has nothing to send to (no vserver for ISAKMP, ESP or NAT-T).
    case noVirtualServer
    /// `--fail` names an address that is no real of the configuration.
    case unknownReal(IPv4Address)

    public var description: String {
        switch self {
        case .invalidParameter(let text): text
        case .noVirtualServer: "the configuration has no vserver for udp 500, esp or udp 4500"
        case .unknownReal(let address): "--fail \(address): no real with that address in the configuration"
        }
    }
}
