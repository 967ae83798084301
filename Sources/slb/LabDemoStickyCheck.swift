import SLBConfig
import SLBCore
import SLBWire

/// The demo's own check of the SLB's connection table while the tunnels are held: every
/// client's connections sit on one real (the sticky group), a raw-ESP client has an ISAKMP
/// and an ESP row, a `--natt` client an ISAKMP and a NAT-T (udp 4500) row — its ESP rides in
/// UDP 4500 (RFC 3948), so it has no ESP row.
struct DemoStickyCheck {
    let plainClients: [IPv4Address]
    let nattClients: [IPv4Address]
    /// Vserver name → service, from the farm configuration.
    let services: [String: VirtualService]

    init(plain: [IPv4Address], natt: [IPv4Address], configuration: SLBConfiguration) {
        plainClients = plain
        nattClients = natt
        var services: [String: VirtualService] = [:]
        for v in configuration.vservers { services[v.name] = v.service }
        self.services = services
    }

    static let isakmp = VirtualService.udp(port: 500)
    static let natTraversal = VirtualService.udp(port: 4500)

    /// One line per client whose rows are not as expected; empty when all are.
    func problems(_ rows: [ConnectionSnapshot]) -> [String] {
        let byClient = Dictionary(grouping: rows, by: \.client)
        var out: [String] = []
        let expectations = plainClients.map { ($0, Set([Self.isakmp, VirtualService.esp])) }
            + nattClients.map { ($0, Set([Self.isakmp, Self.natTraversal])) }
        for (client, expected) in expectations {
            let mine = byClient[client] ?? []
            let seen = Set(mine.compactMap { services[$0.vserver] })
            let reals = Set(mine.map(\.real))
            if seen != expected || reals.count != 1 {
                out.append("\(client): rows \(mine.map(\.vserver).sorted()) on \(reals.map(\.description).sorted())")
            }
        }
        return out
    }
}
