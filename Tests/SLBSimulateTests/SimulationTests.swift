import SLBConfig
import SLBCore
import SLBShow
import SLBSimulate
import SLBWire
import Testing

@Suite("slb simulate")
struct SimulationTests {
    @Test("two runs with one seed print identical bytes (text and JSON)", arguments: [1, 7, 12_345] as [UInt64])
    func deterministic(seed: UInt64) throws {
        let parameters = SimulationParameters(clients: 40, nattShare: 0.4, seed: seed,
                                              failures: [.init(real: Farm.gateway2, from: 90)], duration: 240)
        let tables = ["conns", "reals", "vservers", "sticky detail", "probe", "stats"]
        let (first, firstText) = try Farm.run(parameters, tables: tables)
        let (second, secondText) = try Farm.run(parameters, tables: tables)
        #expect(firstText == secondText)
        let requests = try tables.map { try ShowCommandParser.parse($0) }
        #expect(try SimulationReport.json(first, tables: requests) == SimulationReport.json(second, tables: requests))
        // And the seed matters.
        var other = parameters
        other.seed = seed &+ 1
        #expect(try Farm.run(other, tables: tables).1 != firstText)
    }

    @Test("sum of the reals' conns equals the conns rows; each client sits on one real",
          arguments: [(1, 10, 0.0), (2, 60, 0.3), (3, 150, 1.0), (4, 371, 0.5)] as [(UInt64, Int, Double)])
    func oneRealPerClient(seed: UInt64, clients: Int, nattShare: Double) throws {
        let (result, output) = try Farm.run(SimulationParameters(clients: clients, nattShare: nattShare, seed: seed))
        let conns = try PrintedTable(output, command: "show ip slb conns")
        let reals = try PrintedTable(output, command: "show ip slb reals")
        let connsSum = reals.fields.compactMap { $0.last.flatMap(Int.init) }.reduce(0, +)
        #expect(connsSum == conns.rows.count)
        #expect(conns.rows.count == result.snapshot.connections.count)

        var realOf: [String: String] = [:]
        for fields in conns.fields {
            try #require(fields.count == 6, "\(fields)")
            let client = String(fields[2].split(separator: ":")[0])
            if let real = realOf[client] { #expect(real == fields[3], "client \(client) on \(real) and \(fields[3])") }
            realOf[client] = fields[3]
        }
        #expect(realOf.count == result.clients.count)   // idle 3650 > 300 s: nobody idled out
        #expect(result.splitClients.isEmpty)
        // Every client costs two connections: ISAKMP plus ESP or NAT-T (spec §2.3).
        #expect(conns.rows.count == 2 * clients)
    }

    @Test("the default farm prints the book's three tables, ISAKMP and ESP of a client on one real")
    func bookFormat() throws {
        let (result, output) = try Farm.run(SimulationParameters(clients: 12, nattShare: 0.25, seed: 5))
        let conns = try PrintedTable(output, command: "show ip slb conns")
        let reals = try PrintedTable(output, command: "show ip slb reals")
        let vservers = try PrintedTable(output, command: "show ip slb vservers")
        // Headers exactly as in seed 002, Example 6-14.
        #expect(conns.header == "vserver         prot client                real             state     nat")
        #expect(reals.header == "real                  farm name        weight  state          conns")
        #expect(vservers.header == "slb vserver      prot  virtual                  state         conns")
        #expect(output.contains("\n" + String(repeating: "-", count: 79) + "\n"))

        // Columns: vserver 0, prot 16, client 21, real 43, state 60, nat 70.
        for row in conns.rows {
            let characters = Array(row)
            for offset in [0, 16, 21, 43, 60, 70] {
                #expect(characters.indices.contains(offset) && characters[offset] != " "
                        && (offset == 0 || characters[offset - 1] == " "), "'\(row)' at \(offset)")
            }
        }
        // Each client's UDP 500 row and its ESP (or NAT-T) row name the same real.
        var byClient: [String: [(vserver: String, real: String)]] = [:]
        for fields in conns.fields {
            byClient[String(fields[2].split(separator: ":")[0]), default: []].append((fields[0], fields[3]))
        }
        for client in result.clients {
            let rows = try #require(byClient[client.address.description])
            let isakmp = try #require(rows.first { $0.vserver == "IPSEC-ISAKMP" })
            let data = try #require(rows.first { $0.vserver == (client.natTraversal ? "IPSEC-NATT" : "IPSEC-ESP") })
            #expect(isakmp.real == data.real)
        }
        #expect(vservers.fields.map { $0[0] } == ["IPSEC-ESP", "IPSEC-ISAKMP", "IPSEC-NATT"])
        #expect(vservers.fields.map { $0[2] } == ["203.0.113.100/32:0", "203.0.113.100/32:500", "203.0.113.100/32:4500"])
    }

    @Test("--fail: the real goes down, is purged, and afterwards no client sits on it")
    func failAndPurge() throws {
        let failAt: UInt64 = 100
        let (result, output) = try Farm.run(SimulationParameters(
            clients: 50, nattShare: 0.3, leaveShare: 0, seed: 9, failures: [.init(real: Farm.gateway2, from: failAt)], duration: 300))
        // GW-PING: interval 1, faildetect 3 -> misses at 100, 101, 102 -> down at 102 s.
        let down = result.events.filter { $0.name == "slb.real.down" }
        let purge = result.events.filter { $0.name == "slb.purge" }
        #expect(down.count == 1 && purge.count == 1)
        #expect(down.first?.time == .seconds(102))
        #expect(purge.first?.time == .seconds(102))
        if case .purge(_, let address, _, let removed, _) = purge.first {
            #expect(address == Farm.gateway2)
            #expect(removed > 0)
        }
        #expect(output.contains("00:01:42  slb.real.down"))
        #expect(output.contains("00:01:42  slb.purge"))

        let conns = try PrintedTable(output, command: "show ip slb conns")
        #expect(!conns.fields.contains { $0[3] == Farm.gateway2.description })
        let reals = try PrintedTable(output, command: "show ip slb reals")
        #expect(reals.fields.contains { $0 == ["198.51.100.12", "IPSEC", "1", "PROBE_FAILED", "0"] })
        #expect(result.splitClients.isEmpty)
        // Every client still has its data flow (ESP or NAT-T), now on the survivor. A purged
        // NAT-T client has no UDP 500 row any more: its IKE moved to 4500 (RFC 3947).
        for client in result.clients {
            let rows = result.snapshot.connections.filter { $0.client == client.address }
            #expect(rows.contains { $0.vserver == (client.natTraversal ? "IPSEC-NATT" : "IPSEC-ESP") })
            if !client.natTraversal { #expect(rows.count == 2) }
        }
        #expect(result.realOfClient.values.allSatisfy { $0 == Farm.gateway1 })
        // The purged clients were rebound: each moved exactly once, none restarted IKE.
        let moved = zip(result.clients, result.moves).filter { $0.1 > 0 }
        #expect(!moved.isEmpty && moved.allSatisfy { $0.1 == 1 && $0.0.arrival < 102_000 })
        #expect(result.restarts.allSatisfy { $0 == 0 })
        #expect(output.contains("clients moved to another real: \(moved.count)\n"))
    }

    @Test("a real that recovers raises slb.real.up and takes new clients again")
    func recovery() throws {
        let (result, _) = try Farm.run(SimulationParameters(
            clients: 60, seed: 3, failures: [.init(real: Farm.gateway1, from: 20, until: 60)], duration: 300))
        #expect(result.events.map(\.name) == ["slb.real.down", "slb.purge", "slb.real.up"])
        #expect(result.events.last?.time == .seconds(60))
        let onRecovered = result.clients.filter { result.realOfClient[$0.address] == Farm.gateway1 }
        #expect(!onRecovered.isEmpty)
        #expect(onRecovered.allSatisfy { $0.arrival >= 60_000 })   // no pre-emption: only newcomers
    }

    @Test("without failaction purge clients stay pinned to the dead real and keep restarting IKE")
    func withoutPurge() throws {
        let text = try Farm.text().replacingOccurrences(of: " failaction purge\n", with: "")
        let configuration = try Farm.configuration(text)
        let (result, output) = try Farm.run(SimulationParameters(
            clients: 30, nattShare: 0, seed: 4, failures: [.init(real: Farm.gateway2, from: 200)], duration: 300),
            configuration: configuration)
        #expect(result.events.map(\.name) == ["slb.real.down"])
        let conns = try PrintedTable(output, command: "show ip slb conns")
        #expect(conns.fields.contains { $0[3] == Farm.gateway2.description })
        let restarts = zip(result.clients, result.restarts).filter { result.realOfClient[$0.0.address] == Farm.gateway2 }
        #expect(!restarts.isEmpty && restarts.allSatisfy { $0.1 > 0 })
    }

    @Test("clients that leave go silent and their connections idle out")
    func leaversIdleOut() throws {
        let text = try Farm.text().replacingOccurrences(of: " idle 3650\n", with: " idle 60\n")
        let configuration = try Farm.configuration(text)
        let duration: UInt64 = 900
        let (result, output) = try Farm.run(SimulationParameters(
            clients: 40, leaveShare: 0.5, seed: 11, duration: duration), configuration: configuration)
        let goneLongAgo = result.clients.filter { client in client.leaves.map { $0 + 61_000 < duration * 1_000 } ?? false }
        #expect(!goneLongAgo.isEmpty)
        for client in goneLongAgo { #expect(result.realOfClient[client.address] == nil) }
        for client in result.clients where client.leaves == nil { #expect(result.realOfClient[client.address] != nil) }
        let conns = try PrintedTable(output, command: "show ip slb conns")
        let reals = try PrintedTable(output, command: "show ip slb reals")
        #expect(reals.fields.compactMap { $0.last.flatMap(Int.init) }.reduce(0, +) == conns.rows.count)
        #expect(output.contains("(no connections)"))
    }

    @Test("NAT-T share 0 gives only ESP data flows; share 1 only NAT-T from ports other than 500")
    func nattShare() throws {
        let (none, _) = try Farm.run(SimulationParameters(clients: 30, nattShare: 0, seed: 2))
        #expect(none.snapshot.connections.allSatisfy { $0.vserver != "IPSEC-NATT" })
        let (all, _) = try Farm.run(SimulationParameters(clients: 30, nattShare: 1, seed: 2))
        #expect(all.snapshot.connections.allSatisfy { $0.vserver != "IPSEC-ESP" })
        let natt = all.snapshot.connections.filter { $0.vserver == "IPSEC-NATT" }
        #expect(natt.count == 30)
        #expect(natt.allSatisfy { $0.clientPort != 500 && $0.vipPort == 4500 })
    }

    @Test("clients use only lab-plan addresses")
    func addresses() throws {
        let (result, _) = try Farm.run(SimulationParameters(clients: ClientAddressPlan.capacity, seed: 1, duration: 60))
        let lab1 = IPv4Network(address: IPv4Address(192, 0, 2, 0), mask: .init(prefixLength: 24)!)
        let lab2 = IPv4Network(address: IPv4Address(198, 51, 100, 128), mask: .init(prefixLength: 25)!)
        #expect(Set(result.clients.map(\.address)).count == ClientAddressPlan.capacity)
        for client in result.clients {
            let last = client.address.octets.3
            #expect((lab1.contains(client.address) && last >= 10 && last <= 254)
                    || (lab2.contains(client.address) && last >= 129 && last <= 254), "\(client.address)")
        }
    }

    @Test("bad parameters are typed errors", arguments: [
        (SimulationParameters(clients: ClientAddressPlan.capacity + 1), "--clients"),
        (SimulationParameters(nattShare: 1.5), "--natt-share"),
        (SimulationParameters(leaveShare: -0.1), "--leave-share"),
        (SimulationParameters(duration: 0), "--duration"),
        (SimulationParameters(duration: SimulationParameters.maximumDuration + 1), "--duration"),
        (SimulationParameters(failures: [.init(real: IPv4Address(198, 51, 100, 12), from: 400)]), "after the end"),
        (SimulationParameters(failures: [.init(real: IPv4Address(198, 51, 100, 99), from: 10)]), "no real"),
    ])
    func badParameters(parameters: SimulationParameters, message: String) throws {
        let configuration = try Farm.defaultFarm()
        do {
            _ = try Simulation.run(configuration: configuration, parameters: parameters)
            Issue.record("accepted \(parameters)")
        } catch {
            #expect(error.description.contains(message), "\(error)")
        }
    }

    @Test("--fail syntax", arguments: [
        ("198.51.100.12@120", SimulationParameters.Failure(real: IPv4Address(198, 51, 100, 12), from: 120)),
        ("198.51.100.12@120-240", .init(real: IPv4Address(198, 51, 100, 12), from: 120, until: 240)),
        ("198.51.100.12", nil), ("198.51.100.12@", nil), ("198.51.100.12@x", nil), ("gw1@10", nil),
        ("198.51.100.12@240-120", nil), ("198.51.100.12@1-2-3", nil), ("198.51.100.12@10@20", nil),
    ] as [(String, SimulationParameters.Failure?)])
    func failureSyntax(text: String, expected: SimulationParameters.Failure?) {
        #expect(SimulationParameters.Failure(text) == expected)
    }
}
