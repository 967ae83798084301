import SLBConfig
import SLBCore
import SLBWire

/// Hand-built snapshots: the seed's own data, and a lab farm (RFC 5737 addresses) that
/// exercises every state, NAT-T, sticky timers and probe outages.
enum SampleSnapshots {
    static func ip(_ text: String) -> IPv4Address {
        guard let address = IPv4Address(text) else { fatalError("bad test address \(text)") }
        return address
    }

    static func mask(_ text: String) -> IPv4Mask {
        guard let mask = IPv4Mask(text) else { fatalError("bad test mask \(text)") }
        return mask
    }

    static func real(_ index: Int32, _ address: String, farm: String, weight: UInt8 = 8, state: RealState = .operational,
                     connections: Int, maxConns: UInt32 = RealServer.defaultMaxConns, total: UInt64 = 0,
                     remainder: Int = 0, failures: UInt64 = 0, packets: UInt64 = 0, port: UInt16? = nil) -> RealSnapshot {
        RealSnapshot(id: RealID(index), address: ip(address), port: port, farm: farm, weight: weight, adminWeight: weight,
                     state: state, connections: connections, maxConns: maxConns, totalConnections: total,
                     retry: RealServer.defaultRetry, remainder: remainder, serverFailures: failures, packets: packets)
    }

    static func connection(_ vserver: String, _ proto: IPProtocol, client: String, port: UInt16, vip: String,
                           vipPort: UInt16, real: String, state: ConnectionState = .established,
                           created: UInt64 = 0, lastSeen: UInt64 = 0, packets: UInt64 = 2) -> ConnectionSnapshot {
        ConnectionSnapshot(vserver: vserver, ipProtocol: proto, client: ip(client), clientPort: port, vip: ip(vip),
                           vipPort: vipPort, real: ip(real), realPort: nil, state: state, nat: .none, sticky: true,
                           created: .seconds(created), lastSeen: .seconds(lastSeen), packets: packets)
    }

    static func vserver(_ name: String, index: Int, _ proto: IPProtocol, port: UInt16, vip: String, farm: String,
                        state: VServerState = .operational, idle: UInt32, sticky: UInt16, group: UInt8,
                        connections: Int, total: UInt64 = 0, packets: UInt64 = 0) -> VServerSnapshot {
        VServerSnapshot(name: name, index: index, address: ip(vip), mask: .host, ipProtocol: proto, port: port,
                        state: state, farm: farm, backupFarm: nil, idle: idle, stickySeconds: sticky,
                        stickyGroup: group, stickyNetmask: .host, connections: connections,
                        totalConnections: total, packets: packets)
    }

    /// Seed 002, Example 6-14: farm IPSEC (9.1.1.35/.36, weight 1, maxconns 5000), vservers
    /// IPSEC-ESP and IPSEC-ISAKMP on 9.1.0.37 (`sticky 6000 group 1`, `idle 3650`), two clients
    /// with an ESP and an ISAKMP connection each, in the order the book prints them. The
    /// vservers' conns are 0, as printed (the book's three outputs were not taken at one instant).
    static let seed002: SLBSnapshot = {
        let vip = "9.1.0.37"
        return SLBSnapshot(
            taken: .seconds(600),
            reals: [
                real(0, "9.1.1.35", farm: "IPSEC", weight: 1, connections: 2, maxConns: 5000, total: 2),
                real(1, "9.1.1.36", farm: "IPSEC", weight: 1, connections: 2, maxConns: 5000, total: 2),
            ],
            vservers: [
                vserver("IPSEC-ESP", index: 1, .esp, port: 0, vip: vip, farm: "IPSEC", idle: 3650, sticky: 6000,
                        group: 1, connections: 0),
                vserver("IPSEC-ISAKMP", index: 2, .udp, port: 500, vip: vip, farm: "IPSEC", idle: 3650, sticky: 6000,
                        group: 1, connections: 0),
            ],
            connections: [
                connection("IPSEC-ESP", .esp, client: "9.1.1.155", port: 0, vip: vip, vipPort: 0, real: "9.1.1.35"),
                connection("IPSEC-ISAKMP", .udp, client: "9.1.1.155", port: 500, vip: vip, vipPort: 500, real: "9.1.1.35"),
                connection("IPSEC-ESP", .esp, client: "9.1.1.154", port: 0, vip: vip, vipPort: 0, real: "9.1.1.36"),
                connection("IPSEC-ISAKMP", .udp, client: "9.1.1.154", port: 500, vip: vip, vipPort: 500, real: "9.1.1.36"),
            ])
    }()

    /// A lab farm GATEWAYS (three gateways; .12 has failed its probe and was purged) behind VIP
    /// 203.0.113.100 with ISAKMP, ESP and NAT-T vservers in sticky group 7, plus a drained
    /// directed-mode farm, so every state string and both NAT modes appear.
    static let lab: SLBSnapshot = {
        let vip = "203.0.113.100"
        var stats = StatsSnapshot()
        stats.packetsBalanced = 1_234
        stats.packetsPassed = 5
        stats.connectionsCreated = 9
        stats.connectionsEstablished = 8
        stats.connectionsDestroyed = 4
        stats.connectionsPurged = 2
        stats.stickyCreated = 4
        stats.stickyDestroyed = 1
        stats.drops = Dictionary(uniqueKeysWithValues: DropReason.allCases.map { ($0.rawValue, 0) })
        stats.drops[DropReason.noRealAvailable.rawValue] = 3
        return SLBSnapshot(
            taken: .seconds(3_725),
            reals: [
                real(0, "198.51.100.11", farm: "GATEWAYS", connections: 3, total: 5, remainder: 6, packets: 800),
                real(1, "198.51.100.12", farm: "GATEWAYS", state: .probeFailed, connections: 0, total: 2,
                     failures: 1, packets: 300),
                real(2, "198.51.100.13", farm: "GATEWAYS", weight: 16, state: .maxConns, connections: 2, maxConns: 2,
                     total: 2, remainder: 15, packets: 134),
                real(3, "198.51.100.21", farm: "DRAIN", state: .outOfService, connections: 0, port: 4500),
            ],
            farms: [
                FarmSnapshot(name: "GATEWAYS", predictor: .roundRobin, nat: .none, failactionPurge: true,
                             probes: ["PING", "IKE"], realCount: 3, operationalReals: 1),
                FarmSnapshot(name: "DRAIN", predictor: .leastConns, nat: .server, failactionPurge: false,
                             probes: [], realCount: 1, operationalReals: 0),
            ],
            vservers: [
                vserver("VPN-ISAKMP", index: 1, .udp, port: 500, vip: vip, farm: "GATEWAYS", idle: 3600, sticky: 3600,
                        group: 7, connections: 2, total: 4, packets: 400),
                vserver("VPN-ESP", index: 2, .esp, port: 0, vip: vip, farm: "GATEWAYS", idle: 3600, sticky: 3600,
                        group: 7, connections: 1, total: 3, packets: 700),
                vserver("VPN-NATT", index: 3, .udp, port: 4500, vip: vip, farm: "GATEWAYS", idle: 3600, sticky: 3600,
                        group: 7, connections: 2, total: 2, packets: 134),
                vserver("DRAINED", index: 4, .udp, port: 0, vip: "203.0.113.101", farm: "DRAIN",
                        state: .outOfService, idle: 60, sticky: 0, group: 0, connections: 0),
            ],
            connections: [
                connection("VPN-ISAKMP", .udp, client: "192.0.2.10", port: 500, vip: vip, vipPort: 500,
                           real: "198.51.100.11", created: 100, lastSeen: 3_700, packets: 40),
                connection("VPN-ESP", .esp, client: "192.0.2.10", port: 0, vip: vip, vipPort: 0,
                           real: "198.51.100.11", created: 101, lastSeen: 3_724, packets: 700),
                connection("VPN-ISAKMP", .udp, client: "192.0.2.11", port: 500, vip: vip, vipPort: 500,
                           real: "198.51.100.13", created: 2_000, lastSeen: 2_000, packets: 1).with(state: .initial),
                connection("VPN-NATT", .udp, client: "192.0.2.11", port: 61_022, vip: vip, vipPort: 4500,
                           real: "198.51.100.13", created: 2_001, lastSeen: 3_720, packets: 120),
                connection("VPN-NATT", .udp, client: "198.51.100.130", port: 4500, vip: vip, vipPort: 4500,
                           real: "198.51.100.11", created: 3_600, lastSeen: 3_725, packets: 14),
            ],
            sticky: [
                StickySnapshot(client: ip("192.0.2.10"), netmask: .host, group: 7, real: ip("198.51.100.11"),
                               farm: "GATEWAYS", connections: 2, expiresIn: nil),
                StickySnapshot(client: ip("192.0.2.11"), netmask: .host, group: 7, real: ip("198.51.100.13"),
                               farm: "GATEWAYS", connections: 2, expiresIn: nil),
                StickySnapshot(client: ip("192.0.2.64"), netmask: mask("255.255.255.192"), group: 7,
                               real: ip("198.51.100.11"), farm: "GATEWAYS", connections: 0, expiresIn: .seconds(1_234)),
                StickySnapshot(client: ip("198.51.100.130"), netmask: .host, group: 4097, real: ip("198.51.100.11"),
                               farm: "GATEWAYS", connections: 1, expiresIn: nil),
            ],
            probes: [
                ProbeSnapshot(probe: "PING", kind: .ping, real: ip("198.51.100.11"), port: 0, farm: "GATEWAYS",
                              state: .operational, interval: 5, faildetect: 3, consecutiveMisses: 0, outages: 0,
                              currentOutage: nil, cumulativeOutage: .zero, lastRTT: .nanoseconds(412_345)),
                ProbeSnapshot(probe: "PING", kind: .ping, real: ip("198.51.100.12"), port: 0, farm: "GATEWAYS",
                              state: .failed, interval: 5, faildetect: 3, consecutiveMisses: 7, outages: 1,
                              currentOutage: .seconds(14), cumulativeOutage: .seconds(14), lastRTT: nil),
                ProbeSnapshot(probe: "IKE", kind: .ike, real: ip("198.51.100.13"), port: 500, farm: "GATEWAYS",
                              state: .testing, interval: 10, faildetect: 2, consecutiveMisses: 1, outages: 2,
                              currentOutage: nil, cumulativeOutage: .seconds(3_725), lastRTT: .milliseconds(2)),
            ],
            stats: stats)
    }()
}

extension ConnectionSnapshot {
    func with(state: ConnectionState) -> ConnectionSnapshot {
        var copy = self
        copy.state = state
        return copy
    }
}

extension TimeSpan {
    static func nanoseconds(_ n: UInt64) -> TimeSpan { TimeSpan(nanoseconds: n) }
}
